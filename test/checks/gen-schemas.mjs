#!/usr/bin/env node
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
const SPECIAL = {
  "io.k8s.apimachinery.pkg.util.intstr.IntOrString": { oneOf: [{ type: "string" }, { type: "integer" }] },
  "io.k8s.apimachinery.pkg.api.resource.Quantity": { oneOf: [{ type: "string" }, { type: "number" }] },
};

/** One OpenAPI v2 schema as a strict JSON schema (draft 4 style; refs stay #/definitions/...). */
function convert(s) {
  if (Array.isArray(s)) return s.map(convert);
  if (!s || typeof s !== "object") return s;
  if (s.$ref) return { $ref: s.$ref };
  if (s.format === "int-or-string") return { oneOf: [{ type: "string" }, { type: "integer" }, { type: "null" }] };
  const out = {};
  for (const [k, v] of Object.entries(s)) {
    if (DROP.has(k)) continue;
    if (k === "properties") out[k] = Object.fromEntries(Object.entries(v).map(([pk, pv]) => [pk, convert(pv)]));
    else if ((k === "items" || k === "additionalProperties") && v && typeof v === "object") out[k] = convert(v);
    else out[k] = v;
  }
  if (typeof out.type === "string") out.type = [out.type, "null"];
  if (out.properties && !("additionalProperties" in out) && !s["x-kubernetes-preserve-unknown-fields"])
    out.additionalProperties = false;
  return out;
}

/** The definitions a definition refers to, transitively (itself included). */
function closure(defs, root) {
  const seen = new Set();
  const todo = [root];
  while (todo.length) {
    const n = todo.pop();
    if (seen.has(n)) continue;
    seen.add(n);
    if (SPECIAL[n]) continue;
    for (const m of JSON.stringify(defs[n]).matchAll(/"\$ref":"#\/definitions\/([^"]+)"/g)) todo.push(m[1]);
  }
  return seen;
}

function builtin(swaggerFile, version, outDir) {
  const defs = JSON.parse(fs.readFileSync(swaggerFile, "utf8")).definitions;
  const dir = path.join(outDir, `${version}-standalone-strict`);
  fs.mkdirSync(dir, { recursive: true });
  let count = 0;
  for (const [name, def] of Object.entries(defs)) {
    for (const { group, version: v, kind } of def["x-kubernetes-group-version-kind"] ?? []) {
      if (kind.endsWith("List") || ["WatchEvent", "DeleteOptions", "Status"].includes(kind)) continue;
      const schema = convert(def);
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

/** A CRD's openAPIV3Schema made strict the same way (int-or-string spelled out). */
function strictCrd(s) {
  if (Array.isArray(s)) return s.map(strictCrd);
  if (!s || typeof s !== "object") return s;
  const out = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, strictCrd(v)]));
  if (out["x-kubernetes-int-or-string"]) return { oneOf: [{ type: "string" }, { type: "integer" }] };
  if (out.properties && !("additionalProperties" in out) && !out["x-kubernetes-preserve-unknown-fields"])
    out.additionalProperties = false;
  return out;
}

function crds(outDir, files) {
  fs.mkdirSync(outDir, { recursive: true });
  let count = 0;
  for (const f of files) {
    for (const doc of parseAllDocuments(fs.readFileSync(f, "utf8"))) {
      const crd = doc.toJS();
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
  console.log(`${args[1]}: ${builtin(args[0], args[1], args[2])} schemas`);
} else if (mode === "crds" && args.length >= 2) {
  console.log(`crds: ${crds(args[0], args.slice(1))} schemas`);
} else {
  console.error("usage: gen-schemas.mjs builtin SWAGGER.json VERSION OUTDIR | crds OUTDIR CRD.yaml...");
  process.exit(2);
}
