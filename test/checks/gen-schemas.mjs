#!/usr/bin/env node
// @ts-check
// kubeconform schemas, strict (additionalProperties: false wherever properties are listed), in
// kubeconform's own layout, so `-strict -kubernetes-version X.Y.Z -schema-location DIR/{{...}}` finds them.
//
//   gen-schemas.mjs builtin SWAGGER.json VERSION OUTDIR
//       OUTDIR/vX.Y.Z-standalone-strict/<kind>[-<group0>]-<version>.json, from the OpenAPI v2 spec of
//       k8s.io/kubernetes (api/openapi-spec/swagger.json in the module)
//   gen-schemas.mjs crds OUTDIR CRD.yaml...
//       OUTDIR/<kind>-<group0>-<version>.json, one per version of each CustomResourceDefinition
//
// Our own rewrite of the generators in research/manifest-checks.md, Appendix C.
import fs from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";

/**
 * @typedef {Record<string, unknown>} Obj a JSON object (JSDoc has no recursive type for all of JSON)
 * @typedef {Obj & { properties?: Obj, definitions?: Obj }} Schema
 * @typedef {Obj & { "x-kubernetes-group-version-kind"?: { group: string, version: string, kind: string }[] }} Definition
 * @typedef {{ kind?: string, spec: { group: string, names: { kind: string },
 *   versions: { name: string, schema: { openAPIV3Schema: unknown } }[] } }} Crd
 */

const DROP = new Set([
  "description",
  "x-kubernetes-patch-strategy",
  "x-kubernetes-patch-merge-key",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-map-type",
  "x-kubernetes-unions",
  "x-kubernetes-group-version-kind",
  "format",
]);
/** @type {Record<string, Obj>} */
const SPECIAL = {
  "io.k8s.apimachinery.pkg.util.intstr.IntOrString": { oneOf: [{ type: "string" }, { type: "integer" }] },
  "io.k8s.apimachinery.pkg.api.resource.Quantity": { oneOf: [{ type: "string" }, { type: "number" }] },
};

/**
 * One OpenAPI v2 schema as a strict JSON schema (draft 4 style; refs stay #/definitions/...).
 * @param {unknown} s
 * @returns {unknown}
 */
function convert(s) {
  if (Array.isArray(s)) return s.map(convert);
  if (!s || typeof s !== "object") return s;
  const o = /** @type {Obj} */ (s);
  if (o.$ref) return { $ref: o.$ref };
  if (o.format === "int-or-string") return { oneOf: [{ type: "string" }, { type: "integer" }, { type: "null" }] };
  /** @type {Schema} */
  const out = {};
  for (const [k, v] of Object.entries(o)) {
    if (DROP.has(k)) continue;
    if (k === "properties")
      out[k] = Object.fromEntries(Object.entries(/** @type {Obj} */ (v)).map(([pk, pv]) => [pk, convert(pv)]));
    else if ((k === "items" || k === "additionalProperties") && v && typeof v === "object") out[k] = convert(v);
    else out[k] = v;
  }
  if (typeof out.type === "string") out.type = [out.type, "null"];
  if (out.properties && !("additionalProperties" in out) && !o["x-kubernetes-preserve-unknown-fields"])
    out.additionalProperties = false;
  return out;
}

/**
 * The definitions a definition refers to, transitively (itself included).
 * @param {Record<string, Definition>} defs
 * @param {string} root
 */
function closure(defs, root) {
  /** @type {Set<string>} */
  const seen = new Set();
  const todo = [root];
  while (todo.length) {
    const n = /** @type {string} */ (todo.pop());
    if (seen.has(n)) continue;
    seen.add(n);
    if (SPECIAL[n]) continue;
    for (const m of JSON.stringify(defs[n]).matchAll(/"\$ref":"#\/definitions\/([^"]+)"/g))
      todo.push(/** @type {string} */ (m[1]));
  }
  return seen;
}

/** @param {string} swaggerFile @param {string} version @param {string} outDir */
function builtin(swaggerFile, version, outDir) {
  /** @type {Record<string, Definition>} */
  const defs = JSON.parse(fs.readFileSync(swaggerFile, "utf8")).definitions;
  const dir = path.join(outDir, `${version}-standalone-strict`);
  fs.mkdirSync(dir, { recursive: true });
  let count = 0;
  for (const [name, def] of Object.entries(defs)) {
    for (const { group, version: v, kind } of def["x-kubernetes-group-version-kind"] ?? []) {
      if (kind.endsWith("List") || ["WatchEvent", "DeleteOptions", "Status"].includes(kind)) continue;
      const schema = /** @type {Schema} */ (convert(def));
      schema.properties ??= {};
      schema.properties.apiVersion = { type: ["string", "null"], enum: [group ? `${group}/${v}` : v] };
      schema.properties.kind = { type: ["string", "null"], enum: [kind] };
      schema.definitions = {};
      for (const c of closure(defs, name)) if (c !== name) schema.definitions[c] = SPECIAL[c] ?? convert(defs[c]);
      schema.$schema = "http://json-schema.org/schema#";
      const suffix = group ? `-${group.split(".")[0]}-${v}` : `-${v}`;
      fs.writeFileSync(path.join(dir, `${kind.toLowerCase()}${suffix}.json`), JSON.stringify(schema));
      count++;
    }
  }
  return count;
}

/**
 * A CRD's openAPIV3Schema made strict the same way (int-or-string spelled out).
 * @param {unknown} s
 * @returns {unknown}
 */
function strictCrd(s) {
  if (Array.isArray(s)) return s.map(strictCrd);
  if (!s || typeof s !== "object") return s;
  /** @type {Obj} */
  const out = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, strictCrd(v)]));
  if (out["x-kubernetes-int-or-string"]) return { oneOf: [{ type: "string" }, { type: "integer" }] };
  if (out.properties && !("additionalProperties" in out) && !out["x-kubernetes-preserve-unknown-fields"])
    out.additionalProperties = false;
  return out;
}

/** @param {string} outDir @param {string[]} files */
function crds(outDir, files) {
  fs.mkdirSync(outDir, { recursive: true });
  let count = 0;
  for (const f of files) {
    for (const doc of parseAllDocuments(fs.readFileSync(f, "utf8"))) {
      const crd = /** @type {Crd | null} */ (doc.toJS());
      if (crd?.kind !== "CustomResourceDefinition") continue;
      const group = crd.spec.group;
      const kind = crd.spec.names.kind;
      for (const v of crd.spec.versions) {
        fs.writeFileSync(
          path.join(outDir, `${kind.toLowerCase()}-${group.split(".")[0]}-${v.name}.json`),
          JSON.stringify(strictCrd(v.schema.openAPIV3Schema)),
        );
        count++;
      }
    }
  }
  return count;
}

const [mode, ...args] = process.argv.slice(2);
if (mode === "builtin" && args.length === 3) {
  const [swaggerFile, version, outDir] = /** @type {[string, string, string]} */ (args);
  console.log(`${version}: ${builtin(swaggerFile, version, outDir)} schemas`);
} else if (mode === "crds" && args.length >= 2) {
  console.log(`crds: ${crds(/** @type {string} */ (args[0]), args.slice(1))} schemas`);
} else {
  console.error("usage: gen-schemas.mjs builtin SWAGGER.json VERSION OUTDIR | crds OUTDIR CRD.yaml...");
  process.exit(2);
}
