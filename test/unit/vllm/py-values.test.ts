/**
 * validateJsonSchema (vllm/py-values.ts): pydantic's lax validation of a config object against a catalog's
 * JSON schema, one case per rule, with the exact first problem it reports.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { validateJsonSchema } from "../../../src/vllm/py-values.ts";
import type { JsonSchema } from "../../../src/vllm/catalog.ts";

const root: JsonSchema = {
  type: "object",
  additionalProperties: false,
  required: ["level"],
  properties: {
    level: { type: "integer", minimum: 0, maximum: 3 },
    ratio: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 },
    mode: { enum: ["eager", "graph"] },
    backend: { enum: ["a", "b", "c", "d", "e", "f", "g"] },
    version: { const: 2 },
    flag: { type: "boolean" },
    sizes: { type: "array", items: { type: "integer" }, minItems: 1, maxItems: 3 },
    pair: { type: "array", prefixItems: [{ type: "string" }, { type: "integer" }] },
    pass: { $ref: "#/$defs/Pass" },
    either: { anyOf: [{ type: "null" }, { type: "integer" }, { $ref: "#/$defs/Pass" }] },
    both: { allOf: [{ type: "integer" }, { type: "integer", minimum: 5 }] },
    count: { type: ["integer", "string"] },
    extra: { type: "object", additionalProperties: { type: "string" } },
    _private: { type: "integer" },
  },
  $defs: { Pass: { type: "object", properties: { name: { type: "string" } }, required: ["name"] } },
};
const check = (v: unknown) => validateJsonSchema(v, root, root);

test("a config object that fits its schema, lax as pydantic is (numbers and booleans from strings)", () => {
  assert.equal(check({ level: "2", ratio: "0.5", flag: "yes", sizes: [1, "2"], pair: ["x", 1] }), undefined);
  assert.equal(check({ level: 1, pass: { name: "p" }, either: null, both: 7, extra: { k: "v" } }), undefined);
  assert.equal(validateJsonSchema(42, undefined, root), undefined);
  assert.equal(validateJsonSchema(42, true, root), undefined);
  assert.equal(validateJsonSchema(42, false, root), "value: not allowed");
});

test("values: type, whole number, bounds, enum (long ones shortened), const", () => {
  assert.equal(check("x"), 'the value is not of type object (got string "x")');
  assert.equal(check({ level: 1.5 }), "level is not of type integer (got number 1.5)");
  assert.equal(check({ level: 0, count: "1.5" }), 'count must be a whole number, got "1.5"');
  assert.equal(check({ level: -1 }), "level must be ≥ 0, got -1");
  assert.equal(check({ level: 4 }), "level must be ≤ 3, got 4");
  assert.equal(check({ level: 0, ratio: 0 }), "ratio must be > 0, got 0");
  assert.equal(check({ level: 0, ratio: "1" }), 'ratio must be < 1, got "1"');
  assert.equal(check({ level: 0, mode: "lazy" }), 'mode must be one of "eager", "graph", got "lazy"');
  assert.equal(check({ level: 0, backend: "z" }), 'backend must be one of "a", "b", "c", "d" (and 3 more), got "z"');
  assert.equal(check({ level: 0, version: 3 }), "version must be 2, got 3");
  assert.equal(check({ level: 0, flag: "maybe" }), 'flag is not of type boolean (got string "maybe")');
});

test("lists: length, then each item by position (prefixItems) or by items", () => {
  assert.equal(check({ level: 0, sizes: [] }), "sizes needs at least 1 items");
  assert.equal(check({ level: 0, sizes: [1, 2, 3, 4] }), "sizes takes at most 3 items");
  assert.equal(check({ level: 0, sizes: [1, "x"] }), 'sizes[1] is not of type integer (got string "x")');
  assert.equal(check({ level: 0, pair: ["x", "y"] }), 'pair[1] is not of type integer (got string "y")');
});

test("objects: unknown and private keys, additionalProperties, required, $ref, allOf and the union's best branch", () => {
  const keys = Object.keys(root.properties!).join(", ");
  assert.equal(check({ level: 0, levle: 1 }), `levle is not a key of this config (keys: ${keys})`);
  assert.equal(check({ level: 0, _private: 1 }), `_private is not a key of this config (keys: ${keys})`);
  assert.equal(check({ level: 0, extra: { k: 1 } }), "extra.k is not of type string (got integer 1)");
  assert.equal(check({}), "level is required");
  assert.equal(check({ level: 0, pass: {} }), "pass.name is required");
  assert.equal(check({ level: 0, both: 3 }), "both must be ≥ 5, got 3");
  // no branch fits: the first problem that is not a wrong kind of value, else the first branch's
  assert.equal(check({ level: 0, either: {} }), "either.name is required");
  assert.equal(check({ level: 0, either: "x" }), 'either is not of type null (got string "x")');
});
