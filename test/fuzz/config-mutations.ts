/**
 * Mutation fuzzing of the config loader and renderer, in-process on the TypeScript source: real
 * configurations (templates/examples, the golden cases) mutated as text, as bytes and as structure,
 * run through the same load → render pipeline that `vllmapp render` runs.
 * Shared by test/unit/app/plan-fuzz.test.ts (properties) and the server dry-run integration test.
 */
import fc from "fast-check";
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, existsSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { isMap, isSeq, parseDocument } from "yaml";
import { plan } from "../../src/app/plan.ts";
import { nodePlanIo } from "../../src/app/node-io.ts";
import { VllmappError } from "../../src/errors.ts";
import { formatJson, formatYaml } from "../../src/render/format.ts";
import type { RenderedApp } from "../../src/render/types.ts";
import { ROOT } from "../support/cli.ts";

export interface Seed {
  name: string;
  text: string;
  /** files the config includes, copied next to it */
  extras: string[];
  target: "kubernetes" | "docker";
}

export function seedConfigs(): Seed[] {
  const out: Seed[] = [];
  const examples = path.join(ROOT, "templates", "examples");
  for (const f of readdirSync(examples).sort()) {
    const text = readFileSync(path.join(examples, f), "utf8");
    out.push(
      { name: `examples/${f}`, text, extras: [], target: "kubernetes" },
      { name: `examples/${f} (docker)`, text, extras: [], target: "docker" },
    );
  }
  const cases = path.join(ROOT, "test", "golden", "cases");
  for (const c of readdirSync(cases).sort()) {
    const dir = path.join(cases, c);
    const args = existsSync(path.join(dir, "args")) ? readFileSync(path.join(dir, "args"), "utf8") : "";
    const extras = readdirSync(dir)
      .filter((f) => !/^(vllm-app\.yaml|expected\.\w+|args)$/.test(f))
      .map((f) => path.join(dir, f));
    out.push({
      name: `golden/${c}`,
      text: readFileSync(path.join(dir, "vllm-app.yaml"), "utf8"),
      extras,
      target: /docker|--local/.test(args) ? "docker" : "kubernetes",
    });
  }
  return out;
}

/** Tokens that break parsers: YAML indicators, anchors and aliases, encodings, control characters. */
const TOKENS = [
  "&a ",
  "*a",
  "&a [*a]",
  "<<: *a",
  "---\n",
  "...\n",
  "[",
  "]",
  "{",
  "}",
  ": ",
  ":",
  "- ",
  "? ",
  "|",
  ">",
  "!!binary ",
  "!!str ",
  "!x ",
  "#",
  "'",
  '"',
  "\t",
  "\0",
  "\r",
  "\r\n",
  "\uFEFF",
  "\u2028",
  "\xe9",
  "\u{1F600}",
  "\\",
  "%YAML 1.1\n",
  "${",
  "${ctx}",
  "$(id)",
  "~",
  "null",
  "true",
  "-1",
  "0",
  "1e309",
  "0x10",
  ".inf",
  "NaN",
  "9".repeat(40),
  "x".repeat(300),
  "../",
  "/etc/passwd",
  "s3://",
  "pvc://",
  "L4:99",
];

/** Values to drop into a parsed config at a random place. */
const valueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    true,
    false,
    0,
    -1,
    1,
    65536,
    1.5,
    1e21,
    Number.MAX_SAFE_INTEGER,
    "",
    " ",
    "auto",
    "L4:1",
    "H100:8",
    "A100 80G:4",
    "Qwen/Qwen3-0.6B",
    "o/m@rev",
    "s3://b/k",
    "gs://b/k",
    "az://b/k",
    "pvc://claim/sub",
    "pvc://claim/../x",
    "/models/x",
    "models:/m@prod",
    "runs:/abc/model",
    "5m",
    "30m",
    "100Gi",
    "-1Gi",
    "1e3",
    "${ctx}",
    "--max-model-len",
    "--port",
    "0.19.0",
    [],
    {},
    [1, 2],
    ["a", "b"],
    { a: 1 },
    { type: "L4", count: 2 },
  ),
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.jsonValue({ maxDepth: 3 }),
);

type Path = (string | number)[];

/**
 * Every path of a JS value (objects and arrays), the root included. A mutation can make the document
 * self-referential (`&a [*a]`): a value already on the way down is not entered again.
 */
function pathsOf(v: unknown, prefix: Path = [], out: Path[] = [], onPath: Set<unknown> = new Set()): Path[] {
  out.push(prefix);
  if (!v || typeof v !== "object" || onPath.has(v)) return out;
  onPath.add(v);
  if (Array.isArray(v)) v.forEach((x, i) => pathsOf(x, [...prefix, i], out, onPath));
  else for (const [k, x] of Object.entries(v)) pathsOf(x, [...prefix, k], out, onPath);
  onPath.delete(v);
  return out;
}

const KNOWN_KEYS = [
  "name",
  "model_hf_path",
  "model_path",
  "model_id",
  "image",
  "port",
  "extra_args",
  "command",
  "env_vars",
  "secrets",
  "resources",
  "gpu",
  "cpu",
  "memory",
  "shm",
  "disk",
  "scaling",
  "replicas",
  "metric",
  "requires_auth",
  "domain",
  "links",
  "include",
  "parameters",
  "cluster_pool",
  "interruptible",
  "pod_template",
  "depends_on",
  "on_startup",
  "on_shutdown",
  "namespace",
  "startup_timeout",
  "cache",
  "size",
  "stream_model",
  "vllm_version",
  "node_labels",
  "service_account",
  "parallelism",
  "lora",
  "route",
  "monitoring",
  "spec",
  "containers",
];

/** One mutation of a config, described so a failure shows what was done. */
export type Mutation =
  | { kind: "insert"; at: number; token: string }
  | { kind: "delete"; at: number; length: number }
  | { kind: "replace"; at: number; length: number; token: string }
  | { kind: "lines"; op: "dup" | "drop" | "swap" | "indent" | "dedent"; line: number; other: number }
  | { kind: "truncate"; at: number }
  | { kind: "set"; path: number; value: unknown }
  | { kind: "remove"; path: number }
  | { kind: "add"; path: number; key: string; value: unknown };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    token: fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 4 })),
  }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 20 }) }),
  fc.record({
    kind: fc.constant("replace" as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 8 }),
    token: fc.constantFrom(...TOKENS),
  }),
  fc.record({
    kind: fc.constant("lines" as const),
    op: fc.constantFrom("dup" as const, "drop" as const, "swap" as const, "indent" as const, "dedent" as const),
    line: fc.nat(),
    other: fc.nat(),
  }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("set" as const), path: fc.nat(), value: valueArb }),
  fc.record({ kind: fc.constant("remove" as const), path: fc.nat() }),
  fc.record({
    kind: fc.constant("add" as const),
    path: fc.nat(),
    key: fc.oneof(fc.constantFrom(...KNOWN_KEYS), fc.string({ maxLength: 12 })),
    value: valueArb,
  }),
);

/** Apply mutations in order; structural ones re-serialise with the yaml library. */
export function mutate(text: string, mutations: readonly Mutation[]): string {
  let t = text;
  for (const m of mutations) {
    switch (m.kind) {
      case "insert": {
        const at = m.at % (t.length + 1);
        t = t.slice(0, at) + m.token + t.slice(at);
        break;
      }
      case "delete":
      case "replace": {
        const at = m.at % (t.length + 1);
        t = t.slice(0, at) + (m.kind === "replace" ? m.token : "") + t.slice(at + m.length);
        break;
      }
      case "truncate":
        t = t.slice(0, m.at % (t.length + 1));
        break;
      case "lines": {
        const lines = t.split("\n");
        const i = m.line % lines.length;
        const j = m.other % lines.length;
        if (m.op === "dup") lines.splice(i, 0, lines[i]!);
        else if (m.op === "drop") lines.splice(i, 1);
        else if (m.op === "swap") [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        else if (m.op === "indent") lines[i] = `  ${lines[i]}`;
        else lines[i] = lines[i]!.replace(/^ {1,2}/, "");
        t = lines.join("\n");
        break;
      }
      default: {
        // structural: on the first document only, when the text still parses
        const parts = t.split(/^---\s*$/m);
        const doc = parseDocument(parts[0]!, { uniqueKeys: false });
        if (doc.errors.length) break;
        let js: unknown;
        try {
          js = doc.toJS({ maxAliasCount: 100 });
        } catch {
          break; // an unresolved alias or a bomb: leave the text as it is
        }
        const paths = pathsOf(js);
        const p = paths[m.path % paths.length]!;
        try {
          if (m.kind === "set") {
            if (p.length === 0) break;
            doc.setIn(p, m.value);
          } else if (m.kind === "remove") {
            if (p.length === 0) break;
            doc.deleteIn(p);
          } else {
            const target = p.length ? doc.getIn(p, true) : doc.contents;
            if (isMap(target)) target.set(m.key, doc.createNode(m.value));
            else if (isSeq(target)) target.add(doc.createNode(m.value));
            else break;
          }
        } catch {
          break; // the path runs through an alias or a scalar: no change
        }
        try {
          parts[0] = doc.toString();
        } catch {
          break;
        }
        t = parts.join("---\n");
      }
    }
  }
  return t;
}

export type Outcome =
  | { kind: "rendered"; apps: RenderedApp[]; yaml: string; json: string; ms: number }
  | { kind: "user-error"; exitCode: number; message: string; ms: number };

const made: string[] = [];
process.on("exit", () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A fresh folder holding the seed's extra files (the config is written there per input), removed at exit. */
export function seedDir(seed: Seed): string {
  const dir = mkdtempSync(path.join(tmpdir(), "vllmapp-fuzz-"));
  made.push(dir);
  for (const f of seed.extras) copyFileSync(f, path.join(dir, path.basename(f)));
  return dir;
}

/**
 * Load and render `content` as vllm-app.yaml in `dir`, as `vllmapp render --dry-run` does (no
 * resolvers: render never contacts anything). A VllmappError is a user error (its exit code is
 * returned); anything else is thrown: the exit-1 class the fuzzer hunts for.
 */
export async function renderInput(
  dir: string,
  content: string | Uint8Array,
  target: Seed["target"],
  namespace?: string,
): Promise<Outcome> {
  const file = path.join(dir, "vllm-app.yaml");
  writeFileSync(file, content);
  const t = performance.now();
  try {
    const p = await plan({ file, target, namespace, params: new Map() }, nodePlanIo({}));
    if (p.errors.length)
      return {
        kind: "user-error",
        exitCode: 2,
        message: p.errors.map((d) => `${d.file}:${d.line}:${d.col} ${d.message}`).join("\n"),
        ms: performance.now() - t,
      };
    const rendered = p.apps.map((a) => a.rendered);
    return {
      kind: "rendered",
      apps: rendered,
      yaml: formatYaml(rendered),
      json: formatJson(rendered),
      ms: performance.now() - t,
    };
  } catch (e) {
    if (e instanceof VllmappError)
      return { kind: "user-error", exitCode: e.exitCode, message: e.message, ms: performance.now() - t };
    throw e;
  }
}

/** fast-check parameters: runs from VLLMAPP_FUZZ_RUNS, seed from VLLMAPP_FUZZ_SEED (to replay a failure). */
export function fuzzParameters(defaultRuns: number): fc.Parameters<unknown> {
  const seed = process.env.VLLMAPP_FUZZ_SEED
    ? Number(process.env.VLLMAPP_FUZZ_SEED)
    : Date.now() ^ (Math.random() * 0x7fffffff);
  const numRuns = process.env.VLLMAPP_FUZZ_RUNS ? Number(process.env.VLLMAPP_FUZZ_RUNS) : defaultRuns;
  return { seed, numRuns };
}
