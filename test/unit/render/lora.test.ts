/** lora: (src/render/lora.ts): vLLM's flags from the adapters, and an adapter trained on another base model. */
import { test } from "node:test";
import assert from "node:assert/strict";

test("lora: flags from the adapters (rank rounded up to vLLM's choices), owned flags in extra_args are errors", async () => {
  const { planLora, roundRank } = await import("../../../src/render/lora.ts");
  const { appConfigSchema } = await import("../../../src/config/schema.ts");
  const z = await import("zod/mini");
  const app = z.parse(appConfigSchema, {
    name: "m",
    model_hf_path: "meta-llama/Llama-3.1-8B-Instruct",
    lora: {
      adapters: [
        { name: "sql", source: "org/sql-lora" },
        { name: "ft", source: "s3://b/ft/" },
      ],
    },
  });
  const p = planLora(
    app,
    "llama",
    "kubernetes",
    new Set(),
    new Map([
      ["sql", 12],
      ["ft", 8],
    ]),
  );
  assert.deepEqual(p.problems, []);
  assert.deepEqual(p.args, [
    "--enable-lora",
    "--max-loras",
    "2",
    "--max-lora-rank",
    "16",
    "--lora-modules",
    '{"name":"sql","path":"org/sql-lora","base_model_name":"llama"}',
    '{"name":"ft","path":"/cache/adapters/ft","base_model_name":"llama"}',
  ]);
  assert.equal(roundRank(33), 64);
  const tooSmall = planLora(
    z.parse(appConfigSchema, { ...app, lora: { ...app.lora, max_rank: 8 } }),
    "llama",
    "kubernetes",
    new Set(["--lora-modules"]),
    new Map([["sql", 12]]),
  );
  assert.deepEqual(
    tooSmall.problems.map((x) => x.message),
    [
      "--lora-modules is set by vllmapp from lora:; remove it from extra_args",
      "max_rank 8 is below the rank of sql (r=12): vLLM refuses to load it",
    ],
  );
  const dyn = planLora(z.parse(appConfigSchema, { ...app, lora: { dynamic: true } }), "llama", "kubernetes", new Set());
  assert.deepEqual(
    [dyn.args, dyn.env],
    [["--enable-lora", "--max-loras", "1"], [["VLLM_ALLOW_RUNTIME_LORA_UPDATING", "True"]]],
  );
});

test("lora: an adapter trained on another base model is reported", async () => {
  const { baseModelMismatch } = await import("../../../src/models/resolve.ts");
  const hf = { kind: "hf", repo: "meta-llama/Llama-3.1-8B-Instruct" } as const;
  assert.equal(baseModelMismatch("meta-llama/Llama-3.1-8B-Instruct", hf), undefined);
  assert.equal(baseModelMismatch("/data/models/Llama-3.1-8B-Instruct", hf), undefined);
  assert.equal(
    baseModelMismatch("Qwen/Qwen3-8B", hf),
    "it was trained on Qwen/Qwen3-8B, and the app serves meta-llama/Llama-3.1-8B-Instruct",
  );
  assert.equal(baseModelMismatch("tiny-llama", { kind: "path", path: "/models/tiny-llama" }), undefined);
});

test("lora: --max-lora-rank with no rank known (vLLM's default, a note), one above vLLM's largest (an error), under max_rank (no error)", async () => {
  const { planLora } = await import("../../../src/render/lora.ts");
  const { appConfigSchema } = await import("../../../src/config/schema.ts");
  const z = await import("zod/mini");
  const app = (lora: Record<string, unknown>) =>
    z.parse(appConfigSchema, {
      name: "m",
      model_hf_path: "org/base",
      lora: { adapters: [{ name: "a", source: "org/a" }], ...lora },
    });
  const unknown = planLora(app({}), "m", "kubernetes", new Set());
  assert.deepEqual(unknown.args.slice(0, 3), ["--enable-lora", "--max-loras", "1"]);
  assert.equal(unknown.args.includes("--max-lora-rank"), false);
  assert.deepEqual(
    unknown.problems.map((p) => [p.path.join("."), p.severity]),
    [["lora", "note"]],
  );
  const huge = planLora(app({}), "m", "kubernetes", new Set(), new Map([["a", 1024]]));
  assert.equal(huge.args.includes("--max-lora-rank"), false);
  assert.deepEqual(
    huge.problems.map((p) => p.message),
    ["an adapter has rank 1024, above vLLM's largest --max-lora-rank (512)"],
  );
  const fits = planLora(app({ max_rank: 64, max_cpu_loras: 3 }), "m", "docker", new Set(), new Map([["a", 16]]));
  assert.deepEqual(fits.problems, []);
  assert.deepEqual(fits.args, [
    "--enable-lora",
    "--max-loras",
    "1",
    "--max-lora-rank",
    "64",
    "--max-cpu-loras",
    "3",
    "--lora-modules",
    '{"name":"a","path":"org/a","base_model_name":"m"}',
  ]);
});
