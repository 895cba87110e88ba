import { test } from "node:test";
import assert from "node:assert/strict";
import { validateExtraArgs, substituteParameters } from "../../src/render/serve-args.ts";
import { shellSplit } from "../../src/text.ts";

const list = (a: string[]) => a.map((value, i) => ({ value, path: ["extra_args", i] as (string | number)[] }));
function problems(args: string[], strict = true): string[] {
  return validateExtraArgs(list(args), strict).problems.map((p) => `${p.severity}: ${p.message}${p.hint ? ` | ${p.hint}` : ""}`);
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

test("unknown flags get a did-you-mean; removed flags say they were removed", () => {
  assert.deepEqual(problems(["--max-model-length", "8192"]), [
    "error: unknown vllm serve flag --max-model-length; did you mean --max-model-len? | write --max-model-len",
  ]);
  const removed = problems(["--disable-log-requests"]);
  assert.equal(removed.length, 1);
  assert.match(removed[0]!, /^error: --disable-log-requests was removed from vLLM: it was last seen on vLLM main on \d{4}-\d\d-\d\d and vLLM 0\.19\.0 rejects it/);
});

test("values are checked for type and enforced choices", () => {
  assert.deepEqual(problems(["--max-model-len", "lots"]), ['error: --max-model-len expects an integer (or a size like "32k"), got "lots"']);
  assert.deepEqual(problems(["--gpu-memory-utilization", "high"]), ['error: --gpu-memory-utilization expects a number, got "high"']);
  assert.deepEqual(problems(["--dtype", "bf16"]), ['error: --dtype does not accept "bf16" | choose one of: auto, bfloat16, float, float16, float32, half']);
  assert.match(problems(["--compilation-config", "{mode: 3}"])[0]!, /^error: --compilation-config expects JSON, and "\{mode: 3\}" does not parse/);
  assert.match(problems(["--load-format", "my_plugin"])[0]!, /^warning: "my_plugin" is not a built-in value of --load-format; vLLM accepts it only if a plugin registers it/);
});

test("a value given to a switch names the right spelling", () => {
  assert.deepEqual(problems(["--enable-chunked-prefill=false"]), [
    'error: --enable-chunked-prefill is a switch and takes no value, got "--enable-chunked-prefill=false" | write --no-enable-chunked-prefill (the switch is --enable-chunked-prefill / --no-enable-chunked-prefill)',
  ]);
  assert.deepEqual(problems(["--enable-chunked-prefill", "false"]), ['error: unexpected argument "false": --enable-chunked-prefill is a switch and takes no value | write --no-enable-chunked-prefill']);
});

test("a list element holding a flag and its value is an error with the split list", () => {
  assert.deepEqual(problems(["--max-model-len 8192"]), ['error: "--max-model-len 8192" is one list element, so vLLM would receive it as a single argument | split it: ["--max-model-len","8192"]']);
});

test("flags vllmapp owns are errors for every image, pointing to the field", () => {
  for (const strict of [true, false]) {
    assert.deepEqual(problems(["--port", "9000"], strict), ["error: --port is set by vllmapp; use the port field instead | set port: in vllm-app.yaml"]);
    assert.match(problems(["--served-model", "x"], strict)[0]!, /^error: --served-model-name is set by vllmapp; use the model_id field instead/);
    assert.match(problems(["--api-key", "k1"], strict)[0]!, /^error: --api-key is set by vllmapp; use the requires_auth field instead/);
    assert.match(problems(["--host=0.0.0.0"], strict)[0]!, /^error: --host is set by vllmapp/);
    assert.match(problems(["--model", "x/y"], strict)[0]!, /^error: --model is set by vllmapp; use the model_hf_path field instead/);
  }
});

test("catalog problems are warnings for images other than the default", () => {
  assert.deepEqual(problems(["--brand-new-flag", "1"], false), ["warning: unknown vllm serve flag --brand-new-flag | see `vllm serve --help` for vLLM 0.19.0"]);
});

test("positional arguments and ambiguous prefixes are errors", () => {
  assert.match(problems(["Qwen/Qwen3-0.6B"])[0]!, /^error: unexpected argument "Qwen\/Qwen3-0\.6B": extra_args holds flags and their values only/);
  assert.match(problems(["--max", "1"])[0]!, /^error: --max is ambiguous: it could be --max-/);
});

test("the flags set are reported by canonical name, aliases included", () => {
  assert.deepEqual([...validateExtraArgs(list(["-tp", "4", "--max_model_len=4096"]), true).flagsSet], ["--tensor-parallel-size", "--max-model-len"]);
});

test("string extra_args split like a POSIX shell; ${param} substitution", () => {
  assert.deepEqual(shellSplit(`--max-model-len 8192 --chat-template-content-format 'openai' --override-generation-config "{\\"temperature\\": 0.6}"`), [
    "--max-model-len", "8192", "--chat-template-content-format", "openai", "--override-generation-config", '{"temperature": 0.6}',
  ]);
  const { tokens, problems: p } = substituteParameters(list(["--max-model-len", "${ctx}", "--seed", "${sed}"]), new Map([["ctx", "4096"], ["seed", "1"]]));
  assert.deepEqual(tokens.map((t) => t.value), ["--max-model-len", "4096", "--seed", "${sed}"]);
  assert.equal(p[0]!.message, "${sed} names no parameter; did you mean ${seed}?");
});
