/**
 * The Docker plan of one app: the steps before the server (object-store copies, on_startup), the
 * server's `docker run -d`, the spec hash. The parts live under docker/: where the models come from
 * (artifacts.ts), the environment (env.ts), the one-off steps (steps.ts), the server's flags and labels
 * (server.ts). Pure.
 */
import { hookArgv, imageOf, INCLUDE_MOUNT } from "./labels.js";
import { hashOf } from "./model-copy.js";
import { sizeResources, type GpuRequest } from "./resources.js";
import type { ServeResult } from "./serve.js";
import type { Finding } from "../errors.js";
import type { DockerPlan, RenderInput } from "./types.js";
import { dockerArtifactsOf, type Bind } from "./docker/artifacts.js";
import { dockerEnvOf } from "./docker/env.js";
import { gpuFlags, hostFlags, kubernetesOnlyNotes, serverLabels } from "./docker/server.js";
import { copyStep, startupStep } from "./docker/steps.js";

/** vLLM's cache on the host (under the user's home) and in the container. */
export const DOCKER_VLLM_CACHE = ".cache/vllmapp/vllm";
const CONTAINER_VLLM_CACHE = "/root/.cache/vllm";

/** rclone's image when the model-download template names none. */
const RCLONE_IMAGE = "rclone/rclone:1.71.1";

/**
 * The host's caches the server mounts: Hugging Face's, and vLLM's own (torch.compile and CUDA graph
 * artifacts, model inspection), which outlives the container so a redeploy starts warm; vllmapp's
 * folder, not ~/.cache/vllm, which a native vLLM may own. env_vars.VLLM_CACHE_ROOT: the app chose its own.
 */
function hostCachesOf(input: RenderInput): { hf: Bind; vllm?: Bind } {
  const hf = { host: `${input.hostHome}/.cache/huggingface`, container: "/root/.cache/huggingface" };
  if (input.app.env_vars?.VLLM_CACHE_ROOT !== undefined) return { hf };
  return { hf, vllm: { host: `${input.hostHome}/${DOCKER_VLLM_CACHE}`, container: CONTAINER_VLLM_CACHE } };
}

export function renderDocker(
  input: RenderInput,
  serve: ServeResult,
  gpu: GpuRequest,
): { docker: DockerPlan; problems: Finding[] } {
  const { app, source: src } = input;
  const image = imageOf(app);
  const caches = hostCachesOf(input);
  const env = dockerEnvOf(app, src, input.params, serve.lora, caches.vllm?.container);
  const artifacts = dockerArtifactsOf(input, serve);
  const includeMounts = input.includes.flatMap((f) => ["-v", `${f.hostPath}:${INCLUDE_MOUNT}/${f.name}:ro`]);
  const rcloneImage = String(input.templates.modelDownload.image ?? RCLONE_IMAGE);
  const before = artifacts.copies.map((c) => copyStep(app, c, env, rcloneImage));
  if (app.on_startup) {
    const mounts = ["-v", `${caches.hf.host}:${caches.hf.container}`, ...includeMounts];
    before.push(startupStep(app.on_startup, env, mounts, image));
  }
  const [entry, ...rest] = serve.command;
  const body = [
    ...gpuFlags(gpu, input.dockerGpus),
    ...hostFlags(app, sizeResources(app, gpu), caches.vllm ? [caches.hf, caches.vllm] : [caches.hf]),
    ...artifacts.binds.flatMap((b) => ["-v", `${b.host}:${b.container}:ro`]),
    ...env.plain,
    ...env.secrets,
    ...env.apiKey,
    ...includeMounts,
    "--entrypoint",
    entry!,
    image,
    ...rest,
    ...serve.args,
  ];
  const onShutdown = app.on_shutdown === undefined ? undefined : hookArgv(app.on_shutdown);
  const hash = hashOf({ body, before: before.map((b) => b.argv), onShutdown });
  const container = `vllmapp-${app.name}`;
  return {
    docker: {
      argv: ["docker", "run", "-d", "--name", container, ...serverLabels(app, src, hash, onShutdown), ...body],
      container,
      port: app.port,
      envFromHost: env.fromHost,
      hash,
      before,
      onShutdown: onShutdown ? ["docker", "exec", container, ...onShutdown] : undefined,
      requiresApiKey: env.key !== undefined,
      ...(env.key && !env.key.generated ? { apiKeyFromHost: true } : {}),
      image,
      modelCacheDir: artifacts.modelCacheDir,
    },
    problems: [...kubernetesOnlyNotes(app, gpu), ...env.problems, ...artifacts.problems],
  };
}
