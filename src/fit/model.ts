/**
 * What the fit check needs from a model's config.json: its attention shape (for the KV cache), its
 * dtype, its quantization and its longest context. Pure.
 */

export interface ModelShape {
  layers: number;
  attentionHeads: number;
  kvHeads: number;
  headDim: number;
  /** torch dtype of activations and (by default) the KV cache, e.g. "bfloat16" */
  dtype: string;
  /** quantization_config.quant_method, e.g. "awq", "gptq", "fp8" */
  quantization?: string;
  /** the context vLLM serves when --max-model-len is not given */
  maxPositionEmbeddings?: number;
  /** multi-head latent attention (DeepSeek V2/V3): one compressed KV vector per token and layer */
  mla?: { kvLoraRank: number; ropeHeadDim: number };
}

type Json = Record<string, unknown>;

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

const LENGTH_KEYS = [
  "max_position_embeddings",
  "n_positions",
  "max_seq_len",
  "seq_length",
  "max_sequence_length",
  "max_target_positions",
  "model_max_length",
];

/** vLLM's derived max_model_len: the config's length, times the rope scaling factor except for llama3/longrope. */
function maxLength(c: Json): number | undefined {
  const base = LENGTH_KEYS.map((k) => num(c[k])).find((v) => v !== undefined);
  if (base === undefined) return undefined;
  const rope = c.rope_scaling as Json | null | undefined;
  const type = String(rope?.rope_type ?? rope?.type ?? "");
  const factor = num(rope?.factor);
  if (factor && !["llama3", "su", "longrope", "default", "mrope"].includes(type)) return Math.floor(base * factor);
  return base;
}

/** The model's shape from config.json, or a message saying what is missing. */
export function modelShape(config: Json): ModelShape | { problem: string } {
  // multimodal configs keep the language model under text_config / llm_config
  const c = (config.text_config ?? config.llm_config ?? config) as Json;
  const layers = num(c.num_hidden_layers) ?? num(c.n_layer) ?? num(c.num_layers);
  const heads = num(c.num_attention_heads) ?? num(c.n_head);
  const hidden = num(c.hidden_size) ?? num(c.n_embd) ?? num(c.d_model);
  if (layers === undefined || heads === undefined || hidden === undefined) {
    return { problem: "config.json has no num_hidden_layers / num_attention_heads / hidden_size" };
  }
  const quant = (config.quantization_config ?? c.quantization_config) as Json | undefined;
  const kvLoraRank = num(c.kv_lora_rank);
  return {
    layers,
    attentionHeads: heads,
    kvHeads: num(c.num_key_value_heads) ?? num(c.multi_query_group_num) ?? heads,
    headDim: num(c.head_dim) ?? hidden / heads,
    dtype: String(c.torch_dtype ?? c.dtype ?? config.torch_dtype ?? config.dtype ?? "bfloat16"),
    ...(typeof quant?.quant_method === "string" ? { quantization: quant.quant_method } : {}),
    ...(maxLength(c) !== undefined ? { maxPositionEmbeddings: maxLength(c) } : {}),
    ...(kvLoraRank !== undefined ? { mla: { kvLoraRank, ropeHeadDim: num(c.qk_rope_head_dim) ?? 64 } } : {}),
  };
}

const DTYPE_BYTES: Record<string, number> = {
  float32: 4,
  float: 4,
  fp32: 4,
  bfloat16: 2,
  bf16: 2,
  float16: 2,
  fp16: 2,
  half: 2,
  fp8: 1,
  fp8_e4m3: 1,
  fp8_e5m2: 1,
  fp8_inc: 1,
  fp8_ds_mla: 1,
  int8: 1,
};

/**
 * Bytes of one KV cache element: `--kv-cache-dtype` when set (fp8*), else the served dtype
 * (`--dtype`, else the model's; vLLM serves float32 checkpoints in bfloat16).
 */
export function kvElementBytes(shape: ModelShape, kvCacheDtype?: string, dtype?: string): number {
  if (kvCacheDtype && kvCacheDtype !== "auto")
    return DTYPE_BYTES[kvCacheDtype] ?? (kvCacheDtype.startsWith("fp8") ? 1 : 2);
  const served = dtype && dtype !== "auto" ? dtype : shape.dtype;
  return Math.min(2, DTYPE_BYTES[served] ?? 2);
}
