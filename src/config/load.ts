/**
 * Reading vllm-app.yaml: YAML with positions, zod validation, every issue mapped back to file:line:col.
 * Pure except for the `readFile` passed in.
 */
import {
  LineCounter,
  parseAllDocuments,
  isAlias,
  isMap,
  isSeq,
  isScalar,
  isPair,
  type Document,
  type YAMLMap,
  type YAMLSeq,
  type Node as YamlNode,
} from "yaml";
import type { $ZodIssue, $ZodType, $ZodTypes } from "zod/v4/core";
import { ConfigError, type Diagnostic } from "../errors.js";
import { didYouMean } from "../text.js";
import { expectedWords, unionExpected } from "./messages.js";
import { appRules } from "./rules.js";
import { appConfigSchema, type AppConfig } from "./schema.js";
import { indentationProblem } from "./yaml-hints.js";

export interface LoadedApp {
  config: AppConfig;
  /** the file it came from, as given */
  file: string;
  /** where each field path sits, for later diagnostics (extra_args, include, depends_on …) */
  locate: (path: readonly (string | number)[]) => { line: number; col: number };
  /** the top-level fields the file (with --set) gives, so a default can be told from a value */
  explicit?: ReadonlySet<string>;
}

/** An app of a file with errors, as far as it validated: the later, independent checks run on it. */
export interface PartialApp {
  app: LoadedApp;
  /** the faulty fields set aside (their defaults stand in): findings about them are not reported again */
  dropped: (string | number)[][];
}

export interface LoadResult {
  apps: LoadedApp[];
  warnings: Diagnostic[];
}

/** The file system, as loadConfig (config/graph.ts) reads it. */
export interface LoadDeps {
  /** the file's bytes (decoded and checked here) or its text; throws errno errors or a VllmappError */
  readFile: (path: string) => string | Uint8Array;
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
  // every zod schema is one of $ZodTypes: its def's `type` says which, and so which fields the def has
  const visit = (s: $ZodType | undefined, rest: readonly PathKey[]): void => {
    if (!s?._zod) return;
    const def = (s as $ZodTypes)._zod.def;
    switch (def.type) {
      case "optional":
      case "default":
      case "nullable":
      case "prefault":
        return visit(def.innerType, rest);
      case "pipe":
        return visit(def.in, rest);
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
  visit(schema as $ZodType, path);
  return [...new Set(candidates)].filter((k) => path.length > 0 || !REJECTED_KEYS.has(k));
}

/** Unknown fields that are a known mistake: the fix for each. */
const UNKNOWN_FIELD_HINT: Record<string, string> = {
  "node_labels.key":
    "a custom label scheme goes under scheme: node_labels: {scheme: {key: LABEL, values: {L4: VALUE, …}}}",
  "node_labels.values":
    "a custom label scheme goes under scheme: node_labels: {scheme: {key: LABEL, values: {L4: VALUE, …}}}",
};

const MISSING_HINT: Record<string, string> = {
  name: 'add name: my-app (a DNS-1123 label: lowercase letters, digits and "-")',
};

/** A hint for a value of the wrong kind: what to write instead, from the field and the value. */
function typeHint(path: readonly PathKey[], expected: readonly string[], input: unknown): string | undefined {
  const field = path.filter((k) => typeof k === "string").join(".");
  const key = String(path[path.length - 1] ?? "field");
  const wants = (w: string) => expected.includes(w);
  if (typeof input === "string") {
    const t = input.trim();
    if ((wants("an integer") || wants("a number")) && /^[-+]?\d+(\.\d+)?$/.test(t))
      return `write the number without quotes: ${key}: ${t}`;
    if (wants("true or false")) {
      const yes = /^(y|yes|on|true)$/i.test(t);
      const no = /^(n|no|off|false)$/i.test(t);
      if (yes || no) return `write ${key}: ${yes} (YAML 1.2 reads "${t}" as a string)`;
    }
    if (wants("a list")) return `write a list: ${key}: [${JSON.stringify(t).slice(1, -1)}]`;
    if (wants("a mapping (key: value)")) {
      if (field === "resources" && /:\s*\d+$|^[A-Za-z][\w -]*$/.test(t))
        return `resources is a mapping: resources: {gpu: ${JSON.stringify(t)}}`;
      if (field === "scaling" && /^\d+$/.test(t)) return `scaling is a mapping: scaling: {replicas: ${t}}`;
      return `write ${key} as a mapping of fields (${key}: {field: value})`;
    }
  }
  if (typeof input === "number" && wants("a string")) return `quote it: ${key}: "${input}"`;
  if (
    field === "parameters" &&
    wants("a list") &&
    input !== null &&
    typeof input === "object" &&
    !Array.isArray(input)
  ) {
    const entries = Object.entries(input as Record<string, unknown>)
      .slice(0, 3)
      .map(([k, v]) => `{name: ${k}, value: ${JSON.stringify(v)}}`);
    return `parameters is a list of {name, value}: parameters: [${entries.join(", ")}], used as \${name} in extra_args`;
  }
  if (Array.isArray(input) && wants("a mapping (key: value)"))
    return `${key} takes fields (${key}: {field: value}), not a list`;
  return undefined;
}

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
          file,
          ...pos,
          severity: "error",
          path: formatPath([...path, key]),
          message: guess ? `unknown field "${key}"; did you mean "${guess}"?` : `unknown field "${key}"`,
          hint: guess
            ? `rename it to ${guess}`
            : (UNKNOWN_FIELD_HINT[formatPath([...path, key])] ?? `known fields here: ${known.join(", ")}`),
        });
      }
      continue;
    }
    if (issue.code === "invalid_union") {
      // Report the branch that got furthest, instead of "invalid input".
      const branches = issue.errors;
      const best = branches.filter((b) => b.length > 0).sort((a, b) => score(b) - score(a) || a.length - b.length)[0];
      if (best && score(best) > 0) {
        out.push(
          ...issuesToDiagnostics(
            best.map((i) => ({ ...i, path: [...path, ...i.path] })),
            file,
            at,
          ),
        );
        continue;
      }
      // reportInput puts the value on the issue
      const input = issue.input;
      if (input !== undefined) {
        out.push({
          file,
          ...at(path),
          severity: "error",
          path: formatPath(path),
          message: issue.message,
          hint: typeHint(path, unionExpected(branches), input),
        });
        continue;
      }
    }
    const pos = at(path);
    const lastKey = path[path.length - 1];
    const missing = issue.code === "invalid_type" && issue.input === undefined;
    // custom issues (the schema's cross-field rules) carry vllmapp's hint in `params`
    const paramsHint: string | undefined = issue.code === "custom" ? issue.params?.hint : undefined;
    const input = issue.input;
    const typeFix =
      issue.code === "invalid_type" && !missing ? typeHint(path, [expectedWords(issue.expected)], input) : undefined;
    out.push({
      file,
      ...pos,
      severity: "error",
      path: formatPath(path),
      message: missing ? `required field "${String(lastKey)}" is missing` : issue.message,
      hint: missing ? MISSING_HINT[String(lastKey)] : (paramsHint ?? typeFix),
    });
  }
  return out;
}

/** How far into the value a union branch got (deeper paths, non-type errors score higher). */
function score(issues: readonly $ZodIssue[]): number {
  return Math.max(...issues.map((i) => i.path.length * 2 + (i.code === "invalid_type" ? 0 : 1)));
}

/**
 * Limits on what one config file may hold, so that hostile input (alias bombs, huge or deeply
 * nested documents) ends in a located error in well under a second instead of a hang or a crash.
 */
export const CONFIG_LIMITS = {
  /** bytes of one file: 200 apps with pod templates fit; parsing that much takes under a second */
  maxBytes: 256 * 1024,
  /** apps (YAML documents) in one file */
  maxApps: 500,
  /** levels of nested mappings and lists; a pod template needs about 12 */
  maxDepth: 64,
  /** entries of one mapping or list (env_vars, extra_args …) */
  maxItems: 500,
  /** alias nodes (*name) in one document */
  maxAliases: 200,
  /** nodes an alias may expand to (the `yaml` library's maxAliasCount) */
  maxAliasCount: 100,
  /** errors reported from one file (the rest are counted) */
  maxDiagnostics: 100,
} as const;

const MiB = 1024 * 1024;
const sizeText = (n: number) => (n >= MiB ? `${(n / MiB).toFixed(1)} MiB` : `${Math.ceil(n / 1024)} KiB`);

/** line:col (1-based) of a character offset in a text. */
function positionIn(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, col: offset - start + 1 };
}

/**
 * A config file's bytes as text: UTF-8 (a BOM is fine). UTF-16/32, binary files and other 8-bit
 * encodings (Latin-1 …) are errors that say where and how to fix them. Pure.
 */
export function decodeConfigBytes(bytes: Uint8Array, file: string): string {
  const fail = (message: string, hint: string, at = { line: 1, col: 1 }): never => {
    throw new ConfigError([{ file, ...at, path: "", severity: "error", message, hint }]);
  };
  const saveAsUtf8 =
    'save the file as UTF-8 (e.g. iconv -f <encoding> -t UTF-8, or your editor\'s "Save with encoding")';
  if (bytes.length > CONFIG_LIMITS.maxBytes) {
    fail(
      `the file is ${sizeText(bytes.length)}; a vllm-app.yaml holds at most ${sizeText(CONFIG_LIMITS.maxBytes)}`,
      "split the apps over several files (depends_on: [./other.yaml]) or ship large data through include or the image",
    );
  }
  const [b0, b1, b2, b3] = bytes;
  if ((b0 === 0xff && b1 === 0xfe && b2 === 0 && b3 === 0) || (b0 === 0 && b1 === 0 && b2 === 0xfe && b3 === 0xff))
    fail("the file is UTF-32, not UTF-8", saveAsUtf8);
  if ((b0 === 0xff && b1 === 0xfe) || (b0 === 0xfe && b1 === 0xff))
    fail(
      `the file is UTF-16 (${b0 === 0xff ? "little" : "big"}-endian, with a byte-order mark), not UTF-8`,
      saveAsUtf8,
    );
  const nul = bytes.indexOf(0);
  if (nul !== -1) {
    // UTF-16 without a BOM: ASCII text with a NUL byte beside every character
    let zeroEven = 0;
    let zeroOdd = 0;
    const n = Math.min(bytes.length, 4096);
    for (let i = 0; i < n; i++) {
      if (bytes[i] !== 0) continue;
      if (i % 2) zeroOdd++;
      else zeroEven++;
    }
    if (Math.max(zeroEven, zeroOdd) > n / 4 && Math.min(zeroEven, zeroOdd) < n / 64)
      fail(
        `the file looks like UTF-16 (${zeroOdd > zeroEven ? "little" : "big"}-endian) without a byte-order mark, not UTF-8`,
        saveAsUtf8,
      );
    const before = new TextDecoder("utf-8").decode(bytes.subarray(0, nul));
    fail(
      "the file is binary (it holds NUL bytes), not a YAML text file",
      "name a YAML text file (`vllmapp init` writes a vllm-app.yaml)",
      positionIn(before, before.length),
    );
  }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    const lossy = new TextDecoder("utf-8").decode(bytes);
    const bad = lossy.indexOf("\uFFFD");
    return fail(
      "the file is not valid UTF-8 (a Latin-1 or Windows-1252 character?)",
      saveAsUtf8,
      positionIn(lossy, Math.max(bad, 0)),
    );
  }
}

/** A node still to visit, with its field path and depth; or the end of an anchored node (its anchor closes). */
type WalkEntry = { node: unknown; path: PathKey[]; depth: number } | { close: string };

/** What the walk over one document has seen so far. */
interface DocumentWalk {
  file: string;
  pos: (n: { range?: readonly number[] | null } | null | undefined) => { line: number; col: number };
  /** anchors of the documents before this one (an alias to them is its own mistake) */
  earlierAnchors: ReadonlySet<string>;
  /** anchors defined so far in this document */
  anchors: Set<string>;
  /** anchors of the nodes being visited: an alias to one of them is a cycle */
  open: Set<string>;
  out: Diagnostic[];
  aliases: number;
  /** the depth and size limits are reported once per document */
  tooDeep: boolean;
  tooBig: boolean;
}

/**
 * Checks on a composed document before it becomes JS, iteratively (no recursion, so depth cannot
 * crash it): nesting depth, duplicate keys (named), aliases that point nowhere, into another
 * document of the file, or into themselves (a cycle).
 */
function checkDocument(
  doc: Document,
  lc: LineCounter,
  file: string,
  earlierAnchors: ReadonlySet<string>,
  anchors: Set<string>,
): Diagnostic[] {
  const w: DocumentWalk = {
    file,
    pos: (n) => (n?.range ? lc.linePos(n.range[0]!) : { line: 1, col: 1 }),
    earlierAnchors,
    anchors,
    open: new Set(),
    out: [],
    aliases: 0,
    tooDeep: false,
    tooBig: false,
  };
  const stack: WalkEntry[] = [{ node: doc.contents, path: [], depth: 0 }];
  while (stack.length) {
    const e = stack.pop()!;
    if ("close" in e) {
      w.open.delete(e.close);
      continue;
    }
    const { node, path, depth } = e;
    if (isAlias(node)) {
      checkAlias(w, node.source, node, path);
      continue;
    }
    if (!isMap(node) && !isSeq(node)) {
      if (isScalar(node) && node.anchor) anchors.add(node.anchor);
      continue;
    }
    if (overLimits(w, node, path, depth)) continue;
    if (node.anchor) {
      anchors.add(node.anchor);
      w.open.add(node.anchor);
      stack.push({ close: node.anchor });
    }
    const children: WalkEntry[] = isMap(node)
      ? mappingChildren(w, node, path, depth)
      : node.items.map((item, i) => ({ node: item, path: [...path, i], depth: depth + 1 }));
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return w.out;
}

/** An alias: too many of them, or one that refers to its own node, another document's anchor, or nothing. */
function checkAlias(w: DocumentWalk, name: string, node: YamlNode, path: readonly PathKey[]): void {
  const at = { file: w.file, ...w.pos(node), path: formatPath(path), severity: "error" as const };
  if (++w.aliases === CONFIG_LIMITS.maxAliases + 1)
    w.out.push({
      ...at,
      message: `more than ${CONFIG_LIMITS.maxAliases} aliases in one app`,
      hint: "write the values out instead of repeating *aliases",
    });
  else if (w.open.has(name))
    w.out.push({
      ...at,
      message: `alias *${name} refers to the node that holds it (a cycle)`,
      hint: "an alias may only repeat a value defined before it, not one it is part of",
    });
  else if (!w.anchors.has(name) && w.earlierAnchors.has(name))
    w.out.push({
      ...at,
      message: `alias *${name} refers to an anchor in another document of this file`,
      hint: `anchors do not cross "---": define &${name} again in this app's document`,
    });
  else if (!w.anchors.has(name))
    w.out.push({
      ...at,
      message: `alias *${name} has no anchor &${name} before it`,
      hint: `define the value with &${name} before using *${name}`,
    });
}

/** A mapping or list nested too deep, or with too many entries (each reported once): not walked further. */
function overLimits(w: DocumentWalk, node: YAMLMap | YAMLSeq, path: readonly PathKey[], depth: number): boolean {
  if (depth >= CONFIG_LIMITS.maxDepth) {
    if (!w.tooDeep)
      w.out.push({
        file: w.file,
        ...w.pos(node),
        path: formatPath(path),
        severity: "error",
        message: `the YAML nests more than ${CONFIG_LIMITS.maxDepth} levels deep here`,
        hint: "a vllm-app.yaml needs a dozen levels at most; check for runaway [ or {",
      });
    w.tooDeep = true;
    return true;
  }
  if (node.items.length > CONFIG_LIMITS.maxItems) {
    if (!w.tooBig)
      w.out.push({
        file: w.file,
        ...w.pos(node),
        path: formatPath(path),
        severity: "error",
        message: `${node.items.length} entries in one ${isMap(node) ? "mapping" : "list"}; at most ${CONFIG_LIMITS.maxItems}`,
        hint: "a vllm-app.yaml needs far fewer; split the apps or ship large data through include",
      });
    w.tooBig = true;
    return true;
  }
  return false;
}

/**
 * A mapping's keys: a mapping, list or alias as a key, and a key given twice, are problems; the keys and
 * values to walk next (under the key's name, or "?" for one that has none).
 */
function mappingChildren(w: DocumentWalk, node: YAMLMap, path: PathKey[], depth: number): WalkEntry[] {
  const children: WalkEntry[] = [];
  const seen = new Map<string, number>();
  for (const pair of node.items) {
    if (isMap(pair.key) || isSeq(pair.key) || isAlias(pair.key)) {
      w.out.push({
        file: w.file,
        ...w.pos(pair.key as YamlNode),
        path: formatPath(path),
        severity: "error",
        message: "a key here is a mapping, a list or an alias; keys are plain names",
        hint: "write name: value (a ? or [ at the start of a line makes a complex key)",
      });
      continue;
    }
    const key = isScalar(pair.key) ? pair.key.value : undefined;
    // a merge key (<<) is a symbol once parsed
    const k = key === null || key === undefined ? undefined : typeof key === "symbol" ? "<<" : String(key);
    if (k !== undefined) {
      const first = seen.get(k);
      if (first !== undefined) {
        w.out.push({
          file: w.file,
          ...w.pos(pair.key as YamlNode),
          path: formatPath([...path, k]),
          severity: "error",
          message: `duplicate key "${k}" (first at line ${first})`,
          hint: `each key may appear once per mapping; remove one of the two "${k}:"`,
        });
      } else seen.set(k, w.pos(pair.key as YamlNode).line);
    }
    children.push(
      { node: pair.key, path, depth: depth + 1 },
      { node: pair.value, path: [...path, k ?? "?"], depth: depth + 1 },
    );
  }
  return children;
}

/** What one file's check has found so far: errors (and the notes that go with them), and warnings. */
interface FileFindings {
  file: string;
  lc: LineCounter;
  diagnostics: Diagnostic[];
  warnings: Diagnostic[];
}

/** Parse and validate one vllm-app.yaml (one or several apps). Throws ConfigError with every problem. */
export function parseConfigText(text: string, file: string, edit?: (doc: Document) => Diagnostic[]): LoadResult {
  if (text.length > CONFIG_LIMITS.maxBytes) decodeConfigBytes(new Uint8Array(text.length), file); // the size error
  const lineCounter = new LineCounter();
  // uniqueKeys: checked below, in linear time and naming the key (the library's check is quadratic)
  // merge: YAML merge keys (<<: *defaults), as docker compose files use them
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: false, merge: true });
  const found: FileFindings = { file, lc: lineCounter, diagnostics: [], warnings: [] };
  const { diagnostics, warnings } = found;
  const apps: LoadedApp[] = [];
  const list = Array.isArray(docs) ? docs : [];
  if (!Array.isArray(docs)) {
    diagnostics.push({ file, line: 1, col: 1, path: "", severity: "error", message: "not a YAML document stream" });
  }
  // a document with broken YAML is reported and set aside; the other apps of the file are still checked
  const broken = new Set<Document>();
  for (const doc of list) if (reportYamlErrors(found, doc, text)) broken.add(doc);
  checkDocuments(found, list, broken);
  // empty documents (a trailing ---, a comment-only document) are skipped, as kubectl, helm and kustomize skip them
  const nonEmpty = list.filter((d) => !isEmptyDocument(d) && !broken.has(d));
  checkAppCount(found, nonEmpty, [...broken]);
  // (in a file of one app, a YAML error plainly stops everything: no note)
  if (list.length > 1)
    for (const doc of broken) {
      const pos = lineCounter.linePos(doc.range?.[0] ?? 0);
      diagnostics.push({
        file,
        ...pos,
        path: "",
        severity: "note",
        summary: true,
        message: `the app from line ${pos.line} was not checked further: its YAML has errors`,
        hint: "fix the YAML errors and run again",
      });
    }
  const names = new Map<string, number>();
  // every app that validated, or validated once its faulty fields were set aside: later checks run on these
  const partial: PartialApp[] = [];
  for (const doc of nonEmpty) {
    if (edit) diagnostics.push(...edit(doc));
    const checked = validateApp(found, doc);
    if (checked.partial) partial.push(checked.partial);
    if (!checked.app) continue;
    const { config, locate } = checked.app;
    if (names.has(config.name)) {
      diagnostics.push({
        file,
        ...locate(["name"]),
        path: "name",
        severity: "error",
        message: `app "${config.name}" is defined twice in this file (first at line ${names.get(config.name)})`,
        hint: "give each app its own name",
      });
    }
    names.set(config.name, locate(["name"]).line);
    apps.push(checked.app);
  }
  if (diagnostics.some((d) => d.severity === "error"))
    throw new ConfigError(capDiagnostics(sortDiagnostics(diagnostics)), partial, warnings);
  return { apps, warnings };
}

/** The parser's errors and warnings of one document, as diagnostics; true when it has errors (it is broken). */
function reportYamlErrors(found: FileFindings, doc: Document, text: string): boolean {
  const { file, lc, diagnostics } = found;
  const before = diagnostics.length;
  // an indentation mistake: one diagnostic at the line to fix, instead of the parser's view of it
  const first = doc.errors[0];
  const indent = first && indentationProblem(text, file, first.code, lc.linePos(first.pos[0]).line);
  if (indent) diagnostics.push(indent);
  else
    for (const e of doc.errors) {
      const pos = lc.linePos(e.pos[0]);
      if (/call stack/i.test(e.message)) {
        diagnostics.push({
          file,
          ...pos,
          path: "",
          severity: "error",
          message: `the YAML nests too deeply (more than ${CONFIG_LIMITS.maxDepth} levels)`,
          hint: "a vllm-app.yaml needs a dozen levels at most; check for runaway [ or {",
        });
        continue;
      }
      diagnostics.push({
        file,
        ...pos,
        path: "",
        severity: "error",
        message: `YAML syntax error: ${e.message.split("\n")[0]}`,
        hint: yamlHint(e.code),
      });
    }
  for (const w of doc.warnings) {
    const pos = lc.linePos(w.pos[0]);
    found.warnings.push({ file, ...pos, path: "", severity: "warning", message: w.message.split("\n")[0]! });
  }
  return diagnostics.length > before;
}

/**
 * checkDocument on each document that parsed, in file order (anchors of earlier documents known); one with
 * problems other than duplicate keys is added to `broken`.
 */
function checkDocuments(found: FileFindings, list: readonly Document[], broken: Set<Document>): void {
  const earlier = new Set<string>();
  for (const doc of list) {
    const anchors = new Set<string>();
    if (!broken.has(doc)) {
      const problems = checkDocument(doc, found.lc, found.file, earlier, anchors);
      found.diagnostics.push(...problems);
      // a duplicate key leaves a document that can still be checked (the last value counts); the others do not
      if (problems.some((d) => !d.message.startsWith("duplicate key"))) broken.add(doc);
    }
    for (const a of anchors) earlier.add(a);
  }
}

/**
 * Too many apps in the file (located at an app past the limit: a valid one, else one with YAML errors), or
 * none: a ConfigError of its own (nothing else is worth checking).
 */
function checkAppCount(found: FileFindings, nonEmpty: readonly Document[], broken: readonly Document[]): void {
  const { file, lc } = found;
  const brokenCount = broken.length;
  if (nonEmpty.length + brokenCount > CONFIG_LIMITS.maxApps) {
    const extra = nonEmpty[CONFIG_LIMITS.maxApps] ?? nonEmpty[nonEmpty.length - 1] ?? broken[CONFIG_LIMITS.maxApps]!;
    const pos = extra.contents?.range ? lc.linePos(extra.contents.range[0]) : { line: 1, col: 1 };
    throw new ConfigError([
      {
        file,
        ...pos,
        path: "",
        severity: "error",
        message: `the file holds ${nonEmpty.length + brokenCount} apps; at most ${CONFIG_LIMITS.maxApps}`,
        hint: "split the apps over several files",
      },
    ]);
  }
  if (nonEmpty.length + brokenCount === 0) {
    throw new ConfigError([
      {
        file,
        line: 1,
        col: 1,
        path: "",
        severity: "error",
        message: "the file holds no app",
        hint: "run `vllmapp init` to write a commented vllm-app.yaml",
      },
    ]);
  }
}

/**
 * One app's document: its value (an alias bomb, or not a mapping, is an error), validated. A valid app is
 * the app and a partial app of its own; an invalid one a partial app when it validates with its faulty
 * fields set aside, else a note that the later checks did not run.
 */
function validateApp(found: FileFindings, doc: Document): { app?: LoadedApp; partial?: PartialApp } {
  const { file, lc, diagnostics, warnings } = found;
  const at = locator(doc, lc);
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: CONFIG_LIMITS.maxAliasCount });
  } catch (e) {
    // the library's resource-exhaustion guard (an alias bomb); other alias problems are caught above
    const first = findFirstAlias(doc);
    const pos = first?.range ? lc.linePos(first.range[0]) : at([]);
    diagnostics.push({
      file,
      ...pos,
      path: "",
      severity: "error",
      message: `the aliases here expand to too many values (${(e as Error).message})`,
      hint: `write the values out; an alias may expand to at most ${CONFIG_LIMITS.maxAliasCount} nodes`,
    });
    return {};
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    diagnostics.push({
      file,
      ...at([]),
      path: "",
      severity: "error",
      message: "an app must be a mapping of fields (name: …, model_hf_path: …)",
    });
    return {};
  }
  // top-level x-* keys hold anchors for the fields (docker compose's extension fields): not fields
  for (const key of Object.keys(raw)) if (key.startsWith("x-")) delete (raw as Record<string, unknown>)[key];
  const parsed = appConfigSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) return { partial: salvageApp(found, raw as Record<string, unknown>, parsed.error.issues, at) };
  const config = parsed.data;
  reportRules(found, config, at, []);
  const placeholder = placeholderGpu(doc, file, lc);
  if (placeholder) warnings.push(placeholder);
  return {
    app: { config, file, locate: (p) => at(p), explicit: new Set(Object.keys(raw)) },
    partial: { app: { config, file, locate: (p) => at(p) }, dropped: [] },
  };
}

/**
 * An app that failed validation: its issues as diagnostics, then the checks that need a valid app on what
 * is left once the faulty fields are set aside (a partial app), or a note that they did not run.
 */
function salvageApp(
  found: FileFindings,
  raw: Record<string, unknown>,
  issues: readonly $ZodIssue[],
  at: ReturnType<typeof locator>,
): PartialApp | undefined {
  const { file, diagnostics } = found;
  diagnostics.push(...issuesToDiagnostics(issues, file, at));
  // the checks that need a valid app still run on what is left once the faulty fields are set aside
  const rest = salvage(raw, issues);
  for (const issue of rest.issues) diagnostics.push(...issuesToDiagnostics([issue], file, at));
  if (rest.config) {
    reportRules(found, rest.config, at, rest.dropped);
    return { app: { config: rest.config, file, locate: (p) => at(p) }, dropped: rest.dropped };
  }
  diagnostics.push({
    file,
    ...at([]),
    path: "",
    severity: "note",
    summary: true,
    message: `the checks of ${typeof raw.name === "string" ? `app "${raw.name}"` : "this app"} that need the fields above (units, the model source, vllm serve flags) did not run`,
    hint: "fix the errors above and run again",
  });
  return undefined;
}

/** The named rules' findings (config/rules.ts) about an app, placed in the file; none about a field set aside. */
function reportRules(
  found: FileFindings,
  config: AppConfig,
  at: ReturnType<typeof locator>,
  dropped: readonly PathKey[][],
): void {
  for (const f of appRules(config)) {
    if (dropped.some((d) => overlaps(d, f.path))) continue;
    const d: Diagnostic = {
      file: found.file,
      ...at(f.path),
      path: formatPath(f.path),
      severity: f.severity,
      message: f.message,
      hint: f.hint,
    };
    (f.severity === "error" ? found.diagnostics : found.warnings).push(d);
  }
}

/** A document with nothing in it: a trailing `---`, or comments only. */
function isEmptyDocument(doc: Document): boolean {
  const c = doc.contents;
  return c === null || (isScalar(c) && c.value === null && !c.tag && !c.anchor && c.source === "");
}

/**
 * `vllmapp init` marks a GPU it could not size (the Hub was unreachable) with a `# PLACEHOLDER` comment
 * on the line: a warning on every load until someone replaces the value and the comment.
 */
function placeholderGpu(doc: Document, file: string, lc: LineCounter): Diagnostic | undefined {
  const node = doc.getIn(["resources", "gpu"], true) as YamlNode | undefined;
  const comment = node && (isScalar(node) || isMap(node)) ? `${node.comment ?? ""}` : "";
  if (!/PLACEHOLDER/.test(comment) || !node?.range) return undefined;
  return {
    file,
    ...lc.linePos(node.range[0]),
    path: "resources.gpu",
    severity: "warning",
    message: `${isScalar(node) ? `${String(node.value)} is` : "this is"} a placeholder: vllmapp init could not size the model when it wrote the file`,
    hint: "set the GPU type and count the model needs (vllmapp check says whether it fits), then delete the PLACEHOLDER comment",
  };
}

/** Is one field path inside the other (or the same)? */
export function overlaps(a: readonly PathKey[], b: readonly PathKey[]): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The app without its faulty fields, so that the checks that need a valid app (units, cross-field
 * rules, the model source, vllm serve flags) still report on the rest in the same run. Each round
 * removes the fields the issues point at (a whole list, for a faulty item) and validates again. The
 * cross-field issues a later round finds, away from the removed fields, are new findings (zod skips
 * them while a field is unknown or of the wrong kind); the rest are the removal's own and are dropped.
 */
function salvage(
  raw: Record<string, unknown>,
  first: readonly $ZodIssue[],
): { config?: AppConfig; dropped: PathKey[][]; issues: $ZodIssue[] } {
  const copy = structuredClone(raw);
  const dropped: PathKey[][] = [];
  const seen = new Set(first.map((i) => `${i.path.join("\0")}\0${i.message}`));
  const found: $ZodIssue[] = [];
  let issues = first;
  for (let round = 0; round < 8; round++) {
    let progress = false;
    for (const issue of issues) {
      const keys = issue.code === "unrecognized_keys" ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
      for (let path of keys as PathKey[][]) {
        const firstIndex = path.findIndex((k) => typeof k === "number");
        if (firstIndex !== -1) path = path.slice(0, firstIndex);
        // a field removed already, yet still wrong (required, or part of a tuple): remove its parent
        if (dropped.some((d) => overlaps(d, path) && d.length <= path.length)) path = path.slice(0, -1);
        if (path.length === 0) {
          // no model source left, because a faulty one was removed: a stand-in keeps the rest checkable
          const sourceDropped = dropped.some((d) => d[0] === "model_path" || d[0] === "model_hf_path");
          if (!sourceDropped || copy.model_path !== undefined) return { dropped, issues: found };
          copy.model_path = "/model";
          progress = true;
          continue;
        }
        if (path[0] === "name") {
          copy.name = "app";
          progress = true;
        } else {
          // a cross-field issue may point at a field that is not there (base_domain): remove what holds it
          while (path.length > 0 && !removeAt(copy, path)) path = path.slice(0, -1);
          if (path.length === 0) return { dropped, issues: found };
          progress = true;
        }
        dropped.push(path);
      }
    }
    const again = appConfigSchema.safeParse(copy, { reportInput: true });
    if (again.success) return { config: again.data, dropped, issues: found };
    for (const issue of again.error.issues) {
      const key = `${issue.path.join("\0")}\0${issue.message}`;
      if (
        issue.code !== "custom" ||
        seen.has(key) ||
        issue.path.length === 0 ||
        dropped.some((d) => overlaps(d, issue.path as PathKey[]))
      )
        continue;
      seen.add(key);
      found.push(issue);
    }
    if (!progress) return { dropped, issues: found };
    issues = again.error.issues;
  }
  return { dropped, issues: found };
}

/** Delete the field at a path of plain objects; false when there is nothing there. */
function removeAt(root: Record<string, unknown>, path: readonly PathKey[]): boolean {
  let node: unknown = root;
  for (const k of path.slice(0, -1)) {
    if (node === null || typeof node !== "object") return false;
    node = (node as Record<string, unknown>)[k as string];
  }
  if (node === null || typeof node !== "object" || !(String(path[path.length - 1]) in node)) return false;
  // false, not a TypeError, for what cannot lose a field (a !!binary value is a Uint8Array): the caller then removes its parent
  return Reflect.deleteProperty(node, String(path[path.length - 1]));
}

function findFirstAlias(doc: Document): YamlNode | undefined {
  const stack: unknown[] = [doc.contents];
  while (stack.length) {
    const n = stack.pop();
    if (isAlias(n)) return n;
    if (isMap(n)) for (let i = n.items.length - 1; i >= 0; i--) stack.push(n.items[i]!.value, n.items[i]!.key);
    else if (isSeq(n)) for (let i = n.items.length - 1; i >= 0; i--) stack.push(n.items[i]);
  }
  return undefined;
}

function yamlHint(code: string): string | undefined {
  switch (code) {
    case "TAB_AS_INDENT":
      return "indent with spaces, not tabs";
    case "BAD_INDENT":
    case "MISSING_CHAR":
      return "check the indentation and the ':' after each key";
    default:
      return undefined;
  }
}

/** At most CONFIG_LIMITS.maxDiagnostics errors, and a count of the rest. */
export function capDiagnostics(list: Diagnostic[]): Diagnostic[] {
  const max = CONFIG_LIMITS.maxDiagnostics;
  if (list.length <= max) return list;
  const last = list[max - 1]!;
  return [
    ...list.slice(0, max),
    { ...last, path: "", message: `… and ${list.length - max} more errors in this file`, hint: "fix these first" },
  ];
}

export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return [...list].sort(
    (a, b) =>
      a.file.localeCompare(b.file) ||
      Number(Boolean(a.summary)) - Number(Boolean(b.summary)) ||
      a.line - b.line ||
      a.col - b.col,
  );
}
