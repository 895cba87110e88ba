/**
 * renderApp: config + model source + templates → serve argv, Kubernetes objects, docker argv.
 * PURE: every input (templates, include files, the host's home) is passed in. Same input, same bytes.
 * The pieces live by output: serve.ts (argv), env.ts, kubernetes.ts, docker.ts; labels.ts holds the names.
 */
import { servedModelName, sourceUri } from "../models/source.js";
import { renderDocker } from "./docker.js";
import { renderKubernetes } from "./kubernetes.js";
import { DEFAULT_CPU_IMAGE, DEFAULT_IMAGE, DEFAULT_ROCM_IMAGE, imageOf } from "./labels.js";
import { gpuRequest, type GpuRequest } from "./resources.js";
import { buildServeArgs, parameterValues } from "./serve.js";
import type { Finding } from "../errors.js";
import type { RenderedApp, RenderedModel, RenderInput } from "./types.js";

/** Render one app for its target. Problems (errors included) are returned, not thrown. */
export function renderApp(input: RenderInput): RenderedApp {
  const { app, source } = input;
  const gpu = gpuRequest(app);
  const params = parameterValues(app, input.params);
  const serve = buildServeArgs(app, source, input.target, gpu, params.values, input.includes, {
    adapterRanks: input.adapterRanks,
    draftSource: input.draftSource,
  });
  const model: RenderedModel = { kind: source.kind, uri: sourceUri(source), servedAs: servedModelName(app, source) };
  if (input.resolvedFrom) model.resolvedFrom = input.resolvedFrom;
  const problems: Finding[] = [...params.problems, ...serve.problems];
  if (!/@sha256:[0-9a-f]{64}$/.test(app.image) && !/:[\w][\w.-]{0,127}$/.test(app.image.replace(/^[^/]+:\d+\//, ""))) {
    if (app.image !== "auto")
      problems.push({
        path: ["image"],
        severity: "warning",
        message: `image "${app.image}" has no tag, so every node may pull a different build`,
        hint: `pin a tag or digest, e.g. ${app.image}:${DEFAULT_IMAGE.split(":").pop()}`,
      });
  } else if (/:latest$/.test(app.image)) {
    problems.push({
      path: ["image"],
      severity: "warning",
      message: `image "${app.image}" uses :latest, so every node may pull a different build`,
      hint: "pin a release tag or a digest",
    });
  }
  problems.push(...imageProblems(input, gpu));
  if (source.kind === "run_output" || source.kind === "mlflow_model") {
    problems.push({
      path: ["model_path"],
      severity: "note",
      message: `${model.uri} is resolved at deploy time (\`vllmapp check\` resolves it now)`,
    });
  }
  const base = {
    name: app.name,
    target: input.target,
    ...(input.namespace ? { namespace: input.namespace } : {}),
    model,
    serve: { command: serve.command, args: serve.args },
  };
  if (input.target === "docker") {
    const d = renderDocker({ ...input, params: params.values }, serve, gpu);
    return { ...base, docker: d.docker, problems: [...problems, ...d.problems] };
  }
  const k = renderKubernetes({ ...input, params: params.values }, serve, model, gpu);
  return { ...base, objects: k.objects, problems: [...problems, ...k.problems] };
}

const CUDA_IMAGE = /^(docker\.io\/)?vllm\/vllm-openai(:|@|$)/;
const ROCM_IMAGE = /(^|\/)(vllm-openai-rocm|rocm\/vllm)(:|@|$)|-rocm(:|@|$)|rocm[^/]*$/i;

/**
 * The image must fit the accelerator: never vLLM's CUDA image on an AMD GPU (or its ROCm image on an
 * NVIDIA one); no GPU at all with the CUDA image is legal (another image, a GPU from pod_template) but
 * vLLM exits at start-up without one.
 */
function imageProblems(input: RenderInput, gpu: GpuRequest): Finding[] {
  const { app } = input;
  const image = imageOf(app);
  const out: Finding[] = [];
  const vendor = gpu.type?.vendor;
  if (vendor === "amd" && CUDA_IMAGE.test(image)) {
    out.push({
      path: ["image"],
      severity: "error",
      message: `${image} is vLLM's CUDA build, and ${gpu.type!.name} is an AMD GPU: vLLM would find no device`,
      hint: `use the ROCm build: image: ${/^vllm\/vllm-openai:/.test(image) ? image.replace(/^vllm\/vllm-openai:/, "vllm/vllm-openai-rocm:") : DEFAULT_ROCM_IMAGE} (or image: auto)`,
    });
  } else if (vendor === "nvidia" && ROCM_IMAGE.test(image)) {
    out.push({
      path: ["image"],
      severity: "error",
      message: `${image} is a ROCm (AMD) build, and ${gpu.type!.name} is an NVIDIA GPU`,
      hint: `use the CUDA build: image: ${DEFAULT_IMAGE} (or image: auto)`,
    });
  }
  const dockerGpus = input.target === "docker" && (input.dockerGpus === "0" || input.dockerGpus === "none");
  if ((gpu.count === 0 || dockerGpus) && CUDA_IMAGE.test(image)) {
    out.push({
      path: app.resources?.gpu !== undefined ? ["resources", "gpu"] : app.resources ? ["resources"] : ["image"],
      severity: "warning",
      message: `${dockerGpus ? "--gpus 0 runs the container without a GPU" : "the app asks for no GPU"}, but ${image} is vLLM's CUDA build: it exits at start-up without one`,
      hint: `ask for a GPU (resources: {gpu: "L4:1"}), or run on CPU with vLLM's CPU image: image: ${DEFAULT_CPU_IMAGE}`,
    });
  }
  return out;
}
