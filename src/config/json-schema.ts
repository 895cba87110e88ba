/**
 * The JSON Schema of vllm-app.yaml, generated from the zod schema (`npm run schema`; pinned by
 * test/unit/schema.test.ts), for editors: it compiles under strict ajv with the standard formats only,
 * every field has a description (field-docs.ts fills what schema.ts does not say), and it encodes what
 * a schema can of the CLI's rules, from the same sources: GPU strings (the GPU catalog), quantities,
 * durations, and exactly one model source.
 */
import * as z from "zod/mini";
import { FIELD_DOCS } from "./field-docs.js";
import { GPU_TYPES, MIG_PROFILE_RE } from "./gpus.js";
import { appConfigSchema, duration, quantity } from "./schema.js";
import { DURATION_PATTERN, QUANTITY_PATTERN } from "./units.js";

/**
 * Byte quantities (memory, shm, disk, cache size) as the CLI's rules take them (rules.ts): a bare
 * number is bytes, so one under 1Mi is an error, and so is `m` (milli); decimal units are a warning only.
 */
const MEBIBYTE = 2 ** 20;
const AT_LEAST_1MI = "([1-9]\\d{7,}|[2-9]\\d{6}|1[1-9]\\d{5}|10[5-9]\\d{4}|1049\\d{3}|1048[6-9]\\d{2}|10485[89]\\d|104857[6-9])(\\.\\d+)?";
const BYTE_QUANTITY_PATTERN = `^\\s*((\\d+(\\.\\d+)?|\\.\\d+)(k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)|${AT_LEAST_1MI})\\s*$`;
const BYTE_FIELDS = [["resources", "memory"], ["resources", "shm"], ["resources", "disk"], ["cache", "size"]];

function byteRules(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(byteRules);
  if (node === null || typeof node !== "object") return;
  const n = node as Json;
  if (n.type === "string" && n.pattern === QUANTITY_PATTERN) n.pattern = BYTE_QUANTITY_PATTERN;
  if (n.type === "number" && n.minimum === 0 && Object.keys(n).length === 2) n.minimum = MEBIBYTE;
  for (const v of Object.values(n)) byteRules(v);
}

export const SCHEMA_ID = "https://vllmapp.dev/schema/v1/vllm-app.schema.json";

type Json = Record<string, unknown>;

const STANDARD_FORMATS = new Set(["date-time", "date", "time", "duration", "email", "idn-email", "hostname", "idn-hostname", "ipv4", "ipv6", "uri", "uri-reference", "iri", "iri-reference", "uuid", "uri-template", "json-pointer", "relative-json-pointer", "regex"]);

/**
 * What strict ajv (and so every editor's validator) wants and the generator does not give:
 * `type: [string, number]` as an anyOf of single types, and only the standard formats (zod writes
 * `starts_with` and the like next to the pattern that says the same).
 */
function strict(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strict);
  if (node === null || typeof node !== "object") return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) out[k] = k === "properties" || k === "$defs" ? Object.fromEntries(Object.entries(v as Json).map(([pk, pv]) => [pk, strict(pv)])) : strict(v);
  if (typeof out.format === "string" && !STANDARD_FORMATS.has(out.format)) delete out.format;
  if (Array.isArray(out.type)) {
    const { type, ...rest } = out;
    return { ...rest, anyOf: (type as string[]).map((t) => ({ type: t })) };
  }
  return out;
}

/** Every property gets its description: the zod schema's, else FIELD_DOCS' (by path, list items and alternatives left out). */
function describe(node: unknown, path: string): void {
  if (Array.isArray(node)) return node.forEach((n) => describe(n, path));
  if (node === null || typeof node !== "object") return;
  const n = node as Json;
  for (const [k, v] of Object.entries((n.properties as Json | undefined) ?? {})) {
    const p = path ? `${path}.${k}` : k;
    const prop = v as Json;
    if (prop.description === undefined && FIELD_DOCS[p] !== undefined) prop.description = FIELD_DOCS[p];
    describe(prop, p);
  }
  for (const key of ["anyOf", "oneOf", "allOf", "items", "prefixItems", "additionalProperties"]) if (n[key] !== undefined) describe(n[key], path);
}

/**
 * A GPU type as findGpuType reads it: its letters and digits, without case, are a name or alias of the
 * catalog ("GB" at the end is "G"); anything else (spaces, '-', '_') does not matter.
 */
function gpuTypePattern(): string {
  const norm = (s: string) => s.toUpperCase().replace(/[^A-Z0-9]/g, "").replace(/GB$/, "G");
  const keys = [...new Set(GPU_TYPES.flatMap((t) => [t.name, ...t.aliases]).map(norm))].sort((a, b) => b.length - a.length);
  const sep = "[^A-Za-z0-9]*";
  const one = (k: string) => [...k].map((c) => (/[A-Z]/.test(c) ? `[${c}${c.toLowerCase()}]` : c)).join(sep) + (k.endsWith("G") ? `(${sep}[Bb])?` : "");
  return `${sep}(${keys.map(one).join("|")})${sep}`;
}

function gpuRules(schema: Json): void {
  const gpu = (((schema.properties as Json).resources as Json | undefined)?.properties as Json | undefined)?.gpu as Json | undefined;
  const type = gpuTypePattern();
  for (const branch of (gpu?.anyOf as Json[] | undefined) ?? []) {
    // "TYPE:N" (a trailing :N is the count, as the CLI reads it; at least 1, as the CLI says), or "TYPE"
    if (branch.type === "string") branch.pattern = `^(${type}:0*[1-9]\\d*\\s*|(?!.*:\\d+\\s*$)${type})$`;
    if (branch.type === "object") {
      const props = branch.properties as Json;
      (props.type as Json).pattern = `^${type}$`;
      (props.partition as Json).pattern = MIG_PROFILE_RE.source;
    }
  }
}

/** `s` is `base`, or `base` with more checks (a description): it carries base's own check objects. */
type WithChecks = { _zod: { def: { checks?: readonly unknown[] } } };
function derivesFrom(s: WithChecks, base: WithChecks): boolean {
  const own = base._zod.def.checks?.[0];
  return s === base || (own !== undefined && (s._zod.def.checks ?? []).includes(own));
}

export function buildJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(appConfigSchema, {
    io: "input",
    unrepresentable: "any",
    // quantities and durations: the CLI's rules as patterns, on the string form (numbers are ≥ 0)
    override: ({ zodSchema, jsonSchema }) => {
      const s = zodSchema as WithChecks;
      const pattern = derivesFrom(s, quantity) ? QUANTITY_PATTERN : derivesFrom(s, duration) ? DURATION_PATTERN : undefined;
      if (pattern === undefined) return;
      const { description } = jsonSchema as Json;
      for (const k of Object.keys(jsonSchema)) delete (jsonSchema as Json)[k];
      Object.assign(jsonSchema, { anyOf: [{ type: "number", minimum: 0 }, { type: "string", pattern }], ...(description ? { description } : {}) });
    },
  });
  const schema = strict(generated) as Json;
  const props = schema.properties as Json;
  // `args` exists in the zod schema only to be rejected with "use extra_args"
  delete props.args;
  describe(schema, "");
  gpuRules(schema);
  for (const [obj, field] of BYTE_FIELDS) byteRules((((props[obj!] as Json | undefined)?.properties as Json | undefined) ?? {})[field!]);
  return {
    ...schema,
    $id: SCHEMA_ID,
    title: "vllm-app.yaml",
    // top-level x-* keys are ignored by the CLI (anchors for merge keys, as in docker compose)
    patternProperties: { "^x-": {} },
    description: "One vLLM app for vllmapp (fields follow Flyte 2's VLLMAppEnvironment). In a file of several apps, start each document with the same # yaml-language-server: $schema= line.",
    // exactly one model source
    oneOf: [
      { properties: { model_hf_path: true }, required: ["model_hf_path"] },
      { properties: { model_path: true }, required: ["model_path"] },
    ],
  };
}

export function jsonSchemaText(): string {
  return `${JSON.stringify(buildJsonSchema(), null, 2)}\n`;
}
