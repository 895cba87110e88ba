/**
 * renderApp: config + model source + templates → serve argv, Kubernetes objects, docker argv.
 * PURE: every input (templates, include files, the host's home) is passed in. Same input, same bytes.
 * The pieces live by output: serve.ts (argv), env.ts, kubernetes.ts, docker.ts; labels.ts holds the names.
 */
import { servedModelName, sourceUri } from "../models/source.js";
import { renderDocker } from "./docker.js";
import { DEFAULT_IMAGE } from "./labels.js";
import { renderKubernetes } from "./kubernetes.js";
import { gpuRequest } from "./resources.js";
import { buildServeArgs, parameterValues } from "./serve.js";
import type { Problem, RenderedApp, RenderedModel, RenderInput } from "./types.js";

/** Render one app for its target. Problems (errors included) are returned, not thrown. */
export function renderApp(input: RenderInput): RenderedApp {
  const { app, source } = input;
  const gpu = gpuRequest(app);
  const params = parameterValues(app, input.params);
  const serve = buildServeArgs(app, source, input.target, gpu, params.values, input.includes, { adapterRanks: input.adapterRanks, draftSource: input.draftSource });
  const model: RenderedModel = { kind: source.kind, uri: sourceUri(source), servedAs: servedModelName(app, source) };
  if (input.resolvedFrom) model.resolvedFrom = input.resolvedFrom;
  const problems: Problem[] = [...params.problems, ...serve.problems];
  if (!/@sha256:[0-9a-f]{64}$/.test(app.image) && !/:[\w][\w.-]{0,127}$/.test(app.image.replace(/^[^/]+:\d+\//, ""))) {
    if (app.image !== "auto") problems.push({ path: ["image"], severity: "warning", message: `image "${app.image}" has no tag, so every node may pull a different build`, hint: `pin a tag or digest, e.g. ${app.image}:${DEFAULT_IMAGE.split(":").pop()}` });
  } else if (/:latest$/.test(app.image)) {
    problems.push({ path: ["image"], severity: "warning", message: `image "${app.image}" uses :latest, so every node may pull a different build`, hint: "pin a release tag or a digest" });
  }
  if (source.kind === "run_output" || source.kind === "mlflow_model") {
    problems.push({ path: ["model_path"], severity: "note", message: `${model.uri} is resolved at deploy time (\`vllmapp check\` resolves it now)` });
  }
  const base = { name: app.name, target: input.target, ...(input.namespace ? { namespace: input.namespace } : {}), model, serve: { command: serve.command, args: serve.args } };
  if (input.target === "docker") {
    const d = renderDocker({ ...input, params: params.values }, serve, gpu);
    return { ...base, docker: d.docker, problems: [...problems, ...d.problems] };
  }
  const k = renderKubernetes({ ...input, params: params.values }, serve, model, gpu);
  return { ...base, objects: k.objects, problems: [...problems, ...k.problems] };
}
