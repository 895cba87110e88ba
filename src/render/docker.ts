/** The Docker plan of one app: `docker run` argv, the one-off steps before it, the spec hash. Pure. */
import { dockerSize } from "../config/units.js";
import { isObjectStore, servedModelName, sourceUri, type ModelSource } from "../models/source.js";
import { plainEnvOf } from "./env.js";
import { apiKeyRef, hookArgv, imageOf, INCLUDE_MOUNT } from "./labels.js";
import { DOWNLOAD_FILTER, hashOf, rcloneSource } from "./model-copy.js";
import { sizeResources, type GpuRequest } from "./resources.js";
import type { ServeResult } from "./serve.js";
import type { Finding } from "../errors.js";
import type { DockerPlan, RenderInput } from "./types.js";

/** vLLM's cache on the host (under the user's home) and in the container. */
export const DOCKER_VLLM_CACHE = ".cache/vllmapp/vllm";
const CONTAINER_VLLM_CACHE = "/root/.cache/vllm";

/** The host address the port is published on: loopback only. */
const DOCKER_BIND = "127.0.0.1";

export function renderDocker(
  input: RenderInput,
  serve: ServeResult,
  gpu: GpuRequest,
): { docker: DockerPlan; problems: Finding[] } {
  const { app, source: src } = input;
  const problems: Finding[] = [];
  const container = `vllmapp-${app.name}`;
  const image = imageOf(app);
  const sizing = sizeResources(app, gpu);
  const envFromHost: string[] = [];
  const flags: string[] = [];
  // GPUs: the count becomes devices 0..N-1; --gpus overrides it ("0" or "none": no GPUs)
  const devices = Array.from({ length: gpu.count }, (_, i) => i).join(",");
  const gpus =
    input.dockerGpus === undefined
      ? devices
      : input.dockerGpus === "0" || input.dockerGpus === "none"
        ? ""
        : input.dockerGpus;
  if (gpu.type?.vendor === "amd") {
    // ROCm: the kernel driver's devices, not the NVIDIA runtime's --gpus; a device list narrows what vLLM sees
    if (gpus !== "") {
      flags.push("--device", "/dev/kfd", "--device", "/dev/dri", "--group-add", "video");
      if (gpus !== "all" && input.dockerGpus !== undefined) flags.push("-e", `HIP_VISIBLE_DEVICES=${gpus}`);
    }
  } else if (gpus === "all") flags.push("--gpus", "all");
  else if (gpus !== "") flags.push("--gpus", `"device=${gpus}"`);
  if (gpu.partition)
    problems.push({
      path: ["resources", "gpu", "partition"],
      severity: "note",
      message: "MIG partitions are a Kubernetes scheduling concept; Docker gets whole devices",
    });
  if (app.service_account)
    problems.push({
      path: ["service_account"],
      severity: "note",
      message: `${app.service_account} is a Kubernetes identity: the local container uses the credentials you pass it (secrets)`,
    });
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
  for (const [name, value] of [...plainEnvOf(app, src, input.params), ...(serve.lora?.env ?? [])])
    plainEnv.push("-e", `${name}=${value}`);
  if (vllmCache) plainEnv.push("-e", `VLLM_CACHE_ROOT=${CONTAINER_VLLM_CACHE}`);
  const secretEnv: string[] = [];
  for (const s of app.secrets ?? []) {
    if (typeof s === "string") {
      secretEnv.push("-e", s);
      envFromHost.push(s);
    } else if (s.mount) {
      problems.push({
        path: ["secrets"],
        severity: "warning",
        message: `secret ${s.secret ?? `${app.name}-secrets`}/${s.key ?? s.env_var} is mounted as a file on Kubernetes only; the local container does not get it`,
        hint: `for Docker, add a bind mount through command or pass it as an env_var secret`,
      });
    } else {
      secretEnv.push("-e", s.env_var!);
      envFromHost.push(s.env_var!);
    }
  }
  // one-off steps get the secrets, not the API key (filtering "-e VLLM_API_KEY" pairwise would leave a dangling "-e")
  const stepSecretEnv = [...secretEnv];
  /** An rclone copy of an object-store source into a host folder, run before the server (model, draft, adapter). */
  const copyStep = (
    what: string,
    from: Extract<ModelSource, { kind: "s3" | "gs" | "az" }>,
    dir: string,
    flags: string[],
  ): DockerPlan["before"][number] => {
    const endpoint =
      from.kind === "s3" && app.env_vars?.AWS_ENDPOINT_URL !== undefined
        ? ["-e", `RCLONE_S3_ENDPOINT=${String(app.env_vars.AWS_ENDPOINT_URL)}`]
        : [];
    return {
      what,
      argv: [
        "docker",
        "run",
        "--rm",
        "--network",
        "host",
        ...plainEnv,
        ...endpoint,
        ...stepSecretEnv,
        "-v",
        `${dir}:/data`,
        String(input.templates.modelDownload.image ?? "rclone/rclone:1.71.1"),
        "copy",
        ...rcloneSource(from),
        "/data",
        ...flags,
        "--stats=30s",
        "--stats-one-line",
        "-v",
      ],
      envFromHost: envFromHost.filter((n) => n !== "VLLM_API_KEY"),
    };
  };
  const key = apiKeyRef(app);
  if (key) {
    secretEnv.push("-e", "VLLM_API_KEY");
    envFromHost.push("VLLM_API_KEY");
    if (!key.generated) {
      problems.push({
        path: ["requires_auth"],
        severity: "note",
        message: `the local container takes its API key from VLLM_API_KEY in your environment (on Kubernetes it reads Secret ${key.secret}, key ${key.key})`,
        hint: `export VLLM_API_KEY before \`vllmapp deploy --local\`, e.g. from the cluster: kubectl get secret ${key.secret} -o jsonpath='{.data.${key.key}}' | base64 -d`,
      });
    }
  }
  const includeMounts: string[] = [];
  for (const f of input.includes) includeMounts.push("-v", `${f.hostPath}:${INCLUDE_MOUNT}/${f.name}:ro`);
  if (src.kind === "path") {
    // a host folder is served from the same path inside the container; anything else must be in the image
    if (input.hostModelDir) flags.push("-v", `${src.path}:${src.path}:ro`);
    else
      problems.push({
        path: ["model_path"],
        severity: "note",
        message: `${src.path} is not a folder on this machine, so it must exist inside the image`,
      });
  }
  if (src.kind === "pvc") {
    problems.push({
      path: ["model_path"],
      severity: "error",
      message: `pvc://${src.claim} is a Kubernetes volume: it is not available with --target docker`,
      hint: "copy the model to an object store or a local path for local runs, or deploy to Kubernetes",
    });
  }
  if (isObjectStore(src) && !app.stream_model) {
    modelCacheDir = `${input.hostHome}/.cache/vllmapp/models/${app.name}`;
    flags.push("-v", `${modelCacheDir}:/models/${app.name}:ro`);
    before.push(
      copyStep(`copy ${src.uri} into ${modelCacheDir}`, src, modelCacheDir, [...DOWNLOAD_FILTER, "--transfers=16"]),
    );
  }
  const draft = serve.speculative?.draft;
  if (draft?.kind === "path") {
    if (input.hostDirs?.includes(draft.path)) flags.push("-v", `${draft.path}:${draft.path}:ro`);
    else
      problems.push({
        path: ["draft_model_path"],
        severity: "note",
        message: `${draft.path} is not a folder on this machine, so it must exist inside the image`,
      });
  } else if (draft && isObjectStore(draft)) {
    const dir = `${input.hostHome}/.cache/vllmapp/models/${app.name}-draft`;
    flags.push("-v", `${dir}:${serve.speculative!.draftPath}:ro`);
    before.push(
      copyStep(`copy the draft model ${draft.uri} into ${dir}`, draft, dir, [...DOWNLOAD_FILTER, "--transfers=16"]),
    );
  }
  for (const a of serve.lora?.adapters ?? []) {
    if (a.source.kind === "path") {
      if (input.hostDirs?.includes(a.source.path)) flags.push("-v", `${a.source.path}:${a.source.path}:ro`);
      else
        problems.push({
          path: ["lora", "adapters", a.index, "source"],
          severity: "note",
          message: `${a.source.path} is not a folder on this machine, so it must exist inside the image`,
        });
    } else if (isObjectStore(a.source)) {
      const dir = `${input.hostHome}/.cache/vllmapp/adapters/${app.name}/${a.name}`;
      flags.push("-v", `${dir}:${a.path}:ro`);
      before.push(copyStep(`copy adapter ${a.name} from ${a.source.uri} into ${dir}`, a.source, dir, []));
    }
  }
  if (app.on_startup) {
    const startup = hookArgv(app.on_startup);
    before.push({
      what: `on_startup: ${typeof app.on_startup === "string" ? app.on_startup : startup.join(" ")}`,
      argv: [
        "docker",
        "run",
        "--rm",
        ...plainEnv,
        ...stepSecretEnv,
        "-v",
        `${hfCache}:/root/.cache/huggingface`,
        ...includeMounts,
        "--entrypoint",
        startup[0]!,
        image,
        ...startup.slice(1),
      ],
      envFromHost: envFromHost.filter((n) => n !== "VLLM_API_KEY"),
    });
  }
  const [entry, ...rest] = serve.command;
  const body = [
    ...flags,
    ...plainEnv,
    ...secretEnv,
    ...includeMounts,
    "--entrypoint",
    entry!,
    image,
    ...rest,
    ...serve.args,
  ];
  const onShutdown = app.on_shutdown === undefined ? undefined : hookArgv(app.on_shutdown);
  const hash = hashOf({ body, before: before.map((b) => b.argv), onShutdown });
  const labels = [
    "--label",
    `vllmapp.app=${app.name}`,
    "--label",
    `vllmapp.hash=${hash}`,
    "--label",
    `vllmapp.port=${app.port}`,
    "--label",
    `vllmapp.model-id=${servedModelName(app, src)}`,
    "--label",
    `vllmapp.model-uri=${sourceUri(src)}`,
  ];
  // delete and redeploy run the container's own on_shutdown, whatever the file says by then
  if (onShutdown) labels.push("--label", `vllmapp.on-shutdown=${JSON.stringify(onShutdown)}`);
  const argv = ["docker", "run", "-d", "--name", container, ...labels, ...body];
  return {
    docker: {
      argv,
      container,
      port: app.port,
      envFromHost,
      hash,
      before,
      onShutdown: onShutdown ? ["docker", "exec", container, ...onShutdown] : undefined,
      requiresApiKey: key !== undefined,
      ...(key && !key.generated ? { apiKeyFromHost: true } : {}),
      image,
      modelCacheDir,
    },
    problems,
  };
}
