/**
 * Reading vllm-app.yaml: YAML with positions, zod validation, every issue mapped back to file:line:col.
 * Pure except for the `readFile` passed in.
 */
import { LineCounter, parseAllDocuments, isMap, isSeq, isScalar, isPair, type Document, type Node as YamlNode } from "yaml";
import type { $ZodIssue } from "zod/v4/core";
import { ConfigError, type Diagnostic } from "../errors.js";
import { didYouMean } from "../text.js";
import { appConfigSchema, type AppConfig } from "./schema.js";
import { indentationProblem } from "./yaml-hints.js";

export interface LoadedApp {
  config: AppConfig;
  /** the file it came from, as given */
  file: string;
  /** where each field path sits, for later diagnostics (extra_args, include, depends_on …) */
  locate: (path: readonly (string | number)[]) => { line: number; col: number };
}

export interface LoadResult {
  apps: LoadedApp[];
  warnings: Diagnostic[];
}

/** The file system, as loadConfig (config/graph.ts) reads it. */
export interface LoadDeps {
  readFile: (path: string) => string;
  resolvePath: (from: string, rel: string) => string;
  exists: (path: string) => boolean;
  /** `--set`: edits each app document of the file named on the command line before it is validated */
  editRoot?: (doc: Document) => Diagnostic[];
}

type PathKey = string | number;

function locator(doc: Document, lc: LineCounter) {
  return (path: readonly PathKey[], keyOf?: string) => {
    let node: unknown = doc.contents;
    let last: unknown = node;
    for (const k of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && p.key.value === k);
        if (!pair) break;
        node = pair.value;
      } else if (isSeq(node) && typeof k === "number") {
        node = node.items[k];
      } else break;
      if (node) last = node;
    }
    if (keyOf !== undefined && isMap(last)) {
      const pair = last.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === keyOf);
      if (pair && isScalar(pair.key) && pair.key.range) return lc.linePos(pair.key.range[0]);
    }
    const range = (last as YamlNode | undefined)?.range;
    return range ? lc.linePos(range[0]) : { line: 1, col: 1 };
  };
}

/** A field path as users read it: `resources.gpu`, `extra_args[2]`. */
export function formatPath(path: readonly PathKey[]): string {
  let out = "";
  for (const k of path) out += typeof k === "number" ? `[${k}]` : out ? `.${k}` : String(k);
  return out;
}

/** Keys the schema has only to reject them with a better message (`args`: use extra_args): never suggested. */
const REJECTED_KEYS = new Set(["args"]);

/** The keys an object accepts at a path of the schema, for "did you mean". */
function keysAt(schema: unknown, path: readonly PathKey[]): string[] {
  const candidates: string[] = [];
  const visit = (s: any, rest: readonly PathKey[]): void => {
    if (!s?._zod) return;
    const def = s._zod.def;
    switch (def.type) {
      case "optional":
      case "default":
      case "nullable":
      case "prefault":
      case "pipe":
        return visit(def.innerType ?? def.in, rest);
      case "union":
        for (const o of def.options) visit(o, rest);
        return;
      case "array":
        return rest.length ? visit(def.element, rest.slice(1)) : undefined;
      case "object":
        if (!rest.length) {
          candidates.push(...Object.keys(def.shape));
          return;
        }
        return visit(def.shape[rest[0] as string], rest.slice(1));
    }
  };
  visit(schema, path);
  return [...new Set(candidates)].filter((k) => path.length > 0 || !REJECTED_KEYS.has(k));
}

const MISSING_HINT: Record<string, string> = {
  name: 'add name: my-app (a DNS-1123 label: lowercase letters, digits and "-")',
};

/** Turn zod issues into positioned diagnostics, one per problem. */
function issuesToDiagnostics(issues: readonly $ZodIssue[], file: string, at: ReturnType<typeof locator>): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const issue of issues) {
    const path = issue.path as PathKey[];
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const known = keysAt(appConfigSchema, path);
        const guess = didYouMean(key, known);
        const pos = at(path, key);
        out.push({
          file, ...pos, severity: "error",
          path: formatPath([...path, key]),
          message: guess ? `unknown field "${key}"; did you mean "${guess}"?` : `unknown field "${key}"`,
          hint: guess ? `rename it to ${guess}` : `known fields here: ${known.join(", ")}`,
        });
      }
      continue;
    }
    if (issue.code === "invalid_union") {
      // Report the branch that got furthest, instead of "invalid input".
      // eslint-disable-next-line no-restricted-syntax -- zod 4 keeps a union's branch issues on `errors`, outside $ZodIssue's type
      const branches = (issue as any).errors as $ZodIssue[][];
      const best = branches
        .filter((b) => b.length > 0)
        .sort((a, b) => score(b) - score(a) || a.length - b.length)[0];
      if (best && score(best) > 0) {
        out.push(...issuesToDiagnostics(best.map((i) => ({ ...i, path: [...path, ...i.path] })), file, at));
        continue;
      }
    }
    const pos = at(path);
    const lastKey = path[path.length - 1];
    // eslint-disable-next-line no-restricted-syntax -- zod 4 reports the input of an invalid_type issue on `input`, outside its type
    const missing = issue.code === "invalid_type" && (issue as any).input === undefined;
    out.push({
      file, ...pos, severity: "error",
      path: formatPath(path),
      message: missing ? `required field "${String(lastKey)}" is missing` : issue.message,
      // eslint-disable-next-line no-restricted-syntax -- custom issues carry vllmapp's hint in `params`, which only some issue types declare
      hint: missing ? MISSING_HINT[String(lastKey)] : ((issue as any).params?.hint as string | undefined),
    });
  }
  return out;
}

/** How far into the value a union branch got (deeper paths, non-type errors score higher). */
function score(issues: readonly $ZodIssue[]): number {
  return Math.max(...issues.map((i) => i.path.length * 2 + (i.code === "invalid_type" ? 0 : 1)));
}

/** Parse and validate one vllm-app.yaml (one or several apps). Throws ConfigError with every problem. */
export function parseConfigText(text: string, file: string, edit?: (doc: Document) => Diagnostic[]): LoadResult {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const diagnostics: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const apps: LoadedApp[] = [];
  const list = Array.isArray(docs) ? docs : [];
  if (!Array.isArray(docs)) {
    diagnostics.push({ file, line: 1, col: 1, path: "", severity: "error", message: "not a YAML document stream" });
  }
  for (const doc of list) {
    // an indentation mistake: one diagnostic at the line to fix, instead of the parser's view of it
    const first = doc.errors[0];
    const indent = first && indentationProblem(text, file, first.code, lineCounter.linePos(first.pos[0]).line);
    if (indent) diagnostics.push(indent);
    else for (const e of doc.errors) {
      const pos = lineCounter.linePos(e.pos[0]);
      diagnostics.push({ file, ...pos, path: "", severity: "error", message: `YAML syntax error: ${e.message.split("\n")[0]}`, hint: yamlHint(e.code) });
    }
    for (const w of doc.warnings) {
      const pos = lineCounter.linePos(w.pos[0]);
      warnings.push({ file, ...pos, path: "", severity: "warning", message: w.message.split("\n")[0]! });
    }
  }
  if (diagnostics.length) throw new ConfigError(diagnostics);
  const nonEmpty = list.filter((d) => d.contents !== null);
  if (nonEmpty.length === 0) {
    throw new ConfigError([{ file, line: 1, col: 1, path: "", severity: "error", message: "the file holds no app", hint: "run `vllmapp init` to write a commented vllm-app.yaml" }]);
  }
  const names = new Map<string, number>();
  for (const doc of nonEmpty) {
    if (edit) diagnostics.push(...edit(doc));
    const at = locator(doc, lineCounter);
    const raw = doc.toJS({ maxAliasCount: 100 });
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      diagnostics.push({ file, ...at([]), path: "", severity: "error", message: "an app must be a mapping of fields (name: …, model_hf_path: …)" });
      continue;
    }
    const parsed = appConfigSchema.safeParse(raw);
    if (!parsed.success) {
      diagnostics.push(...issuesToDiagnostics(parsed.error.issues, file, at));
      continue;
    }
    const config = parsed.data;
    if (names.has(config.name)) {
      diagnostics.push({ file, ...at(["name"]), path: "name", severity: "error", message: `app "${config.name}" is defined twice in this file (first at line ${names.get(config.name)})`, hint: "give each app its own name" });
    }
    names.set(config.name, at(["name"]).line);
    apps.push({ config, file, locate: (p) => at(p) });
  }
  if (diagnostics.length) throw new ConfigError(sortDiagnostics(diagnostics));
  return { apps, warnings };
}

function yamlHint(code: string): string | undefined {
  switch (code) {
    case "DUPLICATE_KEY":
      return "each field may appear once per app";
    case "TAB_AS_INDENT":
      return "indent with spaces, not tabs";
    case "BAD_INDENT":
    case "MISSING_CHAR":
      return "check the indentation and the ':' after each key";
    default:
      return undefined;
  }
}

export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return [...list].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
}
