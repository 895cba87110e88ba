import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { findGpuType } from "../../../src/config/gpus.js";
import { modelShape, type ModelShape } from "../../../src/fit/model.js";
import {
  checkFit,
  describeFit,
  gpuLabel,
  kvBytesPerToken,
  servingOptions,
  suggestGpus,
  type GpuChoice,
} from "../../../src/fit/fit.js";

const FIXTURES = new URL("../../fixtures/hf/", import.meta.url);

/** config.json and the summed *.safetensors sizes of a recorded Hub repo */
function recorded(repo: string): { shape: ModelShape; weights: number } {
  const config = JSON.parse(readFileSync(new URL(`${repo}/config.json`, FIXTURES), "utf8"));
  const tree = JSON.parse(readFileSync(new URL(`${repo}/tree.json`, FIXTURES), "utf8")) as {
    path: string;
    size: number;
  }[];
  const shape = modelShape(config);
  assert.ok(!("problem" in shape));
  return { shape, weights: tree.filter((f) => f.path.endsWith(".safetensors")).reduce((a, f) => a + f.size, 0) };
}

function gpu(name: string, count: number, partition?: string): GpuChoice {
  return { type: findGpuType(name)!, count, partition };
}

const within = (actual: number, published: number, tolerance = 0.02) =>
  assert.ok(
    Math.abs(actual - published) / published <= tolerance,
    `${actual} is not within ${tolerance * 100}% of ${published}`,
  );

test("weight bytes match the published model sizes within 2%", () => {
  within(recorded("Qwen/Qwen3-0.6B").weights, 1.5e9); // 751.6M params in bf16
  within(recorded("meta-llama/Llama-3.1-8B-Instruct").weights, 16.1e9); // 8.03B params in bf16
  within(recorded("meta-llama/Llama-3.1-70B-Instruct").weights, 141.1e9); // 70.55B params in bf16
});

test("model shape from config.json: GQA heads, head_dim, context, dtype", () => {
  assert.deepEqual(recorded("Qwen/Qwen3-0.6B").shape, {
    layers: 28,
    attentionHeads: 16,
    kvHeads: 8,
    headDim: 128,
    dtype: "bfloat16",
    maxPositionEmbeddings: 40960,
  });
  const llama = recorded("meta-llama/Llama-3.1-8B-Instruct").shape;
  assert.equal(llama.headDim, 4096 / 32);
  assert.equal(llama.maxPositionEmbeddings, 131072); // llama3 rope scaling is already in max_position_embeddings
  // yarn scaling multiplies the context, as vLLM derives it
  const yarn = modelShape({
    num_hidden_layers: 28,
    num_attention_heads: 28,
    num_key_value_heads: 4,
    hidden_size: 3584,
    max_position_embeddings: 32768,
    rope_scaling: { type: "yarn", factor: 4, original_max_position_embeddings: 32768 },
  });
  assert.equal("problem" in yarn ? 0 : yarn.maxPositionEmbeddings, 131072);
  assert.deepEqual(modelShape({ model_type: "mystery" }), {
    problem: "config.json has no num_hidden_layers / num_attention_heads / hidden_size",
  });
});

test("KV cache per token: 2 × layers × KV heads × head_dim × bytes, split by tensor parallelism", () => {
  const llama8 = recorded("meta-llama/Llama-3.1-8B-Instruct").shape;
  assert.equal(kvBytesPerToken(llama8, 1, 1, 2), 2 * 32 * 8 * 128 * 2); // 128 KiB
  assert.equal(kvBytesPerToken(llama8, 2, 1, 2), 2 * 32 * 4 * 128 * 2);
  assert.equal(kvBytesPerToken(llama8, 16, 1, 2), 2 * 32 * 1 * 128 * 2); // fewer KV heads than ranks: one per rank
  assert.equal(kvBytesPerToken(llama8, 1, 1, 1), 2 * 32 * 8 * 128); // fp8 KV cache
  assert.equal(kvBytesPerToken(llama8, 1, 2, 2), 2 * 16 * 8 * 128 * 2); // pipeline stages split the layers
  // DeepSeek-V3 (MLA): one latent vector of kv_lora_rank + rope dims per layer, not split by TP
  const ds = modelShape({
    num_hidden_layers: 61,
    num_attention_heads: 128,
    num_key_value_heads: 128,
    hidden_size: 7168,
    kv_lora_rank: 512,
    qk_rope_head_dim: 64,
    torch_dtype: "bfloat16",
    max_position_embeddings: 163840,
    quantization_config: { quant_method: "fp8" },
  });
  assert.ok(!("problem" in ds));
  assert.equal(ds.quantization, "fp8");
  assert.equal(kvBytesPerToken(ds, 8, 1, 2), 61 * 576 * 2);
});

test("serving options come from the serve argv as vLLM parses them", () => {
  assert.deepEqual(
    servingOptions([
      "m",
      "--max-model-len=32k",
      "--gpu_memory_utilization",
      "0.95",
      "-tp",
      "2",
      "--kv-cache-dtype",
      "fp8",
    ]),
    {
      gpuMemoryUtilization: 0.95,
      maxModelLen: 32000,
      tensorParallel: 2,
      pipelineParallel: 1,
      kvCacheDtype: "fp8",
      dtype: undefined,
    },
  );
  assert.equal(servingOptions(["--max-model-len", "32K"]).maxModelLen, 32768);
  assert.deepEqual(servingOptions(["m", "--port", "8000"]), {
    gpuMemoryUtilization: 0.9,
    maxModelLen: undefined,
    tensorParallel: 1,
    pipelineParallel: 1,
    kvCacheDtype: undefined,
    dtype: undefined,
  });
});

test("Llama-3.1-70B in bf16 does not fit one H100; H100:2 holds the weights, H100:4 the whole context", () => {
  const { shape, weights } = recorded("meta-llama/Llama-3.1-70B-Instruct");
  const serving = servingOptions([]);
  const r = checkFit(shape, weights, gpu("H100", 1), serving);
  assert.equal(r.fits, false);
  assert.equal(r.kvCacheBytesPerGpu, 0);
  const s = suggestGpus(shape, weights, serving, findGpuType("H100"));
  assert.equal(gpuLabel(s.fits!), "H100:2");
  assert.equal(gpuLabel(s.fullContext!), "H100:4");
  const m = describeFit("meta-llama/Llama-3.1-70B-Instruct", shape, r, gpu("H100", 1), serving, s);
  assert.equal(
    m.error?.message,
    "meta-llama/Llama-3.1-70B-Instruct in bf16 needs ~141.1 GB of weights; H100:1 gives vLLM 77.0 GB per GPU (0.9 × 85.5 GB), which leaves no room for a KV cache of 2048 tokens",
  );
  assert.equal(m.error?.hint, "use H100:2 or more (H100:4 holds the whole 131072-token context)");

  const two = checkFit(shape, weights, gpu("H100", 2), { ...serving, tensorParallel: 2 });
  assert.equal(two.fits, true);
  assert.equal(two.contextFits, false);
  assert.equal(two.kvBytesPerToken, 2 * 80 * 4 * 128 * 2);
  assert.equal(two.maxTokens, 26046);
});

test("Llama-3.1-8B on one L4 fits but its 131072-token context does not: a warning with the length that fits", () => {
  const { shape, weights } = recorded("meta-llama/Llama-3.1-8B-Instruct");
  const serving = servingOptions([]);
  const r = checkFit(shape, weights, gpu("L4", 1), serving);
  assert.equal(r.fits, true);
  assert.equal(r.contextFits, false);
  assert.equal(r.maxTokens, 26928);
  const m = describeFit(
    "meta-llama/Llama-3.1-8B-Instruct",
    shape,
    r,
    gpu("L4", 1),
    serving,
    suggestGpus(shape, weights, serving, findGpuType("L4")),
  );
  assert.equal(m.error, undefined);
  assert.equal(
    m.warning?.message,
    "max_model_len 131072 (from config.json) exceeds what the KV cache holds on L4:1: 26928 tokens; vLLM refuses to start",
  );
  assert.equal(m.warning?.hint, "add --max-model-len 26624 to extra_args, or use L4:2");
  // with --max-model-len 16384 it fits whole
  assert.equal(checkFit(shape, weights, gpu("L4", 1), servingOptions(["--max-model-len", "16384"])).contextFits, true);
  // a lower utilization leaves less room
  assert.ok(
    checkFit(shape, weights, gpu("L4", 1), servingOptions(["--gpu-memory-utilization", "0.8"])).maxTokens < r.maxTokens,
  );
});

test("Qwen3-0.6B fits a T4 and a 1g.10gb MIG slice with its whole 40960-token context", () => {
  const { shape, weights } = recorded("Qwen/Qwen3-0.6B");
  const serving = servingOptions([]);
  for (const g of [gpu("T4", 1), gpu("A100 80G", 1, "1g.10gb")]) {
    const r = checkFit(shape, weights, g, serving);
    assert.equal(r.fits && r.contextFits, true, gpuLabel(g));
    assert.deepEqual(describeFit("Qwen/Qwen3-0.6B", shape, r, g, serving, {}).error, undefined);
  }
  assert.equal(checkFit(shape, weights, gpu("A100 80G", 1, "1g.10gb"), serving).deviceBytes, 10e9);
});

test("a model too big for 8 of the requested type points to a larger GPU", () => {
  const shape: ModelShape = {
    layers: 126,
    attentionHeads: 128,
    kvHeads: 8,
    headDim: 128,
    dtype: "bfloat16",
    maxPositionEmbeddings: 131072,
  };
  const weights = 811e9; // Llama-3.1-405B in bf16
  const s = suggestGpus(shape, weights, servingOptions([]), findGpuType("H100"));
  assert.equal(gpuLabel(s.fits!), "H200:8");
});
