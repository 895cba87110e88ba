/**
 * `vllmapp tune`: the search space. A pure function of the app (its config and rendered argv), the vLLM
 * release, the GPUs and the workload: the baseline (the app as it is) and one candidate per other value
 * of each knob, in a fixed round-robin order over the knobs, so that a small budget still covers several
 * knobs and a re-run tries the same candidates in the same order. The rules here prune what vLLM or the
 * hardware would refuse before any trial is spent; the catalog and the fit check prune the rest (run.ts).
 */
import type { SetOverride } from "../config/overrides.js";
import type { AppConfig } from "../config/schema.js";
import { shellSplit } from "../text.js";

export const KNOBS = [
  "max_num_seqs",
  "max_num_batched_tokens",
  "max_model_len",
  "kv_cache_dtype",
  "gpu_memory_utilization",
  "tensor_parallel",
  "speculative",
] as const;
export type Knob = (typeof KNOBS)[number];

/** What a config sets for each knob; null: the flag is not set (vLLM's default applies). */
export interface Settings {
  max_num_seqs: number | null;
  max_num_batched_tokens: number | null;
  max_model_len: number | null;
  kv_cache_dtype: string | null;
  gpu_memory_utilization: number | null;
  tensor_parallel: number;
  /** speculative decoding with the app's draft model; null when the app has no draft */
  speculative: boolean | null;
}

/** The vLLM flag of each flag-backed knob. */
export const FLAGS: Partial<Record<Knob, string>> = {
  max_num_seqs: "--max-num-seqs",
  max_num_batched_tokens: "--max-num-batched-tokens",
  max_model_len: "--max-model-len",
  kv_cache_dtype: "--kv-cache-dtype",
  gpu_memory_utilization: "--gpu-memory-utilization",
};

/** The values tried besides the app's own. */
export const VALUES = {
  max_num_seqs: [16, 64, 256],
  max_num_batched_tokens: [2048, 8192, 16384],
  gpu_memory_utilization: [0.8, 0.95],
  kv_cache_dtype: ["fp8"],
  tensor_parallel: [1, 2, 4, 8],
} as const;

/**
 * vLLM's defaults where the tie-break needs a number for an unset flag (online serving on a GPU:
 * max_num_seqs 256, max_num_batched_tokens 8192, gpu_memory_utilization 0.9).
 */
const DEFAULTS = { max_num_seqs: 256, max_num_batched_tokens: 8192, gpu_memory_utilization: 0.9 };

export interface Workload {
  inputLen: number;
  outputLen: number;
  /** prompts from a dataset file: their lengths in tokens are known only once the benchmark tokenizes them */
  fromFile?: boolean;
}

export interface Hardware {
  /** GPUs per replica; 0: the CPU backend */
  gpus: number;
  /** the GPU type's name, when known */
  gpuType?: string;
  /** the model's attention heads and KV heads, when config.json was read (tensor-parallel sizes must divide them) */
  heads?: { attention: number; kv: number };
  /** the model's longest context (config.json), when known */
  maxPositionEmbeddings?: number;
}

export interface Candidate {
  /** "baseline", or knob=value */
  id: string;
  /** position in the search order */
  index: number;
  /** the knobs this candidate changes from the baseline */
  changes: Partial<Record<Knob, string | number | boolean>>;
  settings: Settings;
  /** the change to vllm-app.yaml, as --set overrides of the app's fields */
  overrides: SetOverride[];
  /** why no trial is spent on it; undefined: it runs */
  pruned?: string;
}

const flagValue = (args: readonly string[], flag: string): string | undefined => {
  let out: string | undefined;
  const under = flag.replace(/-/g, "_").replace(/^__/, "--");
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    for (const f of [flag, under]) {
      if (a === f) out = args[i + 1];
      else if (a.startsWith(`${f}=`)) out = a.slice(f.length + 1);
    }
  }
  return out;
};

const numberOr = (v: string | undefined): number | null => {
  if (v === undefined) return null;
  const m = /^(\d+(?:\.\d+)?)([kK]?)$/.exec(v);
  if (!m) return null;
  return Number(m[1]) * (m[2] === "k" ? 1000 : m[2] === "K" ? 1024 : 1);
};

/** The baseline's settings, from the `vllm serve` argv the app renders to and its tensor-parallel size. */
export function settingsOf(args: readonly string[], tensorParallel: number, hasDraft: boolean): Settings {
  return {
    max_num_seqs: numberOr(flagValue(args, "--max-num-seqs")),
    max_num_batched_tokens: numberOr(flagValue(args, "--max-num-batched-tokens")),
    max_model_len: numberOr(flagValue(args, "--max-model-len")),
    kv_cache_dtype: flagValue(args, "--kv-cache-dtype") ?? null,
    gpu_memory_utilization: numberOr(flagValue(args, "--gpu-memory-utilization")),
    tensor_parallel: tensorParallel,
    speculative: hasDraft ? true : null,
  };
}

/** The tokens the workload's longest request needs: its prompt and its output. */
export const workloadTokens = (w: Workload) => w.inputLen + w.outputLen;

/** The max_model_len that fits the workload: its tokens rounded up to a multiple of 256. */
export const fittedModelLen = (w: Workload) => Math.ceil(workloadTokens(w) / 256) * 256;

/** The app's extra_args as a list (a string is split as the render splits it). */
function extraArgsList(app: AppConfig): string[] {
  const e = app.extra_args;
  if (e === undefined) return [];
  return typeof e === "string" ? shellSplit(e) : e.map(String);
}

/** Where a flag is written in extra_args: the index of its value (or of `--flag=value`). */
function flagIndex(list: readonly string[], flag: string): { at: number; joined: boolean } | undefined {
  const under = flag.replace(/-/g, "_").replace(/^__/, "--");
  let found: { at: number; joined: boolean } | undefined;
  list.forEach((a, i) => {
    for (const f of [flag, under]) {
      if (a === f && i + 1 < list.length) found = { at: i + 1, joined: false };
      else if (a.startsWith(`${f}=`)) found = { at: i, joined: true };
    }
  });
  return found;
}

/**
 * The --set overrides that make the app's config take these changes: a flag already in extra_args gets
 * its value replaced in place (the rest of the list, and its comments, stay); a new one is appended;
 * extra_args written as one string becomes a list. Tensor parallelism is parallelism.tensor (the rest
 * of the GPUs go to data parallelism); speculative off removes the draft.
 */
export function overridesFor(app: AppConfig, changes: Candidate["changes"], gpus = 0): SetOverride[] {
  const out: SetOverride[] = [];
  const list = extraArgsList(app);
  const asString = typeof app.extra_args === "string";
  const appended: string[] = [];
  for (const knob of KNOBS) {
    const v = changes[knob];
    const flag = FLAGS[knob];
    if (v === undefined || !flag) continue;
    const at = flagIndex(list, flag);
    if (at && !asString)
      out.push({ path: `extra_args[${at.at}]`, value: JSON.stringify(at.joined ? `${flag}=${v}` : String(v)) });
    else if (at) list[at.at] = at.joined ? `${flag}=${v}` : String(v);
    else appended.push(flag, String(v));
  }
  if (asString) {
    if (appended.length || out.length || list.join(" ") !== extraArgsList(app).join(" "))
      out.push({ path: "extra_args", value: JSON.stringify([...list, ...appended]) });
  } else {
    appended.forEach((v, i) => out.push({ path: `extra_args[${list.length + i}]`, value: JSON.stringify(v) }));
  }
  if (changes.tensor_parallel !== undefined) {
    out.push({ path: "parallelism.tensor", value: String(changes.tensor_parallel) });
    if (gpus > Number(changes.tensor_parallel))
      out.push({ path: "parallelism.data", value: String(gpus / Number(changes.tensor_parallel)) });
  }
  if (changes.speculative === false) {
    for (const f of ["draft_model_hf_path", "draft_model_path", "speculative_config"] as const)
      if (app[f] !== undefined) out.push({ path: f, value: "null" });
  }
  return out;
}

/** Why vLLM or the hardware would refuse these settings, by rules that need no model facts; undefined: no rule refuses. */
export function ruleRefusal(
  s: Settings,
  changes: Candidate["changes"],
  hw: Hardware,
  w: Workload,
  kvChoices: readonly string[] | undefined,
): string | undefined {
  const cpu = hw.gpus === 0;
  if (changes.gpu_memory_utilization !== undefined && cpu)
    return "the CPU backend sizes its KV cache from VLLM_CPU_KVCACHE_SPACE, not --gpu-memory-utilization: nothing to tune without a GPU";
  if (changes.kv_cache_dtype !== undefined) {
    if (cpu)
      return `--kv-cache-dtype ${changes.kv_cache_dtype} needs a GPU (the CPU backend keeps the KV cache in the model's dtype)`;
    if (kvChoices && !kvChoices.includes(String(changes.kv_cache_dtype)))
      return `this vLLM release's --kv-cache-dtype takes ${kvChoices.join(", ")}`;
  }
  if (changes.tensor_parallel !== undefined) {
    const tp = Number(changes.tensor_parallel);
    if (tp > Math.max(1, hw.gpus))
      return `tensor parallel ${tp} needs ${tp} GPUs; the app has ${cpu ? "none (the CPU backend)" : hw.gpus}`;
    if (hw.gpus % tp !== 0) return `tensor parallel ${tp} does not divide the app's ${hw.gpus} GPUs`;
    if (hw.heads && (hw.heads.attention % tp !== 0 || (hw.heads.kv % tp !== 0 && tp % hw.heads.kv !== 0)))
      return `tensor parallel ${tp} does not divide the model's ${hw.heads.attention} attention heads / ${hw.heads.kv} KV heads (vLLM refuses)`;
  }
  const seqs = s.max_num_seqs ?? DEFAULTS.max_num_seqs;
  if (s.max_num_batched_tokens !== null && s.max_num_batched_tokens < seqs)
    return `max_num_batched_tokens ${s.max_num_batched_tokens} is below max_num_seqs ${seqs} (vLLM refuses)`;
  const need = workloadTokens(w);
  if (!w.fromFile && s.max_model_len !== null && s.max_model_len < need)
    return `max_model_len ${s.max_model_len} is shorter than the workload's requests (${w.inputLen} + ${w.outputLen} = ${need} tokens): they would be refused`;
  if (s.max_model_len !== null && hw.maxPositionEmbeddings !== undefined && s.max_model_len > hw.maxPositionEmbeddings)
    return `max_model_len ${s.max_model_len} exceeds the model's context of ${hw.maxPositionEmbeddings} tokens (vLLM refuses)`;
  return undefined;
}

/**
 * The candidates, in search order: the baseline, then round-robin over the knobs (the first other value
 * of each knob, then the second, …). Values equal to the baseline's are left out; rule refusals are
 * marked pruned here. A pure function of its arguments.
 */
export function candidates(
  app: AppConfig,
  base: Settings,
  hw: Hardware,
  w: Workload,
  kvChoices?: readonly string[],
): Candidate[] {
  const perKnob: [Knob, (string | number | boolean)[]][] = [
    ["max_num_seqs", [...VALUES.max_num_seqs]],
    ["max_num_batched_tokens", [...VALUES.max_num_batched_tokens]],
    ["max_model_len", w.fromFile ? [] : [fittedModelLen(w)]],
    ["kv_cache_dtype", [...VALUES.kv_cache_dtype]],
    ["gpu_memory_utilization", [...VALUES.gpu_memory_utilization]],
    ["tensor_parallel", VALUES.tensor_parallel.filter((tp) => tp <= Math.max(2, hw.gpus))],
    ["speculative", base.speculative === null ? [] : [!base.speculative]],
  ];
  const baseValue = (k: Knob): string | number | boolean | null => {
    const v = base[k];
    if (k === "max_num_seqs" && v === null) return hw.gpus ? DEFAULTS.max_num_seqs : null;
    if (k === "gpu_memory_utilization" && v === null) return DEFAULTS.gpu_memory_utilization;
    return v;
  };
  const lists = perKnob.map(([k, vs]) => [k, vs.filter((v) => v !== baseValue(k))] as const);
  const out: Candidate[] = [{ id: "baseline", index: 0, changes: {}, settings: base, overrides: [] }];
  const baseRefusal = ruleRefusal(base, {}, hw, w, kvChoices);
  if (baseRefusal) out[0]!.pruned = baseRefusal;
  const longest = Math.max(...lists.map(([, vs]) => vs.length));
  for (let round = 0; round < longest; round++) {
    for (const [k, vs] of lists) {
      if (round >= vs.length) continue;
      const v = vs[round]!;
      const changes: Candidate["changes"] = { [k]: v };
      const settings: Settings = { ...base, [k]: v };
      const c: Candidate = {
        id: `${k}=${v}`,
        index: out.length,
        changes,
        settings,
        overrides: overridesFor(app, changes, hw.gpus),
      };
      const refusal = ruleRefusal(settings, changes, hw, w, kvChoices);
      if (refusal) c.pruned = refusal;
      out.push(c);
    }
  }
  return out;
}

/**
 * The cost of a candidate, for the tie-break between equal goodputs: lower is leaner. In order: GPUs
 * the model is split over (tensor parallel), the share of GPU memory claimed, KV cache bytes per
 * element (fp8 before the model's dtype), max_model_len, max_num_seqs, max_num_batched_tokens, the draft
 * model (off before on), then the search order.
 */
export function costKey(c: Candidate, hw: Hardware): number[] {
  const s = c.settings;
  return [
    s.tensor_parallel,
    s.gpu_memory_utilization ?? DEFAULTS.gpu_memory_utilization,
    s.kv_cache_dtype?.startsWith("fp8") ? 1 : 2,
    s.max_model_len ?? hw.maxPositionEmbeddings ?? Number.MAX_SAFE_INTEGER,
    s.max_num_seqs ?? DEFAULTS.max_num_seqs,
    s.max_num_batched_tokens ?? DEFAULTS.max_num_batched_tokens,
    s.speculative ? 1 : 0,
    c.index,
  ];
}

export function compareCost(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++)
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}
