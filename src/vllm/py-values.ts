/**
 * How vLLM's parser converts a `vllm serve` value, emulated: Python's int()/float()/json.loads, vLLM's
 * human-readable integers, and pydantic's (lax, JSON-mode) validation of config objects against the
 * JSON schema each catalog records. Pure.
 */
import { crossFieldProblem, foldedCase, probeVerdict, type ProbeTable } from "./config-probes.js";
import { expandJsonHumanNumbers, humanReadableInt, Invalid, pyFloat, pyInt } from "./py-numbers.js";

export { expandJsonHumanNumbers, humanReadableInt, Invalid, pyFloat, pyInt };
import type { JsonSchema, TypeSpec } from "./catalog.js";

export type PyValue = unknown;
/** Python's json.loads (NaN, Infinity and -Infinity included). */
export function pyJsonLoads(s: string): PyValue {
  try {
    return JSON.parse(s);
  } catch (e) {
    // Python also reads the bare tokens NaN / Infinity / -Infinity
    const parts = s.split(/("(?:[^"\\]|\\.)*")/);
    let changed = false;
    for (let i = 0; i < parts.length; i += 2) {
      parts[i] = parts[i]!.replace(/-?\b(NaN|Infinity)\b/g, (t) => {
        changed = true;
        return JSON.stringify(`\u0000${t}`);
      });
    }
    if (!changed) throw new Invalid(`not JSON: ${(e as Error).message}`);
    let v: unknown;
    try {
      v = JSON.parse(parts.join(""));
    } catch {
      throw new Invalid(`not JSON: ${(e as Error).message}`);
    }
    const revive = (x: unknown): unknown =>
      typeof x === "string" && x.startsWith("\u0000")
        ? x.includes("NaN")
          ? Number.NaN
          : x.startsWith("\u0000-")
            ? -Infinity
            : Infinity
        : Array.isArray(x)
          ? x.map(revive)
          : x && typeof x === "object"
            ? Object.fromEntries(Object.entries(x).map(([k, y]) => [k, revive(y)]))
            : x;
    return revive(v);
  }
}

const TRUE = new Set(["1", "on", "t", "true", "y", "yes"]);
const FALSE = new Set(["0", "off", "f", "false", "n", "no"]);

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function fits(type: string, v: unknown): boolean {
  switch (type) {
    case "null":
      return v === null;
    case "string":
      return typeof v === "string";
    case "boolean":
      return (
        typeof v === "boolean" ||
        v === 0 ||
        v === 1 ||
        (typeof v === "string" && (TRUE.has(v.toLowerCase()) || FALSE.has(v.toLowerCase())))
      );
    case "integer":
      return (
        (typeof v === "number" && Number.isInteger(v)) ||
        typeof v === "boolean" ||
        (typeof v === "string" && /^\s*[+-]?\d+\s*$/.test(v))
      );
    case "number":
      return (
        typeof v === "number" ||
        typeof v === "boolean" ||
        (typeof v === "string" &&
          /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$|^\s*[+-]?(inf|infinity|nan)\s*$/i.test(v))
      );
    case "object":
      return v !== null && typeof v === "object" && !Array.isArray(v);
    case "array":
      return Array.isArray(v);
    default:
      return true;
  }
}

function num(v: unknown): number {
  return typeof v === "string" ? Number(v) : typeof v === "boolean" ? Number(v) : (v as number);
}

/** Pydantic-style lax validation of a JSON value; returns the first problem, or undefined. */
export function validateJsonSchema(
  v: unknown,
  schema: JsonSchema | boolean | undefined,
  root: JsonSchema,
  at = "",
): string | undefined {
  if (schema === undefined || schema === true) return undefined;
  if (schema === false) return `${at || "value"}: not allowed`;
  return (
    composedProblem(v, schema, root, at) ??
    valueProblem(v, schema, at || "the value") ??
    (Array.isArray(v) ? itemsProblem(v, schema, root, at) : propertiesProblem(v, schema, root, at))
  );
}

/**
 * The schemas this one is made of: its $ref, every allOf, and a union (anyOf/oneOf) of which no branch
 * fits, reported by the branch that says most (a wrong kind of value, or null, only when all say that).
 */
function composedProblem(v: unknown, schema: JsonSchema, root: JsonSchema, at: string): string | undefined {
  if (schema.$ref) {
    const name = decodeURIComponent(schema.$ref.replace(/^#\/\$defs\//, ""));
    const target = schema.$ref === "#" ? root : root.$defs?.[name];
    const bad = validateJsonSchema(v, target, root, at);
    if (bad) return bad;
  }
  if (schema.allOf)
    for (const s of schema.allOf) {
      const bad = validateJsonSchema(v, s, root, at);
      if (bad) return bad;
    }
  const union = schema.anyOf ?? schema.oneOf;
  if (union) {
    const errors = union.map((s) => validateJsonSchema(v, s, root, at));
    if (!errors.includes(undefined)) return errors.find((e) => e && !/ is not (null|of type)/.test(e)) ?? errors[0];
  }
  return undefined;
}

/** The value itself against enum, const, type and, for a number, its bounds. `where` names it in the message. */
function valueProblem(v: unknown, schema: JsonSchema, where: string): string | undefined {
  if (schema.enum && !schema.enum.some((e) => e === v || (typeof v === "boolean" && e === Number(v)))) {
    const shown =
      schema.enum.length <= 6
        ? schema.enum.map((e) => JSON.stringify(e)).join(", ")
        : `${schema.enum
            .slice(0, 4)
            .map((e) => JSON.stringify(e))
            .join(", ")} (and ${schema.enum.length - 4} more)`;
    return `${where} must be one of ${shown}, got ${JSON.stringify(v)}`;
  }
  if ("const" in schema && schema.const !== v)
    return `${where} must be ${JSON.stringify(schema.const)}, got ${JSON.stringify(v)}`;
  if (schema.type === undefined) return undefined;
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  if (!types.some((t) => fits(t, v)))
    return `${where} is not of type ${types.join(" or ")} (got ${typeOf(v)} ${JSON.stringify(v)})`;
  const numeric = types.includes("integer") || types.includes("number");
  if (!numeric || typeof v === "object") return undefined;
  const n = num(v);
  if (types.includes("integer") && !types.includes("number") && !Number.isInteger(n))
    return `${where} must be a whole number, got ${JSON.stringify(v)}`;
  if (schema.minimum !== undefined && n < schema.minimum)
    return `${where} must be ≥ ${schema.minimum}, got ${JSON.stringify(v)}`;
  if (schema.maximum !== undefined && n > schema.maximum)
    return `${where} must be ≤ ${schema.maximum}, got ${JSON.stringify(v)}`;
  if (schema.exclusiveMinimum !== undefined && n <= schema.exclusiveMinimum)
    return `${where} must be > ${schema.exclusiveMinimum}, got ${JSON.stringify(v)}`;
  if (schema.exclusiveMaximum !== undefined && n >= schema.exclusiveMaximum)
    return `${where} must be < ${schema.exclusiveMaximum}, got ${JSON.stringify(v)}`;
  return undefined;
}

/** A list: its length, then each item against prefixItems (by position) or items. */
function itemsProblem(v: unknown[], schema: JsonSchema, root: JsonSchema, at: string): string | undefined {
  const where = at || "the value";
  if (schema.minItems !== undefined && v.length < schema.minItems)
    return `${where} needs at least ${schema.minItems} items`;
  if (schema.maxItems !== undefined && v.length > schema.maxItems)
    return `${where} takes at most ${schema.maxItems} items`;
  const prefix = schema.prefixItems ?? [];
  for (let i = 0; i < v.length; i++) {
    const bad = validateJsonSchema(v[i], i < prefix.length ? prefix[i] : schema.items, root, `${at}[${i}]`);
    if (bad) return bad;
  }
  return undefined;
}

/**
 * An object, when the schema says anything of its keys: each key against its property (a key unknown to a
 * closed schema, or private, is named with the keys there are), or against additionalProperties; then the
 * required keys.
 */
function propertiesProblem(v: unknown, schema: JsonSchema, root: JsonSchema, at: string): string | undefined {
  if (
    v === null ||
    typeof v !== "object" ||
    !(schema.properties || schema.additionalProperties !== undefined || schema.required)
  )
    return undefined;
  const obj = v as Record<string, unknown>;
  for (const [k, x] of Object.entries(obj)) {
    // pydantic dataclasses take no private (_x) fields from input
    const sub = k.startsWith("_") ? undefined : schema.properties?.[k];
    const key = at ? `${at}.${k}` : k;
    if (sub !== undefined) {
      const bad = validateJsonSchema(x, sub, root, key);
      if (bad) return bad;
    } else if (schema.additionalProperties === false || (k.startsWith("_") && schema.properties?.[k])) {
      const known = Object.keys(schema.properties ?? {});
      return `${key} is not a key of this config${known.length ? ` (keys: ${known.join(", ")})` : ""}`;
    } else if (typeof schema.additionalProperties === "object") {
      const bad = validateJsonSchema(x, schema.additionalProperties, root, key);
      if (bad) return bad;
    }
  }
  for (const r of schema.required ?? []) if (!(r in obj)) return `${at ? `${at}.` : ""}${r} is required`;
  return undefined;
}

/** Apply an argparse `type` callable of the catalog; throws Invalid the way the real one raises. */
export interface ConvertContext {
  /** per config schema, the real validators' verdicts on probe values (see config-probes.ts) */
  probes?: Record<string, ProbeTable>;
  /** filled with what cannot be checked offline */
  warnings?: string[];
  /** the release's registered names (catalog `registered`: registry → names), e.g. AttentionBackendEnum's */
  registered?: Record<string, { names: string[]; registry: string }>;
}

/**
 * A config field whose validator looks a string up by enum member name, upper-cased (vLLM's docs write
 * {"backend": "FLASH_ATTN"}, {"cudagraph_mode": "FULL_AND_PIECEWISE"}, {"mode": "vllm_compile"}): the probe
 * "x" shows it (KeyError: 'X', "Valid ... are: A, B"). The names: the release's registry of that enum, or the
 * list the validator's message gives when it is whole; undefined names: a lookup whose names are not known.
 */
function memberNames(
  table: ProbeTable | undefined,
  field: string,
  prop: JsonSchema | undefined,
  ctx: ConvertContext,
): { names?: string[] } | undefined {
  const e = table?.[field]?.['"x"'];
  if (!e || !/KeyError: 'X'|: 'X'\.|Valid (?:options|modes|values) are: /.test(e)) return undefined;
  const refs = [prop?.$ref, ...(prop?.anyOf ?? []).map((x) => x.$ref)]
    .filter(Boolean)
    .map((r) => r!.replace(/^#\/\$defs\//, ""));
  const reg = Object.values(ctx.registered ?? {}).find((r) => refs.includes(r.registry));
  if (reg) return { names: reg.names };
  // the list is whole when something follows it (" [type=", "."), or the message was not cut at 240 characters
  const m = /Valid (?:options|modes|values) are: ([A-Z0-9_]+(?:, [A-Z0-9_]+)*)( \[|\.|$)/.exec(e);
  return m && (m[2] || e.length < 240) ? { names: m[1]!.split(", ") } : {};
}

export function convert(
  type: TypeSpec | null,
  value: string,
  schemas: Record<string, JsonSchema>,
  ctx: ConvertContext = {},
): PyValue {
  if (!type) return value;
  switch (type.kind) {
    case "optional":
      return value === "" || value === "None" ? null : convert(type.inner, value, schemas, ctx);
    case "int":
      return pyInt(value);
    case "float":
      return pyFloat(value);
    case "pybool":
      return value !== "";
    case "json":
      return pyJsonLoads(value);
    case "human_readable_int":
      return humanReadableInt(value);
    case "human_readable_int_or_auto":
      if (value.trim() === "-1" || value.trim().toLowerCase() === "auto") return -1;
      return humanReadableInt(value);
    case "union_dict_and_str":
      return /^\s*\{[\s\S]*\}\s*$/.test(value) ? (value === "" || value === "None" ? null : pyJsonLoads(value)) : value;
    case "lower":
      return value.toLowerCase();
    case "lower_underscore":
      return value.toLowerCase().replace(/-/g, "_");
    case "enum": {
      const i = type.values.indexOf(value);
      if (i >= 0) return type.values[i];
      if (/^-?\d+$/.test(value) && type.values.includes(String(Number(value)))) return String(Number(value));
      throw new Invalid(`invalid ${type.name} value: '${value}'`);
    }
    case "dataclass": {
      const text = type.human_readable_numbers === false ? value : expandJsonHumanNumbers(value);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (e) {
        throw new Invalid(`${type.config} expects a JSON object: ${(e as Error).message}`);
      }
      const schema = schemas[type.schema];
      if (!fits("object", parsed))
        throw new Invalid(`${type.config} expects a JSON object, got ${JSON.stringify(parsed)}`);
      if (schema) checkConfigObject(type, parsed as Record<string, unknown>, schema, ctx);
      return parsed;
    }
    default:
      return value;
  }
}

/**
 * A config object, field by field: the real validators' verdict where the probes tell it, else the JSON
 * schema; then the release's cross-field rules. A field the schema cannot describe (a custom validator)
 * and the probes do not decide is "not checked offline".
 */
function checkConfigObject(
  type: Extract<TypeSpec, { kind: "dataclass" }>,
  obj: Record<string, unknown>,
  schema: JsonSchema,
  ctx: ConvertContext,
): void {
  const table = ctx.probes?.[type.schema];
  const hr = type.human_readable_numbers !== false;
  const keys = Object.keys(obj);
  const perKey: JsonSchema = { ...schema, required: [] };
  for (const k of keys) {
    const pv = probeVerdict(table, k, obj[k], hr);
    if (pv?.ok) continue;
    // the schema's message when it agrees (it names the keys); the probe's when only vLLM's validator refuses
    const bad = validateJsonSchema({ [k]: obj[k] }, perKey, schema);
    if (bad && !pv && typeof obj[k] === "string") {
      // a validator that lower-cases (or upper-cases) before comparing with the names the schema lists
      const fits = (s: string) => validateJsonSchema({ [k]: s }, perKey, schema) === undefined;
      const fold = foldedCase(table, k, fits);
      const v = obj[k] as string;
      if (fold && fits(fold === "lower" ? v.toLowerCase() : v.toUpperCase())) continue;
      const byName = memberNames(table, k, k.startsWith("_") ? undefined : schema.properties?.[k], ctx);
      if (byName) {
        if (!byName.names && /^[A-Za-z][A-Za-z0-9_]*$/.test(v)) {
          ctx.warnings?.push(
            `${type.config}.${k} = ${JSON.stringify(v)}: vLLM looks it up by member name, which is not checked offline; vLLM checks it when the server starts`,
          );
          continue;
        }
        if (!byName.names) throw new Invalid(`${type.config}: ${k}: ${JSON.stringify(v)} is not a member name`);
        if (byName.names.includes(v.toUpperCase())) continue;
        const near = byName.names.filter((n) => n.includes(v.toUpperCase()) || v.toUpperCase().includes(n)).slice(0, 3);
        throw new Invalid(
          `${type.config}: ${k}: ${JSON.stringify(v)} is not one of its ${byName.names.length} names${near.length ? ` (close: ${near.join(", ")})` : ""}`,
        );
      }
    }
    if (bad) throw new Invalid(`${type.config}: ${bad}`);
    if (pv && (pv.fieldLevel || keys.length === 1))
      throw new Invalid(`${type.config}: vLLM refuses ${k}: ${JSON.stringify(obj[k])} (${shortError(pv.error!)})`);
    const sub = k.startsWith("_") ? undefined : schema.properties?.[k];
    if (!pv && schema["x-vllmapp-partial"] && sub && Object.keys(sub).length === 0) {
      ctx.warnings?.push(
        `${type.config}.${k} = ${JSON.stringify(obj[k])} is not checked offline (vLLM validates it with its own function); vLLM checks it when the server starts`,
      );
    }
  }
  for (const r of schema.required ?? []) if (!(r in obj)) throw new Invalid(`${type.config}: ${r} is required`);
  const defaults = Object.fromEntries(
    Object.entries(schema.properties ?? {}).flatMap(([k, p]) =>
      typeof p === "object" && "default" in p ? [[k, p.default]] : [],
    ),
  );
  const cross = crossFieldProblem(type.config, table, obj, defaults);
  if (cross) throw new Invalid(`${type.config}: ${cross}`);
}

function shortError(e: string): string {
  return e
    .replace(/^ValidationError: \d+ validation errors? for \w+ /, "")
    .replace(/ \[type=[^\]]*\]/g, "")
    .replace(/ For further information.*$/, "")
    .slice(0, 200);
}
