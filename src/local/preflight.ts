/**
 * Checks that run before anything is started: engine, secrets, GPU runtime, ports, images.
 * Each failure is one clear error (exit 4, or 2 for what the user's environment lacks).
 */
import { DockerError, UsageError } from "../errors.js";
import type { DockerPlan } from "../render/types.js";
import type { Ui } from "../ui/output.js";
import { docker, lastLine, publishedOf, type ContainerInfo } from "./docker.js";
import { portHolder } from "./port.js";

export const GPU_HINT =
  "install the NVIDIA Container Toolkit (then `sudo nvidia-ctk runtime configure --runtime=docker` and restart Docker), or run on CPU with --gpus 0";

/** An app as the Docker checks see it: its rendered Docker plan and its container on the engine now. */
export interface DockerApp {
  name: string;
  plan: DockerPlan;
  /** the app's container on the engine now, if any */
  existing?: ContainerInfo;
}

/** Secrets come from this process's environment, by name: every missing one is named at once. */
export function checkSecrets(apps: readonly DockerApp[]): void {
  // the generated API key is vllmapp's to make; one in a Secret the user manages comes from the environment
  const missing = apps.flatMap((a) =>
    a.plan.envFromHost
      .filter((n) => (n !== "VLLM_API_KEY" || a.plan.apiKeyFromHost) && process.env[n] === undefined)
      .map((n) => `${n} (app ${a.name})`),
  );
  if (missing.length) {
    const key = missing.some((m) => m.startsWith("VLLM_API_KEY "));
    throw new UsageError(
      `secret${missing.length > 1 ? "s" : ""} not set in the environment: ${missing.join(", ")}`,
      `export them before \`vllmapp deploy --local\`: Docker gets each one by name (-e NAME), never its value on the command line${key ? "; VLLM_API_KEY is the key requires_auth's Secret holds on Kubernetes" : ""}`,
    );
  }
}

export function checkGpuRuntime(apps: readonly DockerApp[], runtimes: readonly string[]): void {
  const withGpus = apps.filter((a) => a.plan.argv.includes("--gpus"));
  if (!withGpus.length || runtimes.includes("nvidia")) return;
  const a = withGpus[0]!;
  const value = a.plan.argv[a.plan.argv.indexOf("--gpus") + 1];
  throw new DockerError(
    `app ${a.name} asks for GPUs (--gpus ${value}) but this Docker engine has no NVIDIA runtime (runtimes: ${runtimes.join(", ") || "none"})`,
    GPU_HINT,
  );
}

/** Each app's port must be free on 127.0.0.1, unless the app's own container holds it. */
export async function checkPorts(apps: readonly DockerApp[]): Promise<void> {
  const seen = new Map<number, string>();
  for (const a of apps) {
    const other = seen.get(a.plan.port);
    if (other)
      throw new UsageError(
        `apps ${other} and ${a.name} both publish port ${a.plan.port}`,
        "give one of them another port: field",
      );
    seen.set(a.plan.port, a.name);
    if (a.existing?.State.Running && publishedOf(a.existing)?.port === a.plan.port) continue;
    const holder = await portHolder(a.plan.port);
    if (holder) {
      throw new DockerError(
        `port ${a.plan.port} on 127.0.0.1 is already in use by ${holder}`,
        `stop it, or set another port: in the app's file (port: ${a.plan.port + 1})`,
      );
    }
  }
}

/** The image must be on this machine, or pullable now; a failed pull is an error, not a retry loop. Returns when a pull began, if one did. */
export async function ensureImage(image: string, ui: Ui): Promise<number | undefined> {
  if ((await docker(["image", "inspect", "--format", "{{.Id}}", image])).exitCode === 0) return undefined;
  const began = Date.now();
  const spin = await ui.spinner(`pulling ${image} (vLLM images are large: this can take a while)`);
  const r = await docker(["pull", "--quiet", image]);
  if (r.exitCode !== 0) {
    spin.stop();
    throw new DockerError(
      `image ${image} is not on this machine and cannot be pulled: ${lastLine(r.stderr)}`,
      "check the image name and tag, `docker login` for a private registry, or load it here (docker load / docker build)",
    );
  }
  spin.succeed(`pulled ${image}`);
  return began;
}
