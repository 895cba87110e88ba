/** The `vllm serve` argv: parameter values, the model argument for each source and target, the flags. Pure. */
import type { AppConfig } from "../config/schema.js";
import { isObjectStore, servedModelName, sourceUri, type ModelSource } from "../models/source.js";
import { shellSplit } from "../text.js";
import { CACHE_MOUNT, DEFAULT_IMAGE, INCLUDE_MOUNT, PVC_MOUNT } from "./labels.js";
import { planLora, type LoraPlan } from "./lora.js";
import { planParallelism, type ParallelPlan } from "./parallelism.js";
import { planSpeculative, type SpeculativePlan } from "./speculative.js";
import type { GpuRequest } from "./resources.js";
import { substituteParameters, validateExtraArgs, type ArgToken, type ExtraArgsResult } from "../vllm/serve-args.js";
import { startupProblems } from "../vllm/serve-values.js";
import { chooseCatalog } from "../vllm/catalog.js";
import type { Finding } from "../errors.js";
import type { IncludeFile, TargetKind } from "./types.js";

/** Parameter values after --param overrides. */
export function parameterValues(
  app: AppConfig,
  overrides: ReadonlyMap<string, string>,
): { values: Map<string, string>; problems: Finding[] } {
  const values = new Map<string, string>();
  for (const p of app.parameters ?? []) values.set(p.name, String(p.value));
  const problems: Finding[] = [];
  for (const [k, v] of overrides) {
    if (!values.has(k)) {
      problems.push({
        path: ["parameters"],
        severity: "error",
        message: `--param ${k}=… names no parameter of app "${app.name}"`,
        hint: values.size
          ? `its parameters: ${[...values.keys()].join(", ")}`
          : "declare it under parameters: [{name, value}]",
      });
    } else values.set(k, v);
  }
  return { values, problems };
}

export interface ServeResult {
  command: string[];
  args: string[];
  problems: Finding[];
  modelArg: string;
  /** the parallel sizes; nodes > 1: a LeaderWorkerSet whose workers add `parallel.workerArgs` */
  parallel?: ParallelPlan;
  /** the LoRA adapters (lora:) and what they need */
  lora?: LoraPlan;
  /** the draft model (speculative decoding) and what it needs */
  speculative?: SpeculativePlan;
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

/** ConfigMap keys allow no "/": chat/template.jinja is stored as chat__template.jinja and mounted back at its path. */
export function includeKey(f: IncludeFile): string {
  return f.name.split("/").join("__");
}

/**
 * A serve argument that names an included file (as written, or its path under /app/include) is given the
 * path the file is mounted at, so `--chat-template chat/template.jinja` works in the container.
 */
function includePathsRewritten(
  args: string[],
  includes: readonly IncludeFile[],
): { args: string[]; problems: Finding[] } {
  if (includes.length === 0) return { args, problems: [] };
  const mounted = new Map<string, string>();
  for (const f of includes) {
    const at = `${INCLUDE_MOUNT}/${f.name}`;
    for (const written of [f.path, f.name, `./${f.name}`]) mounted.set(written, at);
  }
  const problems: Finding[] = [];
  const out = args.map((a, i) => {
    const eq = a.startsWith("--") ? a.indexOf("=") : -1;
    const [flag, value] = eq > 0 ? [a.slice(0, eq + 1), a.slice(eq + 1)] : ["", a];
    const to = mounted.get(value);
    if (!to || (eq < 0 && !args[i - 1]?.startsWith("-"))) return a;
    problems.push({
      path: ["extra_args"],
      severity: "note",
      message: `${value} is an included file: vLLM is given its mounted path ${to}`,
    });
    return flag + to;
  });
  return { args: out, problems };
}

function declareHint(name: string): string {
  return `declare it: parameters: [{name: ${name}, value: …}] (--param ${name}=… sets it per run)`;
}

/**
 * `$NAME` in extra_args: vLLM gets the argv as is (no shell), so nothing expands it. A warning, naming
 * the parameter when there is one.
 */
function literalDollarWarnings(tokens: readonly ArgToken[], params: ReadonlyMap<string, string>): Finding[] {
  const out: Finding[] = [];
  for (const t of tokens) {
    for (const m of t.value.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)(?![A-Za-z0-9_{])/g)) {
      const name = m[1]!;
      const param = [...params.keys()].find((k) => k === name || k.toUpperCase().replace(/[^A-Z0-9_]/g, "_") === name);
      out.push({
        path: t.path,
        severity: "warning",
        message: `$${name} is passed to vLLM as written: vllmapp runs no shell, so nothing expands it`,
        hint: param
          ? `write \${${param}} to use the parameter ${param}`
          : `give the value itself, or ${declareHint(name)} and write \${${name}}`,
      });
    }
  }
  return out;
}

/**
 * A value vLLM would refuse because a `$NAME` or `${name}` in it was not expanded: the error says why
 * (no shell; no such parameter) and how to fix it, instead of only "invalid int value: '$MAXLEN'".
 * The warnings of tokens without such an error stay warnings.
 */
function explainUnexpanded(checked: readonly Finding[], unexpanded: readonly Finding[]): Finding[] {
  const key = (p: Finding) => JSON.stringify(p.path);
  const byPath = new Map(unexpanded.map((u) => [key(u), u]));
  const used = new Set<Finding>();
  const out = checked.map((p) => {
    const u = p.severity === "error" ? byPath.get(key(p)) : undefined;
    if (!u) return p;
    used.add(u);
    return { ...p, message: `${p.message}: ${u.message}`, hint: u.hint ?? p.hint };
  });
  return [...unexpanded.filter((u) => !used.has(u)), ...out];
}

/**
 * The `vllm serve` argv of an app: the model argument, its served name and port, the loader's flags,
 * extra_args (parameters substituted, checked against the image's vLLM release, included files at their
 * mounted paths), then the flags lora:, the draft model and parallelism: own. `command` replaces all of it.
 */
export function buildServeArgs(
  app: AppConfig,
  src: ModelSource,
  target: TargetKind,
  gpu: GpuRequest,
  params: ReadonlyMap<string, string>,
  includes: readonly IncludeFile[] = [],
  facts: { adapterRanks?: ReadonlyMap<string, number>; draftSource?: ModelSource } = {},
): ServeResult {
  const modelArg = modelArgument(app, src, target);
  if (app.command !== undefined) {
    const cmd = typeof app.command === "string" ? shellSplit(app.command) : app.command;
    const warning: Finding = {
      path: ["command"],
      severity: "warning",
      message:
        "command replaces the whole container command: vllmapp does not check its flags, and port, model_id and the model source are up to you",
    };
    return { command: cmd, args: [], problems: [warning], modelArg };
  }
  const loader = loaderArgs(app, src);
  const written = extraArgTokens(app);
  const vetted = checkedExtraArgs(app, written.tokens, params);
  const { flagsSet } = vetted.checked;
  const extra = includePathsRewritten(vetted.checked.args, includes);
  const parallel = planParallelism(app, gpu, target, flagsSet, extra.args);
  const lora = planLora(app, servedModelName(app, src), target, flagsSet, facts.adapterRanks);
  const speculative = planSpeculative(app, target, flagsSet, facts.draftSource);
  const args = [
    modelArg,
    "--served-model-name",
    servedModelName(app, src),
    "--port",
    String(app.port),
    ...loader.args,
    ...extra.args,
    ...lora.args,
    ...speculative.args,
    ...parallel.plan.args,
  ];
  const problems = [
    ...loader.problems,
    ...written.problems,
    ...vetted.problems,
    ...extra.problems,
    ...parallel.problems,
    ...lora.problems,
    ...speculative.problems,
  ];
  return { command: ["vllm", "serve"], args, problems, modelArg, parallel: parallel.plan, lora, speculative };
}

/** How vLLM loads the weights: a Hugging Face revision, the Run:ai streamer for an object store; stream_model where it means nothing is a note. */
function loaderArgs(app: AppConfig, src: ModelSource): { args: string[]; problems: Finding[] } {
  const args: string[] = [];
  if (src.kind === "hf" && src.revision) args.push("--revision", src.revision);
  if (isObjectStore(src) && app.stream_model) args.push("--load-format", "runai_streamer");
  if ((src.kind === "hf" || src.kind === "pvc") && app.stream_model === false) {
    const note: Finding = {
      path: ["stream_model"],
      severity: "note",
      message: `stream_model applies to object-store sources only; ignored for a ${src.kind === "hf" ? "Hugging Face" : "PVC"} source`,
    };
    return { args, problems: [note] };
  }
  return { args, problems: [] };
}

/** extra_args as tokens with their paths in the file: a list as written, a string split as a shell would (an open quote is an error). */
function extraArgTokens(app: AppConfig): { tokens: ArgToken[]; problems: Finding[] } {
  if (typeof app.extra_args === "string") {
    try {
      return { tokens: shellSplit(app.extra_args).map((value) => ({ value, path: ["extra_args"] })), problems: [] };
    } catch (e) {
      const problem: Finding = {
        path: ["extra_args"],
        severity: "error",
        message: `${(e as Error).message} in the extra_args string`,
        hint: "close the quote, or write extra_args as a list",
      };
      return { tokens: [], problems: [problem] };
    }
  }
  return { tokens: (app.extra_args ?? []).map((value, i) => ({ value, path: ["extra_args", i] })), problems: [] };
}

/**
 * extra_args with `${name}` substituted and checked against the catalog of the vLLM release the image
 * runs (a warning when that release is a guess): unknown flags and values, what vLLM refuses at start-up,
 * repeated flags. An unexpanded `$NAME` or `${name}` is a warning, or explains the error it causes.
 */
function checkedExtraArgs(
  app: AppConfig,
  tokens: ArgToken[],
  params: ReadonlyMap<string, string>,
): { checked: ExtraArgsResult; problems: Finding[] } {
  const sub = substituteParameters(tokens, params);
  // ${NAME} naming no parameter is passed on as written, with a warning (as $NAME is)
  const unexpanded = [
    ...literalDollarWarnings(tokens, params),
    ...sub.problems.map((p) =>
      / names no parameter/.test(p.message)
        ? {
            ...p,
            severity: "warning" as const,
            message: `${p.message}, so vLLM receives it as written`,
            hint: params.size ? p.hint : declareHint(/^\$\{([^}]+)\}/.exec(p.message)?.[1] ?? "NAME"),
          }
        : p,
    ),
  ];
  const problems: Finding[] = [];
  const release = chooseCatalog(app.image, app.vllm_version, DEFAULT_IMAGE);
  if (release.why && sub.tokens.length)
    problems.push({
      path: [app.vllm_version !== undefined ? "vllm_version" : "image"],
      severity: "warning",
      message: release.why,
      hint: release.source === "default" ? 'set vllm_version: "X.Y.Z" to the release the image runs' : undefined,
    });
  const checked = validateExtraArgs(sub.tokens, release.exact, {
    version: release.version,
    imageVersion: release.imageVersion ?? release.version,
  });
  problems.push(...explainUnexpanded(checked.problems, unexpanded));
  // what vLLM refuses when it builds its configs (bounds, registered names), and repeated flags
  problems.push(...startupProblems(checked, release.version, release.exact));
  return { checked, problems };
}
