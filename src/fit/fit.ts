/**
 * The fit check: do the model's weights and a useful KV cache fit the GPUs the app asks for?
 * Pure: config.json facts, weight bytes and the serve argv in, numbers and messages out.
 *
 * Per GPU, vLLM may use `device memory × --gpu-memory-utilization` (default 0.9). Out of that come the
 * weights (divided by tensor × pipeline parallelism), a fixed allowance for activations, CUDA graphs and
 * NCCL buffers (OVERHEAD_BYTES), and what is left holds the KV cache. A model "fits" when that leaves room
 * for at least MIN_CONTEXT tokens; `max_model_len` beyond what the KV cache holds is a warning.
 */
import { GPU_TYPES, type GpuType } from "../config/gpus.js";
import { kvElementBytes, type ModelShape } from "./model.js";

const GiB = 2 ** 30;
export const OVERHEAD_BYTES = 2 * GiB;
export const MIN_CONTEXT = 2048;
export const DEFAULT_UTILIZATION = 0.9;

/**
 * Memory of one device as the driver reports it (nvidia-smi memory.total, MiB): what vLLM's
 * utilization fraction multiplies. Types not listed use the catalog's memoryGB.
 */
const DEVICE_MIB: Record<string, number> = {
  T4: 15360,
  V100: 16160,
  A10: 23028,
  A10G: 23028,
  L4: 23034,
  A40: 46068,
  L40: 46068,
  L40s: 46068,
  A100: 40960,
  A100_80G: 81920,
  H100: 81559,
  "H100 NVL": 95830,
  H200: 143771,
  GH200: 97871,
  B200: 183359,
  RTX_PRO_6000: 97887,
  MI300X: 196608,
};

/** Bytes of one device, or of one MIG slice (the profile names its memory: 1g.10gb = 10 GB). */
export function deviceBytes(type: GpuType, partition?: string): number {
  const mig = partition && /\.(\d+)gb$/.exec(partition);
  if (mig) return Number(mig[1]) * 1e9;
  const mib = DEVICE_MIB[type.name];
  return mib ? mib * 2 ** 20 : type.memoryGB * 1e9;
}

export interface ServingOptions {
  gpuMemoryUtilization: number;
  maxModelLen?: number;
  tensorParallel: number;
  pipelineParallel: number;
  kvCacheDtype?: string;
  dtype?: string;
}

/** vLLM's human-readable ints: 8192, 32k (×1000), 32K (×1024), 1m, 1M. */
function humanInt(v: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(v);
  if (!m) return undefined;
  const scale: Record<string, number> = { "": 1, k: 1e3, m: 1e6, g: 1e9, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 };
  return Math.round(Number(m[1]) * scale[m[2]!]!);
}

/** The serving options the fit depends on, read from the rendered `vllm serve` argv. */
export function servingOptions(args: readonly string[]): ServingOptions {
  const values = new Map<string, string>();
  const alias: Record<string, string> = { "-tp": "--tensor-parallel-size", "-pp": "--pipeline-parallel-size" };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith("-")) continue;
    const eq = a.indexOf("=");
    const raw = eq >= 0 ? a.slice(0, eq) : a;
    const name = alias[raw] ?? raw.replace(/_/g, "-");
    const value = eq >= 0 ? a.slice(eq + 1) : args[i + 1];
    if (value !== undefined) values.set(name, value);
  }
  const int = (k: string) => {
    const v = values.get(k);
    return v === undefined ? undefined : humanInt(v);
  };
  const util = Number(values.get("--gpu-memory-utilization"));
  return {
    gpuMemoryUtilization: util > 0 && util <= 1 ? util : DEFAULT_UTILIZATION,
    maxModelLen: int("--max-model-len"),
    tensorParallel: int("--tensor-parallel-size") ?? 1,
    pipelineParallel: int("--pipeline-parallel-size") ?? 1,
    kvCacheDtype: values.get("--kv-cache-dtype"),
    dtype: values.get("--dtype"),
  };
}

export interface GpuChoice {
  type: GpuType;
  count: number;
  partition?: string;
}

export function gpuLabel(g: GpuChoice): string {
  return g.partition ? `${g.type.name} ${g.partition}:${g.count}` : `${g.type.name}:${g.count}`;
}

export interface FitResult {
  fits: boolean;
  /** true when the KV cache holds max_model_len tokens */
  contextFits: boolean;
  weightBytes: number;
  weightBytesPerGpu: number;
  deviceBytes: number;
  budgetPerGpu: number;
  kvCacheBytesPerGpu: number;
  /** KV cache bytes one token takes on one GPU */
  kvBytesPerToken: number;
  /** tokens the KV cache holds (over all sequences) */
  maxTokens: number;
  /** --max-model-len, else the model's own context */
  maxModelLen: number;
  maxModelLenSource: "--max-model-len" | "config.json";
}

/** KV cache bytes per token on one GPU under tensor parallelism tp and pipeline parallelism pp. */
export function kvBytesPerToken(shape: ModelShape, tp: number, pp: number, elementBytes: number): number {
  const layers = Math.ceil(shape.layers / pp);
  if (shape.mla) return layers * (shape.mla.kvLoraRank + shape.mla.ropeHeadDim) * elementBytes;
  // KV heads are split across tensor-parallel ranks; with fewer heads than ranks each rank keeps one
  const heads = Math.max(1, Math.ceil(shape.kvHeads / tp));
  return 2 * layers * heads * shape.headDim * elementBytes;
}

export function checkFit(shape: ModelShape, weightBytes: number, gpu: GpuChoice, serving: ServingOptions): FitResult {
  const device = deviceBytes(gpu.type, gpu.partition);
  const ranks = serving.tensorParallel * serving.pipelineParallel;
  const budget = Math.floor(device * serving.gpuMemoryUtilization);
  const weightsPerGpu = Math.ceil(weightBytes / ranks);
  const kvRoom = Math.max(0, budget - weightsPerGpu - OVERHEAD_BYTES);
  const perToken = kvBytesPerToken(
    shape,
    serving.tensorParallel,
    serving.pipelineParallel,
    kvElementBytes(shape, serving.kvCacheDtype, serving.dtype),
  );
  const maxTokens = Math.floor(kvRoom / perToken);
  const maxModelLen = serving.maxModelLen ?? shape.maxPositionEmbeddings ?? MIN_CONTEXT;
  return {
    fits: maxTokens >= Math.min(MIN_CONTEXT, maxModelLen),
    contextFits: maxTokens >= maxModelLen,
    weightBytes,
    weightBytesPerGpu: weightsPerGpu,
    deviceBytes: device,
    budgetPerGpu: budget,
    kvCacheBytesPerGpu: kvRoom,
    kvBytesPerToken: perToken,
    maxTokens,
    maxModelLen,
    maxModelLenSource: serving.maxModelLen !== undefined ? "--max-model-len" : "config.json",
  };
}

/** Tensor-parallel sizes vLLM accepts for this model: divide the attention heads; KV heads divide or are divided. */
function validTp(shape: ModelShape, tp: number): boolean {
  return shape.attentionHeads % tp === 0 && (shape.kvHeads % tp === 0 || tp % shape.kvHeads === 0);
}

const COUNTS = [1, 2, 4, 8];

export interface Suggestion {
  /** smallest GPUs the weights fit on */
  fits?: GpuChoice;
  /** smallest GPUs whose KV cache also holds the whole max_model_len */
  fullContext?: GpuChoice;
}

/**
 * The smallest count of `prefer` (whole GPUs, tensor parallel) that fits, else the smallest catalog GPU
 * (by memory) that fits on at most 8; the same for the full context.
 */
export function suggestGpus(
  shape: ModelShape,
  weightBytes: number,
  serving: ServingOptions,
  prefer?: GpuType,
): Suggestion {
  const candidates = (type: GpuType) =>
    COUNTS.filter((n) => validTp(shape, n)).map((count) => {
      const r = checkFit(
        shape,
        weightBytes,
        { type, count },
        { ...serving, tensorParallel: count, pipelineParallel: 1 },
      );
      return { choice: { type, count }, r };
    });
  const byMemory = GPU_TYPES.filter((t) => !t.noSuggest).sort((a, b) => deviceBytes(a) - deviceBytes(b));
  const pick = (ok: (r: FitResult) => boolean): GpuChoice | undefined => {
    for (const type of prefer
      ? [prefer, ...byMemory.filter((t) => t !== prefer && deviceBytes(t) > deviceBytes(prefer))]
      : byMemory) {
      const hit = candidates(type).find((c) => ok(c.r));
      if (hit) return hit.choice;
    }
    return undefined;
  };
  return { fits: pick((r) => r.fits), fullContext: pick((r) => r.contextFits) };
}

export function gb(bytes: number): string {
  return `${(bytes / 1e9).toFixed(1)} GB`;
}

export interface FitMessages {
  error?: { message: string; hint?: string };
  warning?: { message: string; hint?: string };
  summary: string;
}

/** What the user reads: an error when it cannot fit, a warning when max_model_len is too long, a summary line. */
export function describeFit(
  model: string,
  shape: ModelShape,
  r: FitResult,
  gpu: GpuChoice,
  serving: ServingOptions,
  s: Suggestion,
): FitMessages {
  const precision = shape.quantization ?? shape.dtype.replace("bfloat16", "bf16").replace("float16", "fp16");
  const label = gpuLabel(gpu);
  const perGpu = gpu.count > 1 ? `${gb(r.weightBytesPerGpu)} per GPU` : gb(r.weightBytesPerGpu);
  const budget = `${gb(r.budgetPerGpu)} per GPU (${serving.gpuMemoryUtilization} × ${gb(r.deviceBytes)})`;
  const summary = `${model} (${precision}): weights ${gb(r.weightBytes)}${gpu.count > 1 ? ` (${perGpu})` : ""}; ${label} gives vLLM ${budget}; KV cache ${gb(r.kvCacheBytesPerGpu)} per GPU = ${r.maxTokens.toLocaleString("en-US")} tokens; max_model_len ${r.maxModelLen.toLocaleString("en-US")}`;
  const alt = (c?: GpuChoice) => (c ? gpuLabel(c) : undefined);
  if (!r.fits) {
    const need = `${model} in ${precision} needs ~${gb(r.weightBytes)} of weights${gpu.count > 1 ? ` (${perGpu})` : ""}`;
    const use = alt(s.fits);
    const full = alt(s.fullContext);
    return {
      summary,
      error: {
        message: `${need}; ${label} gives vLLM ${budget}, which leaves no room for a KV cache of ${Math.min(MIN_CONTEXT, r.maxModelLen)} tokens`,
        hint: use
          ? `use ${use} or more${full && full !== use ? ` (${full} holds the whole ${r.maxModelLen}-token context)` : ""}`
          : "no GPU in the catalog holds it on 8 devices: use a quantized variant of the model",
      },
    };
  }
  if (!r.contextFits) {
    const full = alt(s.fullContext);
    return {
      summary,
      warning: {
        message: `max_model_len ${r.maxModelLen} (from ${r.maxModelLenSource}) exceeds what the KV cache holds on ${label}: ${r.maxTokens} tokens; vLLM refuses to start`,
        hint: `add --max-model-len ${Math.floor(r.maxTokens / 1024) * 1024} to extra_args${full ? `, or use ${full}` : ""}`,
      },
    };
  }
  return { summary };
}
