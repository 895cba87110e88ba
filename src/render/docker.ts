/** The Docker plan of one app: `docker run` argv, the one-off steps before it, the spec hash. Pure. */
import { dockerSize } from "../config/units.js";
import { isObjectStore, servedModelName, sourceUri } from "../models/source.js";
import { plainEnvOf } from "./env.js";
import { imageOf, INCLUDE_MOUNT } from "./labels.js";
import { DOWNLOAD_FILTER, hashOf, rcloneSource } from "./model-copy.js";
import { sizeResources, type GpuRequest } from "./resources.js";
import type { ServeResult } from "./serve.js";
import type { DockerPlan, Problem, RenderInput } from "./types.js";

/** vLLM's cache on the host (under the user's home) and in the container. */
export const DOCKER_VLLM_CACHE = ".cache/vllmapp/vllm";
const CONTAINER_VLLM_CACHE = "/root/.cache/vllm";

/** The host address the port is published on: loopback only. */
const DOCKER_BIND = "127.0.0.1";

export function renderDocker(input: RenderInput, serve: ServeResult, gpu: GpuRequest): { docker: DockerPlan; problems: Problem[] } {
  const { app, source: src } = input;
  const problems: Problem[] = [];
  const container = `vllmapp-${app.name}`;
  const image = imageOf(app);
  const sizing = sizeResources(app, gpu);
  const envFromHost: string[] = [];
  const flags: string[] = [];
  // GPUs: the count becomes devices 0..N-1; --gpus overrides it ("0" or "none": no GPUs)
  const devices = Array.from({ length: gpu.count }, (_, i) => i).join(",");
  const gpus = input.dockerGpus === undefined ? devices : input.dockerGpus === "0" || input.dockerGpus === "none" ? "" : input.dockerGpus;
  if (gpus === "all") flags.push("--gpus", "all");
  else if (gpus !== "") flags.push("--gpus", `"device=${gpus}"`);
  if (gpu.partition) problems.push({ path: ["resources", "gpu", "partition"], severity: "note", message: "MIG partitions are a Kubernetes scheduling concept; Docker gets whole devices" });
  if (sizing.shmAuto) flags.push("--ipc=host");
  else flags.push("--shm-size", dockerSize(sizing.shm));
  flags.push("-p", `${DOCKER_BIND}:${app.port}:${app.port}`);
  const hfCache = `${input.hostHome}/.cache/huggingface`;
  flags.push("-v", `${hfCache}:/root/.cache/huggingface`);
  // vLLM's own cache (torch.compile and CUDA graph artifacts, model inspection) outlives the container,
  // so a redeploy starts warm; vllmapp's folder, not ~/.cache/vllm, which a native vLLM may own
  const vllmCache = app.env_vars?.VLLM_CACHE_ROOT === undefined ? `${input.hostHome}/${DOCKER_VLLM_CACHE}` : undefined;
  if (vllmCache) flags.push("-v", `${vllmCache}:${CONTAINER_VLLM_CACHE}`);
  let modelCacheDir: string | undefined;
  const before: DockerPlan["before"] = [];
  const plainEnv: string[] = [];
  for (const [name, value] of plainEnvOf(app, src, input.params)) plainEnv.push("-e", `${name}=${value}`);
  if (vllmCache) plainEnv.push("-e", `VLLM_CACHE_ROOT=${CONTAINER_VLLM_CACHE}`);
  const secretEnv: string[] = [];
  for (const s of app.secrets ?? []) {
    if (typeof s === "string") {
      secretEnv.push("-e", s);
      envFromHost.push(s);
    } else if (s.mount) {
      problems.push({ path: ["secrets"], severity: "warning", message: `secret ${s.secret ?? `${app.name}-secrets`}/${s.key ?? s.env_var} is mounted as a file on Kubernetes only; the local container does not get it`, hint: `for Docker, add a bind mount through command or pass it as an env_var secret` });
    } else {
      secretEnv.push("-e", s.env_var!);
      envFromHost.push(s.env_var!);
    }
  }
  // one-off steps get the secrets, not the API key (filtering "-e VLLM_API_KEY" pairwise would leave a dangling "-e")
  const stepSecretEnv = [...secretEnv];
  if (app.requires_auth) {
    secretEnv.push("-e", "VLLM_API_KEY");
    envFromHost.push("VLLM_API_KEY");
  }
  const includeMounts: string[] = [];
  for (const f of input.includes) includeMounts.push("-v", `${f.hostPath}:${INCLUDE_MOUNT}/${f.name}:ro`);
  if (src.kind === "path") {
    // a host folder is served from the same path inside the container; anything else must be in the image
    if (input.hostModelDir) flags.push("-v", `${src.path}:${src.path}:ro`);
    else problems.push({ path: ["model_path"], severity: "note", message: `${src.path} is not a folder on this machine, so it must exist inside the image` });
  }
  if (src.kind === "pvc") {
    problems.push({ path: ["model_path"], severity: "error", message: `pvc://${src.claim} is a Kubernetes volume: it is not available with --target docker`, hint: "copy the model to an object store or a local path for local runs, or deploy to Kubernetes" });
  }
  if (isObjectStore(src) && !app.stream_model) {
    modelCacheDir = `${input.hostHome}/.cache/vllmapp/models/${app.name}`;
    flags.push("-v", `${modelCacheDir}:/models/${app.name}:ro`);
    const endpoint = src.kind === "s3" && app.env_vars?.AWS_ENDPOINT_URL !== undefined ? ["-e", `RCLONE_S3_ENDPOINT=${String(app.env_vars.AWS_ENDPOINT_URL)}`] : [];
    before.push({
      what: `copy ${src.uri} into ${modelCacheDir}`,
      argv: ["docker", "run", "--rm", "--network", "host", ...plainEnv, ...endpoint, ...stepSecretEnv, "-v", `${modelCacheDir}:/data`, String(input.templates.modelDownload.image ?? "rclone/rclone:1.71.1"), "copy", ...rcloneSource(src), "/data", ...DOWNLOAD_FILTER, "--transfers=16", "--stats=30s", "--stats-one-line", "-v"],
      envFromHost: envFromHost.filter((n) => n !== "VLLM_API_KEY"),
    });
  }
  if (app.on_startup) {
    before.push({
      what: `on_startup: ${app.on_startup.join(" ")}`,
      argv: ["docker", "run", "--rm", ...plainEnv, ...stepSecretEnv, "-v", `${hfCache}:/root/.cache/huggingface`, ...includeMounts, "--entrypoint", app.on_startup[0]!, image, ...app.on_startup.slice(1)],
      envFromHost: envFromHost.filter((n) => n !== "VLLM_API_KEY"),
    });
  }
  const [entry, ...rest] = serve.command;
  const body = [...flags, ...plainEnv, ...secretEnv, ...includeMounts, "--entrypoint", entry!, image, ...rest, ...serve.args];
  const hash = hashOf({ body, before: before.map((b) => b.argv), onShutdown: app.on_shutdown });
  const labels = ["--label", `vllmapp.app=${app.name}`, "--label", `vllmapp.hash=${hash}`, "--label", `vllmapp.port=${app.port}`, "--label", `vllmapp.model-id=${servedModelName(app, src)}`, "--label", `vllmapp.model-uri=${sourceUri(src)}`];
  // delete and redeploy run the container's own on_shutdown, whatever the file says by then
  if (app.on_shutdown) labels.push("--label", `vllmapp.on-shutdown=${JSON.stringify(app.on_shutdown)}`);
  const argv = ["docker", "run", "-d", "--name", container, ...labels, ...body];
  return {
    docker: { argv, container, port: app.port, envFromHost, hash, before, onShutdown: app.on_shutdown ? ["docker", "exec", container, ...app.on_shutdown] : undefined, requiresApiKey: app.requires_auth, image, modelCacheDir },
    problems,
  };
}
