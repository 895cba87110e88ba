/** The loader reports every independent problem of a file in one pass, and reads ordinary YAML as kubectl and docker compose do. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfigText } from "../../../src/config/load.ts";
import { ConfigError } from "../../../src/errors.ts";

function problemsOf(text: string, file = "f.yaml"): string[] {
  try {
    parseConfigText(text, file);
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return e.diagnostics.map((d) => `${d.line}:${d.col} ${d.severity} ${d.path}: ${d.message}`);
  }
  assert.fail("expected a ConfigError");
}

test("an unknown field does not hide unit and cross-field problems of the rest of the app", () => {
  const got = problemsOf(
    [
      "name: combo",
      "model_hf_path: Qwen/Qwen3-0.6B",
      "resorces: 1",
      "resources:",
      "  memory: 16",
      "domain: {subdomain: x}",
      "",
    ].join("\n"),
  );
  assert.deepEqual(got, [
    '3:1 error resorces: unknown field "resorces"; did you mean "resources"?',
    "5:11 error resources.memory: 16 is 16 bytes: a bare number is bytes",
    "6:9 error domain.base_domain: a subdomain needs base_domain (the domain it is taken under), or set custom_domain",
  ]);
});

test("a value of the wrong kind is set aside and the rest is still checked; what it makes meaningless is not reported", () => {
  // model_path: 5 is wrong; "no model source" would only be its echo
  const got = problemsOf(["name: b", "model_path: 5", 'resources: {memory: 16, gpu: "H100:0"}', ""].join("\n"));
  assert.deepEqual(got, [
    "2:13 error model_path: expected a string or a mapping (key: value), got the number 5",
    "3:21 error resources.memory: 16 is 16 bytes: a bare number is bytes",
    '3:30 error resources.gpu: "H100:0" asks for zero H100 GPUs',
  ]);
});

test("a document with broken YAML is reported and set aside, and says so; the other apps are still checked", () => {
  const got = problemsOf(
    [
      "name: a",
      "model_hf_path: Qwen/Qwen3-0.6B",
      "port: [1",
      "---",
      "name: b",
      "model_hf_path: Qwen/Qwen3-0.6B",
      "resources: {memory: 16}",
      "",
    ].join("\n"),
  );
  assert.equal(got.length, 3, got.join("\n"));
  assert.match(got[0]!, /^4:1 error : YAML syntax error: Flow sequence/);
  assert.equal(got[1], "7:21 error resources.memory: 16 is 16 bytes: a bare number is bytes");
  assert.equal(got[2], "1:1 note : the app from line 1 was not checked further: its YAML has errors");
});

test("a problem that leaves nothing to check stops the later checks, and a note says so", () => {
  const got = problemsOf("name: a\nresorces: 1\n");
  assert.deepEqual(got, [
    "1:1 error : no model source; set exactly one of model_hf_path or model_path",
    '2:1 error resorces: unknown field "resorces"; did you mean "resources"?',
    '1:1 note : the checks of app "a" that need the fields above (units, the model source, vllm serve flags) did not run',
  ]);
});

test("empty documents are skipped; merge keys and top-level x-* keys give the plain file's apps", () => {
  const plain = "name: q\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources:\n  gpu: L4:1\n  memory: 16Gi\n";
  const configs = (text: string) => parseConfigText(text, "f.yaml").apps.map((a) => a.config);
  const want = configs(plain);
  assert.deepEqual(configs(`${plain}---\n`), want);
  assert.deepEqual(configs(`---\n# header only\n---\n${plain}---\n# the end\n`), want);
  assert.deepEqual(
    configs("x-gpu: &g\n  gpu: L4:1\n  memory: 16Gi\nname: q\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources:\n  <<: *g\n"),
    want,
  );
  assert.deepEqual(
    configs("x-base: &b\n  model_hf_path: Qwen/Qwen3-0.6B\n  resources: {gpu: L4:1, memory: 16Gi}\nname: q\n<<: *b\n"),
    want,
  );
});
