/** Starting and removing an app's container. */
import { formatArgv } from "../text.js";
import { DockerError } from "../errors.js";
import type { DockerPlan } from "../render/types.js";
import type { Ui } from "../ui/output.js";
import { docker, dockerOk, labelOf, lastLine, nameOf, type ContainerInfo } from "./docker.js";
import { GPU_HINT } from "./preflight.js";

/** `docker run -d …` as rendered; the secrets are in `env`, never in the argv. */
export async function startContainer(plan: DockerPlan, env: Record<string, string>): Promise<void> {
  const r = await docker(plan.argv.slice(1), env);
  if (r.exitCode === 0) return;
  const msg = lastLine(r.stderr);
  if (/Conflict\. The container name/.test(msg)) {
    throw new DockerError(
      `a container named ${plan.container} exists that vllmapp did not start`,
      `remove or rename it (docker rm -f ${plan.container}), or rename the app`,
    );
  }
  // docker may have created the container before failing to start it: leave nothing half-made
  await docker(["rm", "-f", plan.container]);
  if (/port is already allocated|address already in use/i.test(msg)) {
    throw new DockerError(
      `port ${plan.port} on 127.0.0.1 is already in use: ${msg}`,
      `stop what holds it, or set another port: in the app's file`,
    );
  }
  if (/could not select device driver|nvidia-container/i.test(msg))
    throw new DockerError(`docker cannot give the container GPUs: ${msg}`, GPU_HINT);
  throw new DockerError(`docker run failed: ${msg || `exit code ${r.exitCode}`}`);
}

/** on_shutdown (`docker exec`, recorded in the label vllmapp.on-shutdown), then `docker stop` and `docker rm`. */
export async function removeContainer(c: ContainerInfo, ui: Ui): Promise<void> {
  const name = nameOf(c);
  const onShutdown = labelOf(c, "vllmapp.on-shutdown");
  if (c.State.Running && onShutdown) {
    const argv = JSON.parse(onShutdown) as string[];
    ui.info(`${name}: on_shutdown: ${formatArgv(argv)}`);
    const r = await docker(["exec", c.Id, ...argv]);
    if (r.exitCode !== 0)
      ui.warn(`${name}: on_shutdown exited with code ${r.exitCode}: ${lastLine(r.stderr || r.stdout)}`);
  }
  if (c.State.Running) await dockerOk(["stop", c.Id]);
  await dockerOk(["rm", "-f", c.Id]);
}
