/**
 * `--set path=value`: overrides of fields of the app file for one run, applied to the parsed YAML
 * document before validation, so an override is checked exactly like the file (helm's --set, with the
 * file's own field paths: `resources.gpu`, `extra_args[1]`, `env_vars.HF_HUB_OFFLINE`; `\.` is a dot
 * inside a key). The value is read as YAML: `8000` is a number, `true` a boolean, `[a, b]` a list,
 * `null` removes the field. Pure.
 */
import { isMap, isSeq, parse, type Document } from "yaml";
import type { Diagnostic } from "../errors.js";
import { formatPath } from "./load.js";

export interface SetOverride {
  /** the path as written after --set */
  path: string;
  value: string;
}

/** Where --set diagnostics point: no file, no line (formatDiagnostic prints `--set path: …`). */
export const SET_FILE = "--set";

/** `resources.gpu` → ["resources", "gpu"]; `extra_args[1]` → ["extra_args", 1]; undefined when malformed. */
export function parseSetPath(p: string): (string | number)[] | undefined {
  const out: (string | number)[] = [];
  let key = "";
  let i = 0;
  const flush = () => {
    if (key === "") return false;
    out.push(key);
    key = "";
    return true;
  };
  while (i < p.length) {
    const c = p[i]!;
    if (c === "\\" && p[i + 1] === ".") {
      key += ".";
      i += 2;
    } else if (c === ".") {
      if (!flush() && p[i - 1] !== "]") return undefined;
      i++;
    } else if (c === "[") {
      const end = p.indexOf("]", i);
      const n = end > 0 ? p.slice(i + 1, end) : "";
      if (!/^\d+$/.test(n)) return undefined;
      if (key !== "") flush();
      else if (out.length === 0) return undefined;
      out.push(Number(n));
      i = end + 1;
    } else {
      key += c;
      i++;
    }
  }
  if (key !== "") flush();
  else if (p.endsWith(".") || out.length === 0) return undefined;
  return out;
}

function readValue(v: string): unknown {
  if (v === "") return "";
  try {
    return parse(v);
  } catch {
    return v;
  }
}

/**
 * Apply the overrides to one app's document. Returns the problems (a malformed path, a path through a
 * value that is not a mapping or list); the values themselves are checked by the schema afterwards.
 * `created` collects the fields an override added that the file did not have (`resorces` of
 * `--set resorces.gpu=…`): what is said about them is said about --set too.
 */
export function applyOverrides(doc: Document, overrides: readonly SetOverride[], created: string[] = []): Diagnostic[] {
  const problems: Diagnostic[] = [];
  const problem = (o: SetOverride, message: string, hint?: string) =>
    problems.push({ file: SET_FILE, line: 0, col: 0, path: o.path, severity: "error", message, hint });
  for (const o of overrides) {
    const path = parseSetPath(o.path);
    if (!path) {
      problem(
        o,
        "not a field path",
        "write fields with dots and list items with [N], e.g. resources.gpu or extra_args[1]",
      );
      continue;
    }
    // every step but the last must be a mapping (or a list, for an index) in the file, or absent
    let node: unknown = doc.contents;
    let blocked: string | undefined;
    for (let i = 0; i < path.length - 1 && node !== undefined && node !== null; i++) {
      const k = path[i]!;
      if (isMap(node)) node = node.get(k, true);
      else if (isSeq(node) && typeof k === "number") node = node.get(k, true);
      else {
        blocked = formatPath(path.slice(0, i));
        break;
      }
    }
    if (
      blocked === undefined &&
      node !== undefined &&
      node !== null &&
      !isMap(node) &&
      !(isSeq(node) && typeof path[path.length - 1] === "number")
    ) {
      blocked = formatPath(path.slice(0, -1));
    }
    if (blocked !== undefined) {
      problem(
        o,
        `${blocked} is not a mapping${typeof path[path.length - 1] === "number" ? " or list" : ""} in the file, so it has no field ${String(path[path.length - 1])}`,
      );
      continue;
    }
    let depth = 0;
    for (let n: unknown = doc.contents; depth < path.length && (isMap(n) || isSeq(n)) && n.has(path[depth]); depth++)
      n = n.get(path[depth], true);
    created.push(formatPath(path.slice(0, depth + 1)));
    const value = readValue(o.value);
    if (value === null) doc.deleteIn(path);
    else doc.setIn(path, doc.createNode(value));
  }
  return problems;
}

/** Is this diagnostic about a field an override set or added (so it points at --set, not at a line of the file)? */
export function isOverridden(
  d: Pick<Diagnostic, "path">,
  overrides: readonly SetOverride[],
  created: readonly string[] = [],
): boolean {
  const under = (f: string) => d.path === f || d.path.startsWith(`${f}.`) || d.path.startsWith(`${f}[`);
  return (
    created.some(under) ||
    overrides.some((o) => {
      const p = parseSetPath(o.path);
      return p !== undefined && under(formatPath(p));
    })
  );
}
