// Values vLLM refuses at start-up from static rules of its release (catalog value_rules and registered
// names, read from the release by extract.py), and repeated flags.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { validateExtraArgs } from "../../../src/vllm/serve-args.ts";
import { startupProblems } from "../../../src/vllm/serve-values.ts";
import { ROOT } from "../../support/cli.ts";

const on = (version: string, args: string[], strict = true) => {
  const checked = validateExtraArgs(
    args.map((value, i) => ({ value, path: ["extra_args", i] })),
    strict,
    { version },
  );
  assert.deepEqual(
    checked.problems.filter((p) => p.severity === "error"),
    [],
    "the parser accepts these",
  );
  return startupProblems(checked, version, strict).map((p) => `${p.severity}: ${p.message}`);
};

test("a number outside its config field's bounds is refused, naming the rule", () => {
  assert.deepEqual(on("0.34.0", ["--gpu-memory-utilization", "1.5"]), [
    "error: --gpu-memory-utilization 1.5: vLLM 0.34.0 refuses it at start-up: CacheConfig.gpu_memory_utilization must be > 0 and ≤ 1",
  ]);
  assert.deepEqual(on("0.34.0", ["--gpu-memory-utilization", "0.9"]), []);
  assert.match(on("0.34.0", ["--max-num-seqs", "0"])[0]!, /SchedulerConfig\.max_num_seqs must be ≥ 1/);
  assert.match(on("0.34.0", ["--gpu-memory-utilization", "1.5"], false)[0]!, /^warning: /);
});

test("a parser, quantization or attention backend name the release does not register is refused, with close names", () => {
  const [r] = on("0.34.0", ["--reasoning-parser", "qwen"]);
  assert.match(
    r!,
    /^error: --reasoning-parser "qwen": vLLM 0\.34\.0 has no such name in ReasoningParserManager \(close: [^)]*qwen3[^)]*\), so the server fails at start-up$/,
  );
  assert.ok(r!.length < 300, r);
  assert.deepEqual(on("0.34.0", ["--reasoning-parser", "qwen3"]), []);
  assert.match(
    on("0.34.0", ["--reasoning-parser", "mine", "--reasoning-parser-plugin", "/p.py"])[0]!,
    /^warning: .*unless --reasoning-parser-plugin registers it/,
  );
  assert.match(
    on("0.34.0", ["--quantization", "fp9"])[0]!,
    /^error: --quantization "fp9": .*QUANTIZATION_METHODS \(close: fp8/,
  );
  assert.deepEqual(on("0.34.0", ["--quantization", "fp8", "--attention-backend", "flash_attn"]), []);
  assert.match(on("0.34.0", ["--attention-backend", "FLASH_ATN"])[0]!, /AttentionBackendEnum \(close: FLASH_ATTN/);
});

test("a flag given twice is a warning: the last value wins", () => {
  assert.deepEqual(on("0.34.0", ["--max-model-len", "8192", "--max-model-len", "16384"]), [
    "warning: --max-model-len is given twice (also at extra_args.0); vLLM 0.34.0 uses the last (16384) and ignores the first",
  ]);
  assert.deepEqual(on("0.34.0", ["--middleware", "a.b", "--middleware", "c.d"]), []);
});

test("a config enum given by its member name, as vLLM's docs write it, is accepted where the release accepts it; a wrong name gets close names, not the list", () => {
  const problems = (version: string, args: string[]) =>
    validateExtraArgs(
      args.map((value, i) => ({ value, path: ["extra_args", i] })),
      true,
      { version },
    ).problems;
  const errors = (version: string, args: string[]) =>
    problems(version, args)
      .filter((p) => p.severity === "error")
      .map((p) => p.message);
  assert.deepEqual(errors("0.34.0", ["--attention-config", '{"backend": "FLASH_ATTN"}']), []);
  assert.deepEqual(problems("0.34.0", ["--attention-config", '{"backend": "flash_attn"}']), []);
  assert.deepEqual(errors("0.34.0", ["--compilation-config", '{"mode": "vllm_compile"}']), []);
  assert.deepEqual(errors("0.19.0", ["-cc.mode", "VLLM_COMPILE"]), []);
  assert.deepEqual(errors("0.34.0", ["--compilation-config", '{"cudagraph_mode": "FULL_AND_PIECEWISE"}']), []);
  assert.deepEqual(errors("0.34.0", ["--attention-config", '{"backend": "FLASH_ATN"}']), [
    '--attention-config: AttentionConfig: backend: "FLASH_ATN" is not one of its 52 names',
  ]);
  assert.deepEqual(errors("0.34.0", ["--compilation-config", '{"mode": "vllm_compil"}']), [
    '--compilation-config: CompilationConfig: mode: "vllm_compil" is not one of its 4 names (close: VLLM_COMPILE)',
  ]);
  // a value that is not a name at all keeps the schema's refusal, in a few words
  const [m] = errors("0.34.0", ["--attention-config", '{"backend": 7}']);
  assert.ok(m && m.length < 400, m);
});

// test/vllm-catalog/values/<v>.json: the release's own config classes' verdicts on each bounded flag's values
// at and beyond its bounds (extract.py value_rules). A refusal for another reason (the class built without a
// model) says nothing about the value and is left out; what is left must be vllmapp's verdict too.
const BOUND_ERROR =
  /\[type=(greater_than|greater_than_equal|less_than|less_than_equal|int_from_float|int_parsing|float_parsing|multiple_of|finite_number)\b/;

test("bounded values: vllmapp's verdict is the release's own config class's, for every release with value checks", () => {
  const dir = path.join(ROOT, "test/vllm-catalog/values");
  const files = readdirSync(dir).filter((f) => f.endsWith(".json"));
  assert.ok(files.length >= 3, "value checks of 0.19.0, 0.33.0 and 0.34.0 at least");
  let refusals = 0; // 0.11.0's config classes declare no bounds: no checks
  for (const f of files) {
    const doc = JSON.parse(readFileSync(path.join(dir, f), "utf8")) as {
      vllm_version: string;
      checks: { flag: string; value: number; error: string | null }[];
    };
    const version = doc.vllm_version;
    const decided = doc.checks.filter((c) => c.error === null || BOUND_ERROR.test(c.error));
    refusals += decided.filter((c) => c.error).length;
    for (const c of decided) {
      const args = [c.flag, String(c.value)];
      const checked = validateExtraArgs(
        args.map((value, i) => ({ value, path: ["extra_args", i] })),
        true,
        { version },
      );
      const errors = [...checked.problems, ...startupProblems(checked, version, true)].filter(
        (p) => p.severity === "error",
      );
      assert.equal(
        errors.length > 0,
        c.error !== null,
        `${version} ${args.join(" ")}: vLLM ${c.error ? `refuses (${c.error.slice(0, 120)})` : "accepts"}, vllmapp ${errors[0]?.message ?? "accepts"}`,
      );
    }
  }
  assert.ok(refusals >= 100, `refusals to compare with: ${refusals}`);
});
