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
import { objectYaml, packageYaml, plainYaml } from "../../../src/render/format.ts";
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
    "y",
    "N",
    "Off",
    "0b101",
    "1_000",
    "1:20",
    "012",
    "2001-12-14",
    "a\u2028b",
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

test("plainYaml prints what the yaml package prints (packageYaml), whenever it prints", () => {
  let printed = 0;
  fc.assert(
    fc.property(doc, (d) => {
      const mine = plainYaml(d);
      if (mine === undefined) return;
      printed++;
      assert.equal(mine, packageYaml(d));
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
      assert.equal(packageYaml(o), stringify(o, OPTS), `${f}: ${o.kind}/${o.metadata?.name}`);
    }
  }
  assert.ok(objects >= 50, `${objects} objects`);
  assert.ok(plain / objects > 0.8, `plainYaml printed ${plain} of ${objects}`);
});

test("strings YAML 1.1 (kubectl's go-yaml) reads as another type, or as line breaks, are quoted by both printers", () => {
  const odd = ["y", "N", "yes", "Off", "on", "0b101", "1_000", "1:20", "012", "2001-12-14", "a\u2028b"];
  const obj = Object.fromEntries(odd.map((v, i) => [`k${i}`, v]));
  const mine = plainYaml(obj);
  const theirs = packageYaml(obj);
  for (const v of odd.slice(0, -1)) assert.match(theirs, new RegExp(`: "${v}"\n`), v);
  assert.match(theirs, /: "a\\Lb"\n/);
  // plainYaml leaves the line separator to the package, and prints the others as it does
  assert.equal(mine, undefined);
  const { k10: _ls, ...rest } = obj;
  assert.equal(plainYaml(rest), packageYaml(rest));
  // and the yaml package reads both back as the strings
  assert.deepEqual(parseAllDocuments(theirs)[0]!.toJS(), obj);
  // keys too: `on:` and `n:` are booleans to YAML 1.1
  assert.equal(plainYaml({ on: "x", n: 1 }), '"on": x\n"n": 1\n');
});
