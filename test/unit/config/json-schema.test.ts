/** The editor schema (templates/vllm-app.schema.json): generated, strict, described, and agreeing with the CLI. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { parseAllDocuments } from "yaml";
import { FIELD_DOCS } from "../../../src/config/field-docs.ts";
import { buildJsonSchema, EDITOR_KEYWORDS, jsonSchemaText, SCHEMA_MESSAGES } from "../../../src/config/json-schema.ts";
import { parseConfigText } from "../../../src/config/load.ts";
import { plan } from "../../../src/app/plan.ts";
import { nodePlanIo } from "../../../src/app/node-io.ts";
import { ROOT, workdir } from "../../support/cli.ts";

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const SHIPPED = path.join(ROOT, "templates", "vllm-app.schema.json");

function strictAjv(): Ajv2020 {
  // strict: every unknown keyword, union type, ignored format or required-without-property is an error
  const ajv = addFormats(new Ajv2020({ strict: true, allErrors: true }));
  // the language server's message keywords, declared as the README says
  ajv.addVocabulary([...EDITOR_KEYWORDS]);
  return ajv;
}

test("the shipped schema is the generated one (npm run schema)", () => {
  assert.equal(readFileSync(SHIPPED, "utf8"), jsonSchemaText());
});

test("the shipped schema compiles under strict ajv with the standard formats only", () => {
  const schema = JSON.parse(readFileSync(SHIPPED, "utf8"));
  assert.doesNotThrow(() => strictAjv().compile(schema));
});

test("every field of the schema has a description", () => {
  const missing: string[] = [];
  const seen = new Set<string>();
  const walk = (node: unknown, at: string): void => {
    if (Array.isArray(node)) return node.forEach((n) => walk(n, at));
    if (node === null || typeof node !== "object") return;
    const n = node as Record<string, unknown>;
    for (const [k, v] of Object.entries((n.properties as Record<string, { description?: string } | boolean>) ?? {})) {
      const p = at ? `${at}.${k}` : k;
      if (typeof v === "boolean") continue; // `true`: a property named only for `required` (the model source rule)
      seen.add(p);
      if (!v.description) missing.push(p);
      walk(v, p);
    }
    for (const key of ["anyOf", "oneOf", "allOf", "items", "prefixItems", "additionalProperties"]) walk(n[key], at);
  };
  walk(buildJsonSchema(), "");
  assert.deepEqual(missing, [], "add a description in src/config/field-docs.ts (or doc() in schema.ts)");
  const stale = Object.keys(FIELD_DOCS).filter((k) => !seen.has(k));
  assert.deepEqual(stale, [], "field-docs.ts describes fields the schema does not have");
});

const BASE = "name: qwen3\nmodel_hf_path: Qwen/Qwen3-0.6B\n";

/** [yaml, does the CLI accept it]: the editor must say the same. */
const CASES: [string, boolean][] = [
  [BASE, true],
  ["name: a\nmodel_path: s3://bucket/models/x\n", true],
  ["name: a\nmodel_path: {run_output: {task_name: train}}\n", true],
  ["name: a\n", false],
  [`${BASE}model_path: s3://b/m\n`, false],
  ...["L4:1", "A100 80G:4", "a100-80gb:2", "H100", "h100 nvl:8", "L40S:1", "RTX PRO 6000:2", "L4 :1", " L4:1 "].map(
    (g): [string, boolean] => [`${BASE}resources: {gpu: "${g}"}\n`, true],
  ),
  ...["B300:8", "L4:x", "L:4", "L4:1:2", "A100 81G:1", "", "4090:1"].map((g): [string, boolean] => [
    `${BASE}resources: {gpu: "${g}"}\n`,
    false,
  ]),
  [`${BASE}resources: {gpu: 2}\n`, true],
  [`${BASE}resources: {gpu: -1}\n`, false],
  [`${BASE}resources: {gpu: {type: H100, count: 2}}\n`, true],
  [`${BASE}resources: {gpu: {type: Z9, count: 2}}\n`, false],
  [`${BASE}resources: {gpu: {type: A100, partition: 1g.10gb}}\n`, true],
  [`${BASE}resources: {gpu: {type: A100, partition: big}}\n`, false],
  ...["16Gi", "500Mi", "0.5", "4", "1e3", "16GB", "-1", "lots", ".5", "100m"].map((m): [string, boolean] => [
    `${BASE}resources: {cpu: "${m}"}\n`,
    /^(16Gi|500Mi|0\.5|4|\.5|100m)$/.test(m),
  ]),
  // byte quantities: a bare number is bytes (under 1Mi an error), m is milli; decimal units only warn
  ...["16Gi", "500Mi", "16G", "2000000", "1048576", "1048575", "8", "100m", "lots"].map((m): [string, boolean] => [
    `${BASE}resources: {memory: "${m}"}\n`,
    /^(16Gi|500Mi|16G|2000000|1048576)$/.test(m),
  ]),
  [`${BASE}resources: {memory: 8}\n`, false],
  [`${BASE}resources: {memory: 4294967296}\n`, true],
  [`${BASE}resources: {memory: ["8Gi", "16Gi"]}\n`, true],
  [`${BASE}resources: {memory: ["8Gi", "16"]}\n`, false],
  [`${BASE}resources: {shm: auto}\n`, true],
  [`${BASE}resources: {shm: "512m"}\n`, false],
  [`${BASE}resources: {cpu: ["2", "4"]}\n`, true],
  [`${BASE}resources: {cpu: ["2", "four"]}\n`, false],
  [`${BASE}cache: {size: 20Gi}\n`, true],
  [`${BASE}cache: {size: 20 gigs}\n`, false],
  ...["30m", "1h30m", "90s", "300", "2.5h", "500ms", "5 minutes", "1x", "m", ""].map((d): [string, boolean] => [
    `${BASE}startup_timeout: "${d}"\n`,
    /^(30m|1h30m|90s|300|2\.5h|500ms)$/.test(d),
  ]),
  [`${BASE}startup_timeout: 600\n`, true],
  [`${BASE}startup_timeout: -5\n`, false],
  [`${BASE}scaling: {replicas: [0, 2], wake: http-add-on, scaledown_after: 10m}\n`, true],
  [`${BASE}scaling: {replicas: [0, 2], wake: http-add-on, scaledown_after: soon}\n`, false],
  [`${BASE}resorces: {}\n`, false],
  [`${BASE}args: [--x]\n`, false],
];

test("the editor and the CLI accept the same values (GPU strings, quantities, durations, exactly one model source)", () => {
  const validate = strictAjv().compile(buildJsonSchema());
  for (const [yaml, cli] of CASES) {
    let accepted = true;
    try {
      parseConfigText(yaml, "t.yaml");
    } catch {
      accepted = false;
    }
    assert.equal(accepted, cli, `CLI on ${JSON.stringify(yaml)}`);
    const doc = parseAllDocuments(yaml)[0]!.toJS();
    assert.equal(
      validate(doc),
      cli,
      `schema on ${JSON.stringify(yaml)}: ${JSON.stringify(validate.errors?.slice(0, 2))}`,
    );
  }
});

test("each app of a multi-app file is validated on its own (as the language server does per document)", () => {
  const validate = strictAjv().compile(buildJsonSchema());
  const docs = parseAllDocuments(`${BASE}---\nname: b\nmodel_hf_path: o/m\nresources: {gpu: "B300:1"}\n`).map((d) =>
    d.toJS(),
  );
  assert.deepEqual(
    docs.map((d) => validate(d)),
    [true, false],
  );
});

test("the schema accepts top-level x-* keys, as the CLI ignores them, and nothing else unknown", () => {
  const validate = strictAjv().compile(JSON.parse(readFileSync(SHIPPED, "utf8")));
  const app = { name: "q", model_hf_path: "Qwen/Qwen3-0.6B" };
  assert.equal(validate({ ...app, "x-defaults": { gpu: "L4:1" } }), true, JSON.stringify(validate.errors));
  assert.equal(validate({ ...app, extra: 1 }), false);
  assert.doesNotThrow(() =>
    parseConfigText("x-defaults: {gpu: L4:1}\nname: q\nmodel_hf_path: Qwen/Qwen3-0.6B\n", "f.yaml"),
  );
});

test("schema and CLI agree that a typed GPU count is at least 1", () => {
  const validate = strictAjv().compile(JSON.parse(readFileSync(SHIPPED, "utf8")));
  const app = (gpu: string) => ({ name: "q", model_hf_path: "Qwen/Qwen3-0.6B", resources: { gpu } });
  for (const gpu of ["H100:0", "L4:00"]) {
    assert.equal(validate(app(gpu)), false, gpu);
    assert.throws(
      () => parseConfigText(`name: q\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources: {gpu: "${gpu}"}\n`, "f.yaml"),
      gpu,
    );
  }
  for (const gpu of ["H100:1", "L4:8", "A100 80G:4", "H100"]) {
    assert.equal(validate(app(gpu)), true, gpu);
    assert.doesNotThrow(
      () => parseConfigText(`name: q\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources: {gpu: "${gpu}"}\n`, "f.yaml"),
      gpu,
    );
  }
});

/** Does `vllmapp render --dry-run` accept the file (its errors, rendered in-process)? */
async function renders(yaml: string): Promise<string[]> {
  const file = path.join(workdir({ "vllm-app.yaml": yaml }), "vllm-app.yaml");
  const p = await plan({ file, target: "kubernetes", params: new Map() }, nodePlanIo({}));
  return p.errors.map((e) => e.message);
}

test("the schema says what render says where a schema can (newcomer-3 §2 row 6: GPU count, model_path forms, min 0 without wake, image vs GPU vendor)", async () => {
  const validate = strictAjv().compile(buildJsonSchema());
  const cases: [string, boolean][] = [
    [`${BASE}resources: {gpu: "H100:0"}\n`, false],
    ["name: a\nmodel_path: s3:/bucket/x\n", false],
    ["name: a\nmodel_path: bucket/x\n", false],
    ["name: a\nmodel_path: models\n", false],
    ["name: a\nmodel_path: s3://bucket/x\n", true],
    ["name: a\nmodel_path: /models/x\n", true],
    ["name: a\nmodel_path: pvc://weights/qwen\n", true],
    ["name: a\nmodel_hf_path: qwen3\n", false],
    [`${BASE}scaling: {replicas: [0, 4]}\n`, false],
    [`${BASE}scaling: {replicas: [0, 4], wake: http-add-on}\n`, true],
    [`${BASE}scaling: {replicas: [1, 4]}\n`, true],
    [`${BASE}resources: {gpu: "MI300X:1"}\nimage: vllm/vllm-openai:v0.33.0\n`, false],
    [`${BASE}resources: {gpu: {type: mi300x, count: 1}}\nimage: vllm/vllm-openai:v0.33.0\n`, false],
    [`${BASE}resources: {gpu: "MI300X:1"}\nimage: vllm/vllm-openai-rocm:v0.33.0\n`, true],
    [`${BASE}resources: {gpu: "MI300X:1"}\n`, true],
    [`${BASE}resources: {gpu: "H100:1"}\nimage: vllm/vllm-openai-rocm:v0.33.0\n`, false],
    [`${BASE}resources: {gpu: "H100:1"}\nimage: vllm/vllm-openai:v0.33.0\n`, true],
  ];
  for (const [yaml, ok] of cases) {
    assert.equal((await renders(yaml)).length === 0, ok, `render on ${JSON.stringify(yaml)}`);
    const doc = parseAllDocuments(yaml)[0]!.toJS();
    assert.equal(
      validate(doc),
      ok,
      `schema on ${JSON.stringify(yaml)}: ${JSON.stringify(validate.errors?.slice(0, 2))}`,
    );
  }
});

/** The messages the language server shows for `field` (errorMessage / patternErrorMessage on the failing schema nodes). */
function editorMessages(yaml: string): string[] {
  const validate = strictAjv().compile(buildJsonSchema());
  validate(parseAllDocuments(yaml)[0]!.toJS());
  const root = buildJsonSchema();
  const at = (pointer: string): Record<string, unknown> =>
    pointer
      .split("/")
      .slice(1)
      .reduce((n: any, k) => n[decodeURIComponent(k.replace(/~1/g, "/").replace(/~0/g, "~"))], root);
  const out = new Set<string>();
  for (const e of validate.errors ?? []) {
    // the keyword's schema; a property that must not be there (`false`): the schema naming it, as the language server reads it
    const node = at(
      e.schemaPath
        .replace(/^#/, "")
        .replace(e.keyword === "false schema" ? /\/properties\/[^/]+\/false schema$/ : /\/[^/]+$/, ""),
    );
    const m = (e.keyword === "pattern" ? node.patternErrorMessage : undefined) ?? node.errorMessage;
    if (typeof m === "string") out.add(m);
  }
  return [...out];
}

test("the editor's messages are the CLI's words, not 'Incorrect type' (newcomer-3 §2 row 5)", async () => {
  const cases: [string, keyof typeof SCHEMA_MESSAGES][] = [
    [`${BASE}startup_timeout: 30 minutes\n`, "duration"],
    [`${BASE}resources: {cpu: lots}\n`, "quantity"],
    [`${BASE}cache: {size: 100GBs}\n`, "bytes"],
    [`${BASE}resources: {gpu: "H10:1"}\n`, "gpu"],
    ["name: a\nmodel_hf_path: o/m\nmodel_path: s3://b/m\n", "bothSources"],
    ["name: a\n", "modelSource"],
    ["name: a\nmodel_path: s3:/bucket/x\n", "modelPath"],
    [`${BASE}scaling: {replicas: [0, 4]}\n`, "minZero"],
    [`${BASE}resources: {gpu: "MI300X:1"}\nimage: vllm/vllm-openai:v0.33.0\n`, "cudaOnAmd"],
  ];
  for (const [yaml, key] of cases) {
    assert.deepEqual(editorMessages(yaml), [SCHEMA_MESSAGES[key]], yaml);
  }
  // and the CLI words the same mistakes the same way
  const cli = async (yaml: string) => (await renders(yaml)).join("\n");
  assert.match(
    await cli(`${BASE}startup_timeout: 30 minutes\n`),
    new RegExp(SCHEMA_MESSAGES.duration.replace(/[()"]/g, "\\$&")),
  );
  assert.match(
    await cli("name: a\nmodel_hf_path: o/m\nmodel_path: s3://b/m\n"),
    new RegExp(SCHEMA_MESSAGES.bothSources),
  );
  assert.match(await cli("name: a\n"), new RegExp(SCHEMA_MESSAGES.modelSource));
  assert.match(await cli(`${BASE}scaling: {replicas: [0, 4]}\n`), /min 0 replicas cannot wake up/);
});
