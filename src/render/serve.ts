/** The `vllm serve` argv: parameter values, the model argument for each source and target, the flags. Pure. */
import type { AppConfig } from "../config/schema.js";
import { isObjectStore, servedModelName, sourceUri, type ModelSource } from "../models/source.js";
import { shellSplit } from "../text.js";
import { CACHE_MOUNT, DEFAULT_IMAGE, PVC_MOUNT } from "./labels.js";
import type { GpuRequest } from "./resources.js";
import { substituteParameters, validateExtraArgs, type ArgToken } from "./serve-args.js";
import type { Problem, TargetKind } from "./types.js";

/** Parameter values after --param overrides. */
export function parameterValues(app: AppConfig, overrides: ReadonlyMap<string, string>): { values: Map<string, string>; problems: Problem[] } {
  const values = new Map<string, string>();
  for (const p of app.parameters ?? []) values.set(p.name, String(p.value));
  const problems: Problem[] = [];
  for (const [k, v] of overrides) {
    if (!values.has(k)) {
      problems.push({ path: ["parameters"], severity: "error", message: `--param ${k}=… names no parameter of app "${app.name}"`, hint: values.size ? `its parameters: ${[...values.keys()].join(", ")}` : "declare it under parameters: [{name, value}]" });
    } else values.set(k, v);
  }
  return { values, problems };
}

export interface ServeResult {
  command: string[];
  args: string[];
  problems: Problem[];
  modelArg: string;
}

/** The model argument vLLM gets, for each kind of source and target. */
function modelArgument(app: AppConfig, src: ModelSource, target: TargetKind): string {
  switch (src.kind) {
    case "hf":
      return src.repo;
    case "s3":
    case "gs":
    case "az":
      if (app.stream_model) return src.uri;
      return target === "kubernetes" ? `${CACHE_MOUNT}/models/${app.name}` : `/models/${app.name}`;
    case "pvc":
      return src.subPath ? `${PVC_MOUNT}/${src.subPath}` : PVC_MOUNT;
    case "path":
      return src.path;
    default:
      // unresolved run output / registry URI: shown symbolically until resolved
      return sourceUri(src);
  }
}

export function buildServeArgs(app: AppConfig, src: ModelSource, target: TargetKind, gpu: GpuRequest, params: ReadonlyMap<string, string>): ServeResult {
  const problems: Problem[] = [];
  const modelArg = modelArgument(app, src, target);
  if (app.command !== undefined) {
    const cmd = typeof app.command === "string" ? shellSplit(app.command) : app.command;
    problems.push({ path: ["command"], severity: "warning", message: "command replaces the whole container command: vllmapp does not check its flags, and port, model_id and the model source are up to you" });
    return { command: cmd, args: [], problems, modelArg };
  }
  const loader: string[] = [];
  if (src.kind === "hf" && src.revision) loader.push("--revision", src.revision);
  if (isObjectStore(src) && app.stream_model) loader.push("--load-format", "runai_streamer");
  if ((src.kind === "hf" || src.kind === "pvc") && app.stream_model === false) {
    problems.push({ path: ["stream_model"], severity: "note", message: `stream_model applies to object-store sources only; ignored for a ${src.kind === "hf" ? "Hugging Face" : "PVC"} source` });
  }
  let tokens: ArgToken[] = [];
  if (typeof app.extra_args === "string") {
    try {
      tokens = shellSplit(app.extra_args).map((value) => ({ value, path: ["extra_args"] }));
    } catch (e) {
      problems.push({ path: ["extra_args"], severity: "error", message: `extra_args: ${(e as Error).message}`, hint: "close the quote, or write extra_args as a list" });
    }
  } else if (app.extra_args) {
    tokens = app.extra_args.map((value, i) => ({ value, path: ["extra_args", i] }));
  }
  const sub = substituteParameters(tokens, params);
  problems.push(...sub.problems);
  const checked = validateExtraArgs(sub.tokens, app.image === "auto" || app.image === DEFAULT_IMAGE);
  problems.push(...checked.problems);
  const args = [modelArg, "--served-model-name", servedModelName(app, src), "--port", String(app.port), ...loader, ...checked.args];
  if (gpu.count > 1 && !gpu.partition && !checked.flagsSet.has("--tensor-parallel-size")) {
    args.push("--tensor-parallel-size", String(gpu.count));
  }
  return { command: ["vllm", "serve"], args, problems, modelArg };
}
