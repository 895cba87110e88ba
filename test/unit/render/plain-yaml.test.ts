/**
 * src/render/format.ts prints most rendered objects itself (plainYaml) instead of through the yaml package:
 * wherever it prints, the bytes must be the package's. Random documents of the shapes a render makes
 * (nested maps and sequences, numbers, booleans, nulls, empty collections, undefined values) with strings
 * built from the characters YAML treats specially, and every object of the golden cases.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { parseAllDocuments, stringify } from "yaml";
import { objectYaml, plainYaml } from "../../../src/render/format.ts";
import type { K8sObject } from "../../../src/render/types.ts";
import { ROOT } from "../../support/cli.ts";

const OPTS = { lineWidth: 0, aliasDuplicateObjects: false } as const;

const tricky = fc.oneof(
  fc.constantFrom(
    "",
    "~",
    "null",
    "Null",
    "NULL",
    "true",
    "False",
    "yes",
    "no",
    "on",
    "0",
    "-1",
    "+1",
    "007",
    "0o17",
    "0x1F",
    "1.5",
    ".5",
    "1.",
    "1e3",
    "-2.5E-3",
    ".inf",
    "-.Inf",
    ".nan",
    "---",
    "...",
    "--- x",
    "%x",
    "-",
    "?",
    "- x",
    "? x",
    "a: b",
    "a:b",
    "a #b",
    "a#b",
    "#x",
    "x:",
    "x ",
    " x",
    "\tx",
    "a\nb",
    "a\n",
    "'q'",
    '"q"',
    "@x",
    "`x",
    "&a",
    "*a",
    "!t",
    "|",
    ">",
    "[x]",
    "{x}",
    "x,y",
    "\u0007",
    "é",
    "vllm/vllm-openai:v0.11.0",
    "--max-model-len",
    "app.kubernetes.io/name",
    "8000",
    "16Gi",
    "nvidia.com/gpu",
    "http://x:8000/health",
    "a".repeat(1100),
  ),
  fc.stringMatching(/^[a-z0-9 :#\-?.'"\n\t%@!&*|>{}[\],~eE+x]{0,12}$/),
);
const scalar = fc.oneof(
  tricky,
  fc.integer(),
  fc.double({ noNaN: false }),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
);
const { doc } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small" }, scalar, tie("map"), tie("seq")),
  map: fc.dictionary(tricky, tie("value"), { maxKeys: 5 }),
  seq: fc.array(tie("value"), { maxLength: 4 }),
  doc: fc.dictionary(tricky, tie("value"), { minKeys: 1, maxKeys: 6 }),
}));

test("plainYaml prints what the yaml package prints, whenever it prints", () => {
  let printed = 0;
  fc.assert(
    fc.property(doc, (d) => {
      const mine = plainYaml(d);
      if (mine === undefined) return;
      printed++;
      assert.equal(mine, stringify(d, OPTS));
    }),
    { numRuns: 3000, seed: 24 },
  );
  assert.ok(printed > 500, `plainYaml printed ${printed} of 3000 documents (else this tests little)`);
});

test("every object of the golden cases: objectYaml's bytes are the yaml package's, and plainYaml prints most of them", () => {
  const dir = path.join(ROOT, "test", "golden", "cases");
  let objects = 0;
  let plain = 0;
  for (const f of readdirSync(dir).map((c) => path.join(c, "expected.yaml"))) {
    for (const d of parseAllDocuments(readFileSync(path.join(dir, f), "utf8"))) {
      const o = d.toJS() as K8sObject | null;
      if (!o || typeof o !== "object") continue;
      objects++;
      if (plainYaml(o) !== undefined) plain++;
      assert.equal(objectYaml(o), stringify(o, OPTS), `${f}: ${o.kind}/${o.metadata?.name}`);
    }
  }
  assert.ok(objects >= 50, `${objects} objects`);
  assert.ok(plain / objects > 0.8, `plainYaml printed ${plain} of ${objects}`);
});
