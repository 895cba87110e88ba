/**
 * The JSON Schema of vllm-app.yaml, generated from the zod schema (`npm run schema`; pinned by
 * test/unit/schema.test.ts), for editors: it compiles under strict ajv with the standard formats only,
 * every field has a description (field-docs.ts fills what schema.ts does not say), and it encodes what
 * a schema can of the CLI's rules, from the same sources: GPU strings (the GPU catalog), quantities,
 * durations, and exactly one model source. Where a value fails, the language server shows the CLI's
 * words for it (`errorMessage`, `patternErrorMessage`: its keywords, and VS Code's), not "Incorrect type".
 */
import * as z from "zod/mini";
import { FIELD_DOCS } from "./field-docs.js";
import { GPU_TYPE_NAMES, GPU_TYPES, MIG_PROFILE_RE, type GpuVendor } from "./gpus.js";
import { appConfigSchema, duration, HF_REPO, quantity } from "./schema.js";
import { DURATION_PATTERN, QUANTITY_PATTERN } from "./units.js";

/**
 * The keywords the schema adds for the language server's messages (yaml-language-server and VS Code read
 * them; other validators ignore them). Strict ajv wants them declared: `ajv.addVocabulary(EDITOR_KEYWORDS)`.
 */
export const EDITOR_KEYWORDS = ["errorMessage", "patternErrorMessage"] as const;

/** What the editor says where a value fails: the CLI's words for the same mistake (pinned by test/unit/schema.test.ts). */
export const SCHEMA_MESSAGES = {
  duration: 'not a duration; write seconds (300) or a string like "90s", "5m", "1h30m"',
  quantity: 'not a Kubernetes quantity; write e.g. "16Gi", "500Mi", "4" or "500m"',
  bytes: 'not a byte quantity; write e.g. "16Gi" or "500Mi" (a bare number is bytes, "m" is milli)',
  gpu: `write "TYPE:COUNT" (e.g. "L4:1", "H100:8", "A100 80G:4") with a count of at least 1, a count (0: no GPU), or {type, count}; TYPE is one of ${GPU_TYPE_NAMES.join(", ")}; a GPU not in this list: gpu: COUNT and select the nodes with pod_template`,
  gpuType: `unknown GPU type; known: ${GPU_TYPE_NAMES.join(", ")}`,
  modelSource: "no model source; set exactly one of model_hf_path or model_path",
  bothSources: "both model_hf_path and model_path are set; keep exactly one",
  hfRepo: "not a Hugging Face repo id; write org/name, optionally @revision (e.g. Qwen/Qwen3-0.6B)",
  modelPath:
    "not a model path; write s3://bucket/prefix, gs://…, az://…, pvc://CLAIM/path, models:/NAME/VERSION or an absolute path in the container (a Hugging Face repo goes in model_hf_path)",
  minZero:
    "min 0 replicas cannot wake up: the autoscaler reads vLLM's own metrics, and at zero pods there are none; add scaling.wake: http-add-on",
  cudaOnAmd:
    "vLLM's CUDA image on an AMD GPU finds no device; use the ROCm build (vllm/vllm-openai-rocm:TAG) or image: auto",
  rocmOnNvidia: "a ROCm (AMD) image on an NVIDIA GPU; use the CUDA build (vllm/vllm-openai:TAG) or image: auto",
} as const;

/**
 * Byte quantities (memory, shm, disk, cache size) as the CLI's rules take them (rules.ts): a bare
 * number is bytes, so one under 1Mi is an error, and so is `m` (milli); decimal units are a warning only.
 */
const MEBIBYTE = 2 ** 20;
const AT_LEAST_1MI =
  "([1-9]\\d{7,}|[2-9]\\d{6}|1[1-9]\\d{5}|10[5-9]\\d{4}|1049\\d{3}|1048[6-9]\\d{2}|10485[89]\\d|104857[6-9])(\\.\\d+)?";
const BYTE_QUANTITY_PATTERN = `^\\s*((\\d+(\\.\\d+)?|\\.\\d+)(k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)|${AT_LEAST_1MI})\\s*$`;
const BYTE_FIELDS = [
  ["resources", "memory"],
  ["resources", "shm"],
  ["resources", "disk"],
  ["cache", "size"],
];

function byteRules(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(byteRules);
  if (node === null || typeof node !== "object") return;
  const n = node as Json;
  if (n.type === "string" && n.pattern === QUANTITY_PATTERN)
    Object.assign(n, {
      pattern: BYTE_QUANTITY_PATTERN,
      patternErrorMessage: SCHEMA_MESSAGES.bytes,
      errorMessage: SCHEMA_MESSAGES.bytes,
    });
  if (
    n.type === "number" &&
    n.minimum === 0 &&
    Object.keys(n).length === 3 &&
    n.errorMessage === SCHEMA_MESSAGES.quantity
  )
    Object.assign(n, { minimum: MEBIBYTE, errorMessage: SCHEMA_MESSAGES.bytes });
  for (const v of Object.values(n)) byteRules(v);
}

export const SCHEMA_ID = "https://vllmapp.dev/schema/v1/vllm-app.schema.json";

type Json = Record<string, unknown>;

const STANDARD_FORMATS = new Set([
  "date-time",
  "date",
  "time",
  "duration",
  "email",
  "idn-email",
  "hostname",
  "idn-hostname",
  "ipv4",
  "ipv6",
  "uri",
  "uri-reference",
  "iri",
  "iri-reference",
  "uuid",
  "uri-template",
  "json-pointer",
  "relative-json-pointer",
  "regex",
]);

/**
 * What strict ajv (and so every editor's validator) wants and the generator does not give:
 * `type: [string, number]` as an anyOf of single types, and only the standard formats (zod writes
 * `starts_with` and the like next to the pattern that says the same).
 */
function strict(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strict);
  if (node === null || typeof node !== "object") return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node))
    out[k] =
      k === "properties" || k === "$defs"
        ? Object.fromEntries(Object.entries(v as Json).map(([pk, pv]) => [pk, strict(pv)]))
        : strict(v);
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
  for (const key of ["anyOf", "oneOf", "allOf", "items", "prefixItems", "additionalProperties"])
    if (n[key] !== undefined) describe(n[key], path);
}

/**
 * A GPU type as findGpuType reads it: its letters and digits, without case, are a name or alias of the
 * catalog ("GB" at the end is "G"); anything else (spaces, '-', '_') does not matter. `vendor`: only its GPUs.
 */
function gpuTypePattern(vendor?: GpuVendor): string {
  const norm = (s: string) =>
    s
      .toUpperCase()
      .replace(/[^A-Z0-9]/g, "")
      .replace(/GB$/, "G");
  const types = GPU_TYPES.filter((t) => vendor === undefined || t.vendor === vendor);
  const keys = [...new Set(types.flatMap((t) => [t.name, ...t.aliases]).map(norm))].sort((a, b) => b.length - a.length);
  const sep = "[^A-Za-z0-9]*";
  const one = (k: string) =>
    [...k].map((c) => (/[A-Z]/.test(c) ? `[${c}${c.toLowerCase()}]` : c)).join(sep) +
    (k.endsWith("G") ? `(${sep}[Bb])?` : "");
  return `${sep}(${keys.map(one).join("|")})${sep}`;
}

function gpuRules(schema: Json): void {
  const gpu = (((schema.properties as Json).resources as Json | undefined)?.properties as Json | undefined)?.gpu as
    Json | undefined;
  const type = gpuTypePattern();
  const branches = (gpu?.anyOf as Json[] | undefined) ?? [];
  for (const branch of branches) {
    // "TYPE:N" (a trailing :N is the count, as the CLI reads it; at least 1, as the CLI says), or "TYPE"
    if (branch.type === "string")
      Object.assign(branch, {
        pattern: `^(${type}:0*[1-9]\\d*\\s*|(?!.*:\\d+\\s*$)${type})$`,
        patternErrorMessage: SCHEMA_MESSAGES.gpu,
      });
    if (branch.type === "object") {
      const props = branch.properties as Json;
      Object.assign(props.type as Json, { pattern: `^${type}$`, patternErrorMessage: SCHEMA_MESSAGES.gpuType });
      (props.partition as Json).pattern = MIG_PROFILE_RE.source;
    }
    branch.errorMessage = SCHEMA_MESSAGES.gpu;
  }
  branches.sort((a, b) => Number(b.type === "string") - Number(a.type === "string"));
}

/**
 * How the language server words a value that no alternative takes: the first alternative's problem
 * (so the string form goes first: strings are what people mistype), except that type mismatches of
 * several alternatives are merged into "Incorrect type. Expected integer | object", dropping our
 * words. A type written as a list of one is the same type to every validator, but its mismatch is
 * not merged, so each alternative that carries our words gets one.
 */
function unmerged(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(unmerged);
  if (node === null || typeof node !== "object") return;
  const n = node as Json;
  if (typeof n.type === "string" && typeof n.errorMessage === "string") n.type = [n.type];
  for (const v of Object.values(n)) unmerged(v);
}

/** resources.gpu names a GPU of `vendor` (a string or {type}). */
function gpuOfVendor(vendor: GpuVendor): Json {
  const type = gpuTypePattern(vendor);
  return {
    properties: {
      resources: {
        type: "object",
        properties: {
          gpu: {
            anyOf: [
              { type: "string", pattern: `^${type}(:\\s*\\d+\\s*)?$` },
              { type: "object", properties: { type: { type: "string", pattern: `^${type}$` } }, required: ["type"] },
            ],
          },
        },
        required: ["gpu"],
      },
    },
    required: ["resources"],
  };
}

/** vLLM's CUDA image, as src/render/app.ts tells it from the ROCm builds. */
const CUDA_IMAGE = "^(docker\\.io/)?vllm/vllm-openai(:|@|$)";
const ROCM_IMAGE = "(^|/)(vllm-openai-rocm|rocm/vllm)(:|@|$)|-rocm(:|@|$)|[Rr][Oo][Cc][Mm][^/]*$";

/** `field` is given (strict ajv wants each required property named beside `required`). */
function present(field: string): Json {
  return { type: "object", properties: { [field]: true }, required: [field] };
}

/** The CLI's cross-field rules that a schema can say (if/then), each with the CLI's message. */
function crossFieldRules(): Json[] {
  return [
    // exactly one model source (an if/then, not oneOf: the language server words a oneOf failure itself)
    {
      if: present("model_hf_path"),
      then: { type: "object", properties: { model_path: false }, errorMessage: SCHEMA_MESSAGES.bothSources },
    },
    {
      anyOf: [
        { ...present("model_hf_path"), errorMessage: SCHEMA_MESSAGES.modelSource },
        { ...present("model_path"), errorMessage: SCHEMA_MESSAGES.modelSource },
      ],
    },
    // autoscaling from zero needs something that sees requests while no pod runs
    {
      if: {
        properties: {
          scaling: {
            type: "object",
            properties: { replicas: { type: "array", prefixItems: [{ const: 0 }, {}], minItems: 2, items: false } },
            required: ["replicas"],
          },
        },
        required: ["scaling"],
      },
      then: { properties: { scaling: { ...present("wake"), errorMessage: SCHEMA_MESSAGES.minZero } } },
    },
    // the image must fit the GPU's vendor
    {
      if: gpuOfVendor("amd"),
      then: {
        properties: {
          image: {
            type: "string",
            pattern: `^(?!${CUDA_IMAGE.slice(1)})`,
            patternErrorMessage: SCHEMA_MESSAGES.cudaOnAmd,
          },
        },
      },
    },
    {
      if: gpuOfVendor("nvidia"),
      then: {
        properties: {
          image: {
            type: "string",
            pattern: `^(?!.*(${ROCM_IMAGE}))`,
            patternErrorMessage: SCHEMA_MESSAGES.rocmOnNvidia,
          },
        },
      },
    },
  ];
}

/** model_hf_path and the string form of model_path: the forms the CLI reads (src/models/source.ts). */
function sourceRules(props: Json): void {
  Object.assign(props.model_hf_path as Json, { pattern: HF_REPO.source, patternErrorMessage: SCHEMA_MESSAGES.hfRepo });
  for (const branch of ((props.model_path as Json).anyOf as Json[] | undefined) ?? []) {
    if (branch.type !== "string") continue;
    Object.assign(branch, {
      pattern:
        "^\\s*((s3|gs|az)://[^/\\s]+(/.*)?|pvc://[a-z0-9]([-a-z0-9.]*[a-z0-9])?(/.*)?|models:/[^/@\\s]+(/\\d+|@[A-Za-z0-9_-]+)|/.*)\\s*$",
      patternErrorMessage: SCHEMA_MESSAGES.modelPath,
    });
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
      const [pattern, message] = derivesFrom(s, quantity)
        ? [QUANTITY_PATTERN, SCHEMA_MESSAGES.quantity]
        : derivesFrom(s, duration)
          ? [DURATION_PATTERN, SCHEMA_MESSAGES.duration]
          : [];
      if (pattern === undefined) return;
      const { description } = jsonSchema as Json;
      for (const k of Object.keys(jsonSchema)) delete (jsonSchema as Json)[k];
      // the string form first, and the CLI's words on both forms (see unmerged)
      const anyOf = [
        { type: "string", pattern, patternErrorMessage: message, errorMessage: message },
        { type: "number", minimum: 0, errorMessage: message },
      ];
      Object.assign(jsonSchema, { anyOf, ...(description ? { description } : {}) });
    },
  });
  const schema = strict(generated) as Json;
  const props = schema.properties as Json;
  // `args` exists in the zod schema only to be rejected with "use extra_args"
  delete props.args;
  describe(schema, "");
  gpuRules(schema);
  sourceRules(props);
  for (const [obj, field] of BYTE_FIELDS)
    byteRules((((props[obj!] as Json | undefined)?.properties as Json | undefined) ?? {})[field!]);
  unmerged(schema);
  return {
    ...schema,
    $id: SCHEMA_ID,
    title: "vllm-app.yaml",
    // top-level x-* keys are ignored by the CLI (anchors for merge keys, as in docker compose)
    patternProperties: { "^x-": {} },
    description:
      "One vLLM app for vllmapp (fields follow Flyte 2's VLLMAppEnvironment). vllmapp schema (and vllmapp init) write it beside the app file as vllm-app.schema.json; in a file of several apps, start each document with the same # yaml-language-server: $schema=./vllm-app.schema.json line.",
    allOf: crossFieldRules(),
  };
}

export function jsonSchemaText(): string {
  return `${JSON.stringify(buildJsonSchema(), null, 2)}\n`;
}
