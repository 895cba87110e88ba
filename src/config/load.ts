/**
 * Reading vllm-app.yaml: YAML with positions, zod validation, every issue mapped back to file:line:col.
 * Pure except for the `readFile` passed in.
 */
import { LineCounter, parseAllDocuments, isMap, isSeq, isScalar, isPair, type Document, type Node as YamlNode } from "yaml";
import type { $ZodIssue } from "zod/v4/core";
import { ConfigError, type Diagnostic } from "../errors.js";
import { didYouMean } from "../text.js";
import { appConfigSchema, type AppConfig } from "./schema.js";

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

export interface LoadDeps {
  readFile: (path: string) => string;
  resolvePath: (from: string, rel: string) => string;
  exists: (path: string) => boolean;
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
  return [...new Set(candidates)];
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
    const missing = issue.code === "invalid_type" && (issue as any).input === undefined;
    out.push({
      file, ...pos, severity: "error",
      path: formatPath(path),
      message: missing ? `required field "${String(lastKey)}" is missing` : issue.message,
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
export function parseConfigText(text: string, file: string): LoadResult {
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
    for (const e of doc.errors) {
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

/**
 * Load a file and every file its apps' `depends_on` names (by path), resolve dependencies and
 * reject cycles. Returns apps in deploy order (dependencies first).
 */
export function loadConfig(file: string, deps: LoadDeps): LoadResult & { order: LoadedApp[] } {
  const byFile = new Map<string, LoadResult>();
  const diagnostics: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const queue = [file];
  const readOne = (f: string): LoadResult | undefined => {
    if (byFile.has(f)) return byFile.get(f);
    let text: string;
    try {
      text = deps.readFile(f);
    } catch (e) {
      diagnostics.push({ file: f, line: 1, col: 1, path: "", severity: "error", message: `cannot read ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, hint: f === file ? "pass the file with -f, or run `vllmapp init` to write one" : undefined });
      return undefined;
    }
    try {
      const r = parseConfigText(text, f);
      byFile.set(f, r);
      warnings.push(...r.warnings);
      return r;
    } catch (e) {
      if (e instanceof ConfigError) diagnostics.push(...e.diagnostics);
      else throw e;
      return undefined;
    }
  };
  // key: "file\0name"
  const nodes = new Map<string, { app: LoadedApp; deps: string[] }>();
  while (queue.length) {
    const f = queue.shift()!;
    if (byFile.has(f)) continue;
    const r = readOne(f);
    if (!r) continue;
    const local = new Set(r.apps.map((a) => a.config.name));
    for (const app of r.apps) {
      const edges: string[] = [];
      app.config.depends_on?.forEach((ref, i) => {
        const pos = app.locate(["depends_on", i]);
        const [pathPart, namePart] = ref.includes("#") ? ref.split("#", 2) as [string, string] : [ref, undefined];
        if (!ref.includes("#") && local.has(ref)) {
          edges.push(`${f}\0${ref}`);
          return;
        }
        const looksLikePath = ref.includes("#") || /[/\\]|\.ya?ml$/.test(ref);
        if (!looksLikePath) {
          const guess = didYouMean(ref, local);
          diagnostics.push({ file: f, ...pos, path: `depends_on[${i}]`, severity: "error", message: `no app named "${ref}" in this file${guess ? `; did you mean "${guess}"?` : ""}`, hint: "name an app of this file, or another file by path (./other.yaml or ./other.yaml#app)" });
          return;
        }
        const target = deps.resolvePath(f, pathPart);
        if (!deps.exists(target)) {
          diagnostics.push({ file: f, ...pos, path: `depends_on[${i}]`, severity: "error", message: `file ${pathPart} does not exist (resolved to ${target})` });
          return;
        }
        queue.push(target);
        edges.push(namePart ? `${target}\0${namePart}` : `${target}\0*`);
      });
      nodes.set(`${f}\0${app.config.name}`, { app, deps: edges });
    }
  }
  // expand "*" (all apps of a file) and check names in other files
  for (const [key, node] of nodes) {
    const expanded: string[] = [];
    node.deps.forEach((d) => {
      const [df, dn] = d.split("\0") as [string, string];
      if (dn === "*") {
        for (const a of byFile.get(df)?.apps ?? []) expanded.push(`${df}\0${a.config.name}`);
      } else if (nodes.has(d)) {
        expanded.push(d);
      } else if (byFile.has(df)) {
        const idx = node.app.config.depends_on!.findIndex((r) => r.endsWith(`#${dn}`));
        diagnostics.push({ file: node.app.file, ...node.app.locate(["depends_on", Math.max(idx, 0)]), path: `depends_on[${Math.max(idx, 0)}]`, severity: "error", message: `${df} has no app named "${dn}"`, hint: `apps there: ${byFile.get(df)!.apps.map((a) => a.config.name).join(", ")}` });
      }
    });
    nodes.set(key, { ...node, deps: expanded });
  }
  // topological order with cycle detection
  const order: LoadedApp[] = [];
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const reported = new Set<string>();
  const visit = (key: string) => {
    const s = state.get(key);
    if (s === "done") return;
    if (s === "visiting") {
      const cycle = [...stack.slice(stack.indexOf(key)), key];
      const id = [...cycle].sort().join("|");
      if (!reported.has(id)) {
        reported.add(id);
        const app = nodes.get(key)!.app;
        const names = cycle.map((k) => k.split("\0")[1]);
        diagnostics.push({ file: app.file, ...app.locate(["depends_on"]), path: "depends_on", severity: "error", message: `dependency cycle: ${names.join(" → ")}`, hint: "remove one of these depends_on entries" });
      }
      return;
    }
    state.set(key, "visiting");
    stack.push(key);
    for (const d of nodes.get(key)?.deps ?? []) visit(d);
    stack.pop();
    state.set(key, "done");
    order.push(nodes.get(key)!.app);
  };
  for (const key of nodes.keys()) visit(key);
  if (diagnostics.length) throw new ConfigError(sortDiagnostics(diagnostics));
  const root = byFile.get(file)!;
  return { apps: root.apps, warnings, order };
}

export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return [...list].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
}
