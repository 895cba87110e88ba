/**
 * Speculative decoding as in Flyte 2.12: a draft model (`draft_model_hf_path` or `draft_model_path`, the
 * same kinds of source as the main model) and `speculative_config` (further keys), rendered into one
 * `--speculative-config` JSON value whose `model` is the draft's path in the container:
 * `{"model": …, "num_speculative_tokens": N, "method": "draft_model", …}`. An object-store draft is copied
 * before the server starts (Flyte does the same: a draft is never streamed); a PVC is mounted. Pure.
 */
import type { AppConfig } from "../config/schema.js";
import { isObjectStore, parseModelPath, runsBackendOf, sourceUri, type ModelSource } from "../models/source.js";
import { didYouMean } from "../text.js";
import { errorOf } from "./findings.js";
import { CACHE_MOUNT } from "./labels.js";
import type { Finding } from "../errors.js";
import type { TargetKind } from "./types.js";

export const DRAFT_PVC_MOUNT = "/mnt/draft-model";

/** vLLM's speculative methods (0.19 and later; a plugin may add more). */
const METHODS = [
  "draft_model",
  "ngram",
  "ngram_gpu",
  "medusa",
  "mlp_speculator",
  "eagle",
  "eagle3",
  "mtp",
  "suffix",
  "dflash",
  "extract_hidden_states",
  "custom_class",
];
/** SpeculativeConfig's fields a user may set (model comes from the draft fields). */
const KEYS = [
  "model",
  "num_speculative_tokens",
  "method",
  "draft_tensor_parallel_size",
  "tensor_parallel_size",
  "quantization",
  "max_model_len",
  "revision",
  "code_revision",
  "prompt_lookup_max",
  "prompt_lookup_min",
  "enforce_eager",
  "disable_padded_drafter_batch",
  "parallel_drafting",
  "speculative_token_tree",
  "kv_cache_dtype",
  "attention_backend",
  "moe_backend",
  "rejection_sample_method",
  "draft_sample_method",
  "use_local_argmax_reduction",
  "index_share_for_mtp_iteration",
  "suffix_decoding_max_tree_depth",
  "suffix_decoding_max_cached_requests",
  "suffix_decoding_max_spec_factor",
  "suffix_decoding_min_token_prob",
  "disable_by_batch_size",
  "disable_logprobs",
  "draft_load_config",
];

export interface SpeculativePlan {
  /** the draft as a source (a run output stays symbolic until resolved) */
  draft?: ModelSource;
  /** the draft's path (or HF repo id) inside the container */
  draftPath?: string;
  args: string[];
  problems: Finding[];
}

/** The draft's source as written (draft_model_hf_path / draft_model_path), or a problem. */
export function parseDraftSource(app: AppConfig): ModelSource | Finding | undefined {
  if (app.draft_model_hf_path !== undefined && app.draft_model_path !== undefined) {
    return {
      path: ["draft_model_path"],
      severity: "error",
      message: "both draft_model_hf_path and draft_model_path are set; keep exactly one",
    };
  }
  if (app.draft_model_hf_path !== undefined) {
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*)(?:@([A-Za-z0-9._/-]+))?$/.exec(
      app.draft_model_hf_path.trim(),
    );
    if (!m)
      return {
        path: ["draft_model_hf_path"],
        severity: "error",
        message: `"${app.draft_model_hf_path}" is not a Hugging Face repo id; write org/name, optionally @revision`,
      };
    return m[2] ? { kind: "hf", repo: m[1]!, revision: m[2] } : { kind: "hf", repo: m[1]! };
  }
  const dp = app.draft_model_path;
  if (dp === undefined) return undefined;
  if (typeof dp === "object") return { kind: "run_output", ref: dp.run_output, backend: runsBackendOf(app) };
  const src = parseModelPath(dp, runsBackendOf(app));
  if ("message" in src)
    return {
      path: ["draft_model_path"],
      severity: "error",
      message: src.message,
      ...(src.hint ? { hint: src.hint.replace("model_hf_path", "draft_model_hf_path") } : {}),
    };
  return src;
}

function draftPathOf(app: AppConfig, src: ModelSource, target: TargetKind): string {
  switch (src.kind) {
    case "hf":
      return src.repo;
    case "s3":
    case "gs":
    case "az":
      return target === "kubernetes" ? `${CACHE_MOUNT}/models/${app.name}-draft` : `/models/${app.name}-draft`;
    case "pvc":
      return src.subPath ? `${DRAFT_PVC_MOUNT}/${src.subPath}` : DRAFT_PVC_MOUNT;
    case "path":
      return src.path;
    default:
      return sourceUri(src);
  }
}

/** `draft` overrides the parsed draft (a run output resolved at deploy time). */
export function planSpeculative(
  app: AppConfig,
  target: TargetKind,
  flagsSet: ReadonlySet<string>,
  resolvedDraft?: ModelSource,
): SpeculativePlan {
  const parsed = parseDraftSource(app);
  const cfg = app.speculative_config;
  if (parsed === undefined && cfg === undefined) return { args: [], problems: [] };
  const out: SpeculativePlan = { args: [], problems: [] };
  if (flagsSet.has("--speculative-config"))
    out.problems.push(
      errorOf(
        ["extra_args"],
        "--speculative-config is set by vllmapp from speculative_config and the draft model; remove it from extra_args",
        "put its keys under speculative_config:",
      ),
    );
  if (parsed && "message" in parsed) {
    out.problems.push(parsed);
    return out;
  }
  const draft = resolvedDraft ?? parsed;
  const spec: Record<string, unknown> = {};
  if (draft) {
    out.draft = draft;
    out.draftPath = draftPathOf(app, draft, target);
    spec.model = out.draftPath;
    if (draft.kind === "hf" && draft.revision && cfg?.revision === undefined) spec.revision = draft.revision;
    out.problems.push(...draftProblems(app, draft, target));
  }
  const written = writtenKeys(cfg ?? {}, draft !== undefined);
  for (const [k, v] of written.entries) spec[k] = v;
  out.problems.push(...written.problems, ...tokensAndMethodProblems(spec, draft !== undefined));
  if (draft && spec.method === undefined) spec.method = "draft_model";
  // model, num_speculative_tokens, method first; the rest as written
  const ordered: Record<string, unknown> = {};
  for (const k of ["model", "num_speculative_tokens", "method"]) if (spec[k] !== undefined) ordered[k] = spec[k];
  for (const [k, v] of Object.entries(spec)) if (!(k in ordered)) ordered[k] = v;
  out.args.push("--speculative-config", JSON.stringify(ordered));
  return out;
}

/** What the draft's kind means here: a PVC is not there on Docker; an object store is copied, not streamed; a run output is resolved at deploy time. */
function draftProblems(app: AppConfig, draft: ModelSource, target: TargetKind): Finding[] {
  const problems: Finding[] = [];
  if (draft.kind === "pvc" && target === "docker")
    problems.push(
      errorOf(
        ["draft_model_path"],
        `pvc://${draft.claim} is a Kubernetes volume: it is not available with --target docker`,
        "use a folder on this machine, an object store or a Hugging Face repo for local runs",
      ),
    );
  if (isObjectStore(draft) && app.stream_model)
    problems.push({
      path: ["draft_model_path"],
      severity: "note",
      message: `the draft ${draft.uri} is copied before the server starts (a draft model is not streamed)`,
    });
  if (draft.kind === "run_output" || draft.kind === "mlflow_model")
    problems.push({
      path: ["draft_model_path"],
      severity: "note",
      message: `the draft ${sourceUri(draft)} is resolved at deploy time (\`vllmapp check\` resolves it now)`,
    });
  return problems;
}

/**
 * speculative_config's keys as written, in order, for --speculative-config: `model` is the draft's when
 * there is one (an error to write it then; a warning without one: vllmapp neither fetches nor checks it),
 * and a key vllmapp does not know is a warning with a did-you-mean.
 */
function writtenKeys(
  cfg: Record<string, unknown>,
  hasDraft: boolean,
): { entries: [string, unknown][]; problems: Finding[] } {
  const entries: [string, unknown][] = [];
  const problems: Finding[] = [];
  for (const [k, v] of Object.entries(cfg)) {
    if (k === "model" && hasDraft)
      problems.push(
        errorOf(
          ["speculative_config", "model"],
          "speculative_config.model is set from the draft model",
          "remove model: here; the draft comes from draft_model_hf_path or draft_model_path",
        ),
      );
    else if (k === "model")
      problems.push({
        path: ["speculative_config", "model"],
        severity: "warning",
        message: "speculative_config.model names a draft vllmapp does not fetch or check",
        hint: "use draft_model_hf_path or draft_model_path",
      });
    if (!KEYS.includes(k)) {
      const guess = didYouMean(k, KEYS);
      problems.push({
        path: ["speculative_config", k],
        severity: "warning",
        message: `"${k}" is not a --speculative-config key vllmapp knows${guess ? `; did you mean "${guess}"?` : ""}`,
        hint: "vLLM rejects unknown keys; check its SpeculativeConfig for your version",
      });
    }
    if (!(k === "model" && hasDraft)) entries.push([k, v]);
  }
  return { entries, problems };
}

/**
 * num_speculative_tokens must be set (a draft, or a method that proposes tokens) and a whole number ≥ 1;
 * without a draft, method is needed; a method vLLM does not build in is a warning (a plugin may add it).
 * `spec`: the config before the draft's default method.
 */
function tokensAndMethodProblems(spec: Record<string, unknown>, hasDraft: boolean): Finding[] {
  const problems: Finding[] = [];
  const n = spec.num_speculative_tokens;
  if (n === undefined) {
    const method = String(spec.method ?? (hasDraft ? "draft_model" : ""));
    if (hasDraft || ["ngram", "draft_model", "suffix", "ngram_gpu"].includes(method)) {
      problems.push(
        errorOf(
          ["speculative_config"],
          "speculative_config.num_speculative_tokens is not set: vLLM needs to know how many tokens the draft proposes per step",
          "add speculative_config: {num_speculative_tokens: 3} (3–5 is typical)",
        ),
      );
    }
  } else if (!Number.isInteger(n) || (n as number) < 1) {
    problems.push(
      errorOf(
        ["speculative_config", "num_speculative_tokens"],
        `num_speculative_tokens must be a whole number ≥ 1, got ${JSON.stringify(n)}`,
      ),
    );
  }
  if (spec.method === undefined && !hasDraft)
    problems.push(
      errorOf(
        ["speculative_config", "method"],
        "speculative_config without a draft model needs method (e.g. ngram, eagle3, mtp)",
        "or set draft_model_hf_path / draft_model_path",
      ),
    );
  if (typeof spec.method === "string" && !METHODS.includes(spec.method)) {
    const guess = didYouMean(spec.method, METHODS);
    problems.push({
      path: ["speculative_config", "method"],
      severity: "warning",
      message: `"${spec.method}" is not a built-in speculative method${guess ? `; did you mean "${guess}"?` : ""}`,
      hint: `built-in: ${METHODS.join(", ")}`,
    });
  }
  return problems;
}
