import { test } from "node:test";
import assert from "node:assert/strict";
import { validateExtraArgs, substituteParameters } from "../../../src/vllm/serve-args.ts";
import { shellSplit } from "../../../src/text.ts";

const list = (a: string[]) => a.map((value, i) => ({ value, path: ["extra_args", i] as (string | number)[] }));
function problems(args: string[], strict = true): string[] {
  return validateExtraArgs(list(args), strict).problems.map(
    (p) => `${p.severity}: ${p.message}${p.hint ? ` | ${p.hint}` : ""}`,
  );
}

test("accepts what vLLM's parser accepts", () => {
  for (const args of [
    ["--max-model-len", "8192"],
    ["--max-model-len=8192"],
    ["--gpu_memory_utilization", "0.85"],
    ["--max-model-len", "32k"],
    ["--max-model-len", "auto"],
    ["-tp", "2"],
    ["--no-enable-prefix-caching"],
    ["--enable-chunked-prefill"],
    ["--compilation-config", '{"mode": 3, "cudagraph_capture_sizes": [1, 2, 4]}'],
    ["--compilation-config.mode", "3"],
    ["-O3"],
    ["-O", "2"],
    ["--dtype", "bfloat16"],
    ["--kv-cache-dtype", "fp8"],
    ["--allowed-origins", '["https://a.example"]'],
    ["--middleware", "a.b", "--middleware", "c.d"],
    ["--hf-token"],
    ["--quantization", "None"],
  ]) {
    assert.deepEqual(problems(args), [], args.join(" "));
  }
});

test("an unambiguous prefix is accepted with a note naming the full flag", () => {
  assert.deepEqual(problems(["--max-num-batched-token", "4096"]), [
    "note: --max-num-batched-token is accepted as an abbreviation of --max-num-batched-tokens | write --max-num-batched-tokens in full; a later vLLM flag could make the abbreviation ambiguous",
  ]);
});

test("unknown flags get a did-you-mean; removed and newer flags name the release", () => {
  assert.deepEqual(problems(["--max-model-length", "8192"]), [
    "error: unknown vllm serve flag --max-model-length; did you mean --max-model-len? | write --max-model-len (checked against vLLM 0.34.0)",
  ]);
  // --calculate-kv-scales: in 0.19, gone in 0.33
  const removed = validateExtraArgs(list(["--calculate-kv-scales"]), true, { version: "0.33.0" }).problems;
  assert.equal(removed.length, 1);
  assert.match(
    removed[0]!.message,
    /^--calculate-kv-scales was removed in vLLM 0\.\d+\.\d+ \(last in 0\.\d+\.\d+.*\); your image is 0\.33\.0$/,
  );
  // --disable-log-requests is back in 0.33 as the inverse of --enable-log-requests
  assert.deepEqual(validateExtraArgs(list(["--disable-log-requests"]), true, { version: "0.33.0" }).problems, []);
  // a flag added after 0.19
  const newer = validateExtraArgs(list(["--cohere-format"]), true, { version: "0.19.0" }).problems;
  assert.match(newer[0]!.message, /^--cohere-format needs vLLM ≥ 0\.\d+\.\d+; your image is 0\.19\.0$/);
});

test("values go through vLLM's type conversion, then its choices, then the config object's keys", () => {
  const v33 = (args: string[]) =>
    validateExtraArgs(list(args), true, { version: "0.33.0" }).problems.map((p) => `${p.severity}: ${p.message}`);
  assert.deepEqual(v33(["--max-model-len", "lots"]), [
    "error: --max-model-len: invalid human_readable_int value: 'lots'",
  ]);
  assert.match(v33(["--max-model-len", "1.5K"])[0]!, /Decimals are not allowed with binary suffixes/);
  assert.deepEqual(v33(["--max-model-len", "1_024"]), []);
  assert.deepEqual(v33(["--gpu-memory-utilization", "infinity"]), []);
  assert.deepEqual(v33(["--moe-backend", "TRITON"]), []);
  assert.deepEqual(v33(["--max-lora-rank", "016"]), []);
  assert.match(v33(["--dtype", "bf16"])[0]!, /^error: --dtype does not accept "bf16" \(choose from auto, bfloat16/);
  assert.match(v33(["--compilation-config.level", "3"])[0]!, /level is not a key of this config/);
  assert.match(v33(["--kv-transfer-config", '{"kv_connector": "X", "kv_role": "both"}'])[0]!, /kv_role must be one of/);
  assert.deepEqual(v33(['--kv-transfer-config={"kv_connector": "X", "kv_role": "kv_both"}']), []);
  assert.match(v33(["--allowed-origins", "*"])[0]!, /^error: --allowed-origins: not JSON/);
  assert.deepEqual(v33(["-qfp8", "-n2", "-e"]), []);
  assert.match(v33(["--help"])[0]!, /makes vLLM print its help and exit/);
  assert.match(v33(["-h"])[0]!, /makes vLLM print its help and exit/);
});

test("a value given to a switch names the right spelling", () => {
  assert.deepEqual(problems(["--enable-chunked-prefill=false"]), [
    'error: --enable-chunked-prefill is a switch and takes no value, got "--enable-chunked-prefill=false" | write --disable-chunked-prefill (the switch is --enable-chunked-prefill / --disable-chunked-prefill / --no-enable-chunked-prefill)',
  ]);
  assert.deepEqual(problems(["--enable-chunked-prefill", "false"]), [
    'error: unexpected argument "false": --enable-chunked-prefill is a switch and takes no value | write --enable-chunked-prefill alone',
  ]);
});

test("a list element holding a flag and its value is an error with the split list", () => {
  assert.deepEqual(problems(["--max-model-len 8192"]), [
    'error: "--max-model-len 8192" is one list element, so vLLM would receive it as a single argument | split it: ["--max-model-len","8192"]',
  ]);
});

test("flags vllmapp owns are errors for every image, pointing to the field", () => {
  for (const strict of [true, false]) {
    assert.deepEqual(problems(["--port", "9000"], strict), [
      "error: --port is set by vllmapp; use the port field instead | set port: in vllm-app.yaml",
    ]);
    assert.match(
      problems(["--served-model", "x"], strict)[0]!,
      /^error: --served-model-name is set by vllmapp; use the model_id field instead/,
    );
    assert.match(
      problems(["--api-key", "k1"], strict)[0]!,
      /^error: --api-key is set by vllmapp; use the requires_auth field instead/,
    );
    assert.match(problems(["--host=0.0.0.0"], strict)[0]!, /^error: --host is set by vllmapp/);
    assert.match(
      problems(["--model", "x/y"], strict)[0]!,
      /^error: --model is set by vllmapp; use the model_hf_path field instead/,
    );
  }
});

test("catalog problems are warnings for images whose release is not known", () => {
  assert.deepEqual(problems(["--brand-new-flag", "1"], false), [
    "warning: unknown vllm serve flag --brand-new-flag | see `vllm serve --help` for vLLM 0.34.0",
  ]);
});

test("positional arguments and ambiguous prefixes are errors; an ambiguous prefix lists the candidates", () => {
  assert.match(
    problems(["Qwen/Qwen3-0.6B"])[0]!,
    /^error: unexpected argument "Qwen\/Qwen3-0\.6B": extra_args holds flags and their values only/,
  );
  assert.match(problems(["--max", "1"])[0]!, /^error: --max is ambiguous in vLLM 0\.34\.0: it could be --max-/);
  assert.deepEqual(
    validateExtraArgs(list(["--max-num-s", "4"]), true, { version: "0.19.0" }).problems.filter(
      (p) => p.severity === "error",
    ),
    [],
  );
  assert.match(
    validateExtraArgs(list(["--max-num-s", "4"]), true, { version: "0.33.0" }).problems[0]!.message,
    /--max-num-s is ambiguous in vLLM 0\.33\.0: it could be .*--max-num-seqs/,
  );
});

test("the flags set are reported by canonical name, aliases included", () => {
  assert.deepEqual(
    [...validateExtraArgs(list(["-tp", "4", "--max_model_len=4096"]), true).flagsSet],
    ["--tensor-parallel-size", "--max-model-len"],
  );
});

test("string extra_args split like a POSIX shell; ${param} substitution", () => {
  assert.deepEqual(
    shellSplit(
      `--max-model-len 8192 --chat-template-content-format 'openai' --override-generation-config "{\\"temperature\\": 0.6}"`,
    ),
    [
      "--max-model-len",
      "8192",
      "--chat-template-content-format",
      "openai",
      "--override-generation-config",
      '{"temperature": 0.6}',
    ],
  );
  const { tokens, problems: p } = substituteParameters(
    list(["--max-model-len", "${ctx}", "--seed", "${sed}"]),
    new Map([
      ["ctx", "4096"],
      ["seed", "1"],
    ]),
  );
  assert.deepEqual(
    tokens.map((t) => t.value),
    ["--max-model-len", "4096", "--seed", "${sed}"],
  );
  assert.equal(p[0]!.message, "${sed} names no parameter; did you mean ${seed}?");
});

const on = (version: string, args: string[]) =>
  validateExtraArgs(list(args), true, { version }).problems.map((p) => `${p.severity}: ${p.message}`);

test("config objects: vLLM's own validators and cross-field rules, as the catalog recorded them", () => {
  // KVTransferConfig refuses a connector without a role, whatever the connector's name
  const noRole = on("0.33.0", ["--kv-transfer-config", '{"kv_connector": "NixlConnector"}']);
  assert.match(noRole.join("\n"), /^error: .*kv_connector needs kv_role/m);
  assert.deepEqual(
    on("0.33.0", ["--kv-transfer-config", '{"kv_connector": "NixlConnector", "kv_role": "kv_both"}']).filter((p) =>
      p.startsWith("error"),
    ),
    [],
  );
  assert.deepEqual(
    on("0.33.0", ["--kv-transfer-config.kv_connector=NixlConnector", "--kv-transfer-config.kv_role=kv_both"]).filter(
      (p) => p.startsWith("error"),
    ),
    [],
  );
  // the torch profiler directory only with the torch profiler
  assert.match(
    on("0.33.0", ["--profiler-config", '{"torch_profiler_dir": "/tmp/p"}']).join("\n"),
    /torch_profiler_dir needs profiler: "torch"/,
  );
  assert.deepEqual(
    on("0.33.0", ["--profiler-config", '{"profiler": "torch", "torch_profiler_dir": "/tmp/p"}']).filter((p) =>
      p.startsWith("error"),
    ),
    [],
  );
  // a pre-validator accepts a comma-separated string for a list field, which the JSON schema does not say
  assert.deepEqual(
    on("0.33.0", ["--ir-op-priority.rms_norm=vllm_c,native"]).filter((p) => p.startsWith("error")),
    [],
  );
  // a rule is applied only on the releases whose probes show it
  assert.deepEqual(
    on("0.19.0", [
      "--structured-outputs-config",
      '{"backend": "guidance", "disable_additional_properties": true}',
    ]).filter((p) => p.startsWith("error")),
    [],
  );
});

test("0.11: -O3, -O=3 and -O 3 set the compilation level; -Odecode is refused", () => {
  for (const args of [["-O3"], ["-O=3"], ["-O", "3"], ["-O.level=2"]])
    assert.deepEqual(
      on("0.11.0", args).filter((p) => p.startsWith("error")),
      [],
      args.join(" "),
    );
  assert.match(on("0.11.0", ["-Odecode"]).join("\n"), /^error: .*level/m);
});

test("a value outside a list the parser documents but does not enforce is a warning (a plugin may register it)", () => {
  const r = on("0.33.0", ["--tool-call-parser", "hermess"]);
  assert.deepEqual(
    r.filter((p) => p.startsWith("error")),
    [],
  );
  assert.match(
    r.join("\n"),
    /^warning: --tool-call-parser: "hermess" is not a built-in value \(did you mean "hermes"\?\); vLLM 0\.33\.0 accepts it only if a plugin registers it/m,
  );
  assert.deepEqual(on("0.33.0", ["--tool-call-parser", "hermes"]), []);
  assert.deepEqual(
    on("0.33.0", ["--load-format", "my_plugin_format"]).filter((p) => p.startsWith("error")),
    [],
  );
});
