/** The `vllm serve` argv (src/render/serve.ts): the model argument, the loader's flags, extra_args checked, the owned flags after them. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parse } from "zod/mini";
import { appConfigSchema } from "../../../src/config/schema.ts";
import { parseModelSource, type ModelSource } from "../../../src/models/source.ts";
import { gpuRequest } from "../../../src/render/resources.ts";
import { buildServeArgs } from "../../../src/render/serve.ts";

function serveOf(fields: Record<string, unknown>, target: "kubernetes" | "docker" = "kubernetes") {
  const app = parse(appConfigSchema, { name: "m", ...fields });
  const src = parseModelSource(app) as ModelSource;
  const params = new Map((app.parameters ?? []).map((p) => [p.name, String(p.value)]));
  return buildServeArgs(app, src, target, gpuRequest(app), params);
}
const lines = (r: { problems: { path: (string | number)[]; severity: string; message: string }[] }) =>
  r.problems.map((p) => `${p.path.join(".")} ${p.severity}: ${p.message}`);

test("serve argv: model, name, port, the loader's flags, extra_args, then lora's, the draft's and parallelism's flags", () => {
  const r = serveOf({
    model_hf_path: "org/base@v1",
    model_id: "base",
    resources: { gpu: "L4:2" },
    extra_args: ["--max-model-len", "4096"],
    lora: { adapters: [{ name: "a", source: "org/a" }], max_rank: 8 },
    speculative_config: { method: "ngram", num_speculative_tokens: 3 },
  });
  assert.deepEqual(lines(r), []);
  assert.deepEqual(r.command, ["vllm", "serve"]);
  assert.deepEqual(r.args, [
    "org/base",
    "--served-model-name",
    "base",
    "--port",
    "8000",
    "--revision",
    "v1",
    "--max-model-len",
    "4096",
    "--enable-lora",
    "--max-loras",
    "1",
    "--max-lora-rank",
    "8",
    "--lora-modules",
    '{"name":"a","path":"org/a","base_model_name":"base"}',
    "--speculative-config",
    '{"num_speculative_tokens":3,"method":"ngram"}',
    "--tensor-parallel-size",
    "2",
  ]);
});

test("serve argv: an object store streams with Run:ai unless stream_model: false (then the copy's path); stream_model on a Hugging Face source is a note", () => {
  assert.deepEqual(serveOf({ model_path: "s3://b/m/" }).args.slice(-2), ["--load-format", "runai_streamer"]);
  assert.deepEqual(serveOf({ model_path: "s3://b/m/", stream_model: false }, "docker").args[0], "/models/m");
  assert.deepEqual(lines(serveOf({ model_hf_path: "org/base", stream_model: false })), [
    "stream_model note: stream_model applies to object-store sources only; ignored for a Hugging Face source",
  ]);
});

test("serve argv: command replaces it all with a warning; an open quote in the extra_args string is an error; ${name} without a parameter is passed on with a warning", () => {
  const cmd = serveOf({ model_hf_path: "org/base", command: "python -m server --port 9000" });
  assert.deepEqual([cmd.command, cmd.args], [["python", "-m", "server", "--port", "9000"], []]);
  assert.deepEqual(lines(cmd), [
    "command warning: command replaces the whole container command: vllmapp does not check its flags, and port, model_id and the model source are up to you",
  ]);
  assert.deepEqual(lines(serveOf({ model_hf_path: "org/base", extra_args: "--max-model-len '4096" })), [
    "extra_args error: unterminated single quote in the extra_args string",
  ]);
  const unexpanded = serveOf({
    model_hf_path: "org/base",
    parameters: [{ name: "ctx", value: 2048 }],
    extra_args: "--max-model-len ${ctx} --served-model-name-x ${nope}",
  });
  assert.deepEqual(unexpanded.args.slice(5, 7), ["--max-model-len", "2048"]);
  assert.ok(
    lines(unexpanded).some((l) => /\$\{nope\} names no parameter.*, so vLLM receives it as written/.test(l)),
    lines(unexpanded).join("\n"),
  );
});
