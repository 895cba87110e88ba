import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseConfigText } from "../../../src/config/load.ts";
import { deployWaves, loadConfig } from "../../../src/config/graph.ts";
import { ConfigError } from "../../../src/errors.ts";
import { jsonSchemaText } from "../../../src/config/json-schema.ts";
import { parseDuration } from "../../../src/config/units.ts";
import { ROOT } from "../../support/cli.ts";

function errorsOf(text: string, file = "vllm-app.yaml"): string[] {
  try {
    parseConfigText(text, file);
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return e.diagnostics.map(
      (d) => `${d.file}:${d.line}:${d.col} ${d.path}: ${d.message}${d.hint ? ` | ${d.hint}` : ""}`,
    );
  }
  assert.fail("expected a ConfigError");
}

test("the shipped JSON Schema is the one generated from the zod schema", () => {
  const shipped = readFileSync(path.join(ROOT, "templates", "vllm-app.schema.json"), "utf8");
  assert.equal(shipped, jsonSchemaText(), "run `npm run schema` and review the diff");
  const schema = JSON.parse(shipped);
  assert.equal(schema.additionalProperties, false);
  assert.ok(schema.properties.model_hf_path && schema.properties.extra_args && !schema.properties.args);
});

test("a minimal app gets the documented defaults", () => {
  const { apps } = parseConfigText("name: qwen3\nmodel_hf_path: Qwen/Qwen3-0.6B\n", "f.yaml");
  const c = apps[0]!.config;
  assert.equal(c.port, 8000);
  assert.equal(c.image, "auto");
  assert.equal(c.requires_auth, true);
  assert.equal(c.stream_model, true);
  assert.equal(c.cluster_pool, "default");
  assert.equal(c.interruptible, false);
  assert.equal(c.startup_timeout, 1800, "30m, in seconds");
});

test("a misspelt key is an error with its position and a did-you-mean", () => {
  const errs = errorsOf(
    "name: a\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources:\n  gpu: L4:1\n  memroy: 8Gi\nrequires_auht: false\n",
  );
  assert.deepEqual(errs, [
    'vllm-app.yaml:5:3 resources.memroy: unknown field "memroy"; did you mean "memory"? | rename it to memory',
    'vllm-app.yaml:6:1 requires_auht: unknown field "requires_auht"; did you mean "requires_auth"? | rename it to requires_auth',
  ]);
});

test("every problem is reported at once, in file order", () => {
  const errs = errorsOf(
    [
      "name: Bad_Name",
      "model_hf_path: Qwen/Qwen3-0.6B",
      "model_path: s3://bucket/qwen",
      "port: 70000",
      "resources:",
      "  gpu: A100-80:2",
      "scaling:",
      "  replicas: [3, 1]",
      "startup_timeout: soon",
      "args: [--foo]",
    ].join("\n"),
  );
  assert.equal(errs.length, 7, errs.join("\n"));
  assert.match(errs[0]!, /^vllm-app\.yaml:1:7 name: must be a DNS-1123 label/);
  assert.match(
    errs[1]!,
    /^vllm-app\.yaml:3:13 model_path: both model_hf_path and model_path are set; keep exactly one/,
  );
  assert.match(errs[2]!, /^vllm-app\.yaml:4:7 port: port must be 1–65535/);
  assert.match(
    errs[3]!,
    /^vllm-app\.yaml:6:8 resources\.gpu: unknown GPU type "A100-80"; did you mean "A100_80G"\? \(known: T4, /,
  );
  assert.match(errs[4]!, /^vllm-app\.yaml:8:13 scaling\.replicas: min 3 is greater than max 1/);
  assert.match(errs[5]!, /^vllm-app\.yaml:9:18 startup_timeout: not a duration/);
  assert.match(errs[6]!, /^vllm-app\.yaml:10:7 args: "args" is not a field; use extra_args/);
});

test("no model source, or an invalid one, is an error", () => {
  assert.match(errorsOf("name: a\n")[0]!, /no model source; set exactly one of model_hf_path or model_path/);
  assert.match(
    errorsOf("name: a\nmodel_hf_path: just-a-name\n")[0]!,
    /1:\d+|2:16 model_hf_path: "just-a-name" is not a Hugging Face repo id/,
  );
});

test("broken YAML is reported with its position", () => {
  const errs = errorsOf("name: a\nmodel_hf_path: [Qwen\n");
  assert.ok(errs.length >= 1);
  assert.match(errs[0]!, /^vllm-app\.yaml:\d+:\d+ : YAML syntax error/);
});

test("GPU forms: count, TYPE:N, object with MIG partition", () => {
  for (const gpu of [
    "2",
    '"L4:1"',
    '"A100 80G:8"',
    "{type: H100, count: 4}",
    "{type: A100, count: 1, partition: 1g.10gb}",
    '"l40s:4"',
  ]) {
    assert.doesNotThrow(
      () => parseConfigText(`name: a\nmodel_hf_path: o/m\nresources:\n  gpu: ${gpu}\n`, "f.yaml"),
      gpu,
    );
  }
  assert.match(
    errorsOf("name: a\nmodel_hf_path: o/m\nresources:\n  gpu: {type: L4, partition: 1g.10gb}\n")[0]!,
    /L4 does not support MIG/,
  );
  assert.match(
    errorsOf("name: a\nmodel_hf_path: o/m\nresources:\n  gpu: {type: A100, partition: 9g.99gb}\n")[0]!,
    /A100 has no MIG profile "9g.99gb"/,
  );
});

test("multi-app files resolve depends_on and report cycles", () => {
  const files: Record<string, string> = {
    "/x/apps.yaml":
      "name: a\nmodel_hf_path: o/m\ndepends_on: [b]\n---\nname: b\nmodel_hf_path: o/m\ndepends_on: [c]\n---\nname: c\nmodel_hf_path: o/m\n",
    "/x/cycle.yaml":
      "name: a\nmodel_hf_path: o/m\ndepends_on: [b]\n---\nname: b\nmodel_hf_path: o/m\ndepends_on: [a]\n",
    "/x/typo.yaml": "name: a\nmodel_hf_path: o/m\ndepends_on: [bb]\n---\nname: b\nmodel_hf_path: o/m\n",
  };
  const deps = {
    readFile: (p: string) => files[p]!,
    resolvePath: (f: string, r: string) => path.resolve(path.dirname(f), r),
    exists: (p: string) => p in files,
  };
  assert.deepEqual(
    loadConfig("/x/apps.yaml", deps).order.map((a) => a.config.name),
    ["c", "b", "a"],
  );
  assert.throws(
    () => loadConfig("/x/cycle.yaml", deps),
    (e: ConfigError) => /\/x\/cycle\.yaml:3:\d+ depends_on: dependency cycle: a → b → a/.test(e.message),
  );
  assert.throws(
    () => loadConfig("/x/typo.yaml", deps),
    (e: ConfigError) => /no app named "bb" in this file; did you mean "b"\?/.test(e.message),
  );
});

test("durations", () => {
  assert.equal(parseDuration(300), 300);
  assert.equal(parseDuration("5m"), 300);
  assert.equal(parseDuration("1h30m"), 5400);
  assert.equal(parseDuration("90s"), 90);
  assert.equal(parseDuration("5 minutes"), undefined);
});

test("deploy waves: independent apps together, each app after what it depends on", async () => {
  const files: Record<string, string> = {
    "/w/apps.yaml": [
      "name: gateway\nmodel_hf_path: o/m\ndepends_on: [chat, embed]",
      "name: chat\nmodel_hf_path: o/m\ndepends_on: [./shared.yaml#tokenizer]",
      "name: embed\nmodel_hf_path: o/m",
      "name: rerank\nmodel_hf_path: o/m",
    ].join("\n---\n"),
    "/w/shared.yaml": "name: tokenizer\nmodel_hf_path: o/m\n",
  };
  const deps = {
    readFile: (p: string) => files[p]!,
    resolvePath: (f: string, r: string) => path.resolve(path.dirname(f), r),
    exists: (p: string) => p in files,
  };
  const loaded = loadConfig("/w/apps.yaml", deps);
  const waves = deployWaves(loaded.order, loaded.dependencies).map((w) => w.map((a) => a.config.name).sort());
  assert.deepEqual(waves, [["embed", "rerank", "tokenizer"], ["chat"], ["gateway"]]);
});

test("a !!binary value where a mapping belongs is a file error, not a crash (fuzz seed 1071917439: TypeError, exit 1)", () => {
  assert.throws(
    () => parseConfigText("name: a\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources: !!binary AAAA\n", "vllm-app.yaml"),
    (e: Error) => e instanceof ConfigError && /^vllm-app\.yaml:3:\d+ resources/.test(e.message),
  );
});

test("what becomes a node selector, a listener name, a secretKeyRef key or a container name is checked as the API server checks it", () => {
  // each of these rendered and was refused by the API server (the fuzzer's seeds against the test bed)
  const base = "name: a\nmodel_hf_path: Qwen/Qwen3-8B\n";
  const cases: [string, RegExp][] = [
    ["cluster_pool: infere\uFEFFnce\n", /cluster_pool: not a Kubernetes label value/],
    ["node_labels: {pool: 'my pool'}\n", /node_labels\.pool: not a Kubernetes label key/],
    ["node_labels: {gpu_product: 'x/y/z'}\n", /node_labels\.gpu_product: not a Kubernetes label key/],
    [
      "node_labels: {scheme: {key: gpu, values: {L4: 'nvidia l4'}}}\n",
      /node_labels\.scheme\.values\.L4: not a Kubernetes label value/,
    ],
    ["requires_auth: {secret: keys, key: 'H100:8'}\n", /requires_auth\.key: not a Secret key/],
    ["route: {gateway: gw, section: 'h[ps'}\n", /route\.section: must be a listener name/],
    [
      "pod_template: {spec: {containers: [{name: 1.5e-119, env: []}]}}\n",
      /pod_template\.spec\.containers\[0\]\.name: not a container name \(a DNS-1123 label\): the number 1\.5e-119 \| name the container/,
    ],
  ];
  for (const [yaml, want] of cases) assert.match(errorsOf(base + yaml).join("\n"), want, yaml);
  // and what the API server takes still passes
  parseConfigText(
    `${base}cluster_pool: gpu-pool_1.a\nnode_labels: {pool: example.com/pool, gpu_product: nvidia.com/gpu.product}\nrequires_auth: {secret: keys, key: api.key}\nroute: {gateway: gw, section: https}\n`,
    "vllm-app.yaml",
  );
});
