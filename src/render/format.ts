/** Printing rendered apps: YAML streams, the JSON document (README "JSON output"), text, and the --out folder. Pure. */
import { Document, stringify, visit } from "yaml";
import { formatArgv } from "../text.js";
import type { K8sObject, RenderedApp } from "./types.js";

const YAML_OPTS = { lineWidth: 0, aliasDuplicateObjects: false } as const;

export function objectYaml(obj: K8sObject): string {
  return plainYaml(obj) ?? packageYaml(obj);
}

// kubectl reads YAML 1.1 (go-yaml), the yaml package prints YAML 1.2: what 1.1 reads otherwise is quoted.
// NEL, LS and PS: line breaks to 1.1, ordinary characters to 1.2
const YAML11_BREAKS = /[\u0085\u2028\u2029]/;
const YAML11_BREAKS_ALL = new RegExp(YAML11_BREAKS.source, "g");
// strings 1.1 reads as another type and 1.2 as a string (the yaml package's yaml-1.1 schema tests): y, n,
// yes, no, on, off; binary, octal, underscored and sexagesimal numbers; dates ("N" reached the API server
// as false)
const YAML11_TYPE =
  /^(?:[Yy]|[Yy]es|YES|[Nn]|[Nn]o|NO|[Oo]n|ON|[Oo]ff|OFF)$|^[-+]?0b[01_]+$|^[-+]?0[0-7_]+$|^[-+]?[0-9][0-9_]*$|^[-+]?0x[0-9a-fA-F_]+$|^[-+]?(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?[eE][-+]?[0-9]+$|^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*$|^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$|^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:t|T|[ \t]+)[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]+)?(?:[ \t]*(?:Z|[-+][012]?[0-9](?::[0-9]{2})?))?)?$/;
const YAML11_BREAK_ESCAPES: Record<string, string> = { "\u0085": "\\N", "\u2028": "\\L", "\u2029": "\\P" };

/**
 * The yaml package's printing, which kubectl reads back as written: a string YAML 1.1 reads as another
 * type is double-quoted, and so is one holding NEL, LS or PS, with the characters escaped (\N, \L, \P,
 * escapes of both YAML versions). The package printed them raw, plain or in quotes, and go-yaml refused
 * the stream ("could not find expected ':'") or folded the string.
 */
export function packageYaml(value: unknown): string {
  const doc = new Document(value, YAML_OPTS);
  let breaks = false;
  visit(doc, {
    Scalar(_, node) {
      if (typeof node.value !== "string") return;
      if (YAML11_BREAKS.test(node.value)) breaks = true;
      else if (!YAML11_TYPE.test(node.value)) return;
      node.type = "QUOTE_DOUBLE";
    },
  });
  const text = doc.toString(YAML_OPTS);
  // every such character is now inside a double-quoted scalar, where an escape reads back as the character
  return breaks ? text.replace(YAML11_BREAKS_ALL, (c) => YAML11_BREAK_ESCAPES[c]!) : text;
}

/**
 * What packageYaml would print for `value`, when it is made of plain objects, arrays,
 * finite numbers, booleans, nulls and one-line strings (str); else undefined, and the package prints it. A render's objects are that almost always,
 * and the package's printing was the largest part of a render's own CPU time (BENCHMARKS.md "Start-up").
 * test/unit/render/plain-yaml.test.ts holds the two to the same bytes.
 */
export function plainYaml(value: unknown): string | undefined {
  if (!isPlainObject(value) || !hasEntries(value)) return undefined;
  const lines: string[] = [];
  return mapLines(value, "", lines) ? `${lines.join("\n")}\n` : undefined;
}

/** Whether a map prints any pair: the yaml package leaves out the keys whose value is undefined. */
function hasEntries(obj: Record<string, unknown>): boolean {
  return Object.values(obj).some((x) => x !== undefined);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

// the yaml package's tests (stringify/stringifyString.js, plainString and stringifyString; the core schema's
// tags): a string that meets any of them is quoted or printed as a block
const NOT_PLAIN = /^[\n\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$/;
// control characters: what the package prints double-quoted with escapes
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u{D800}-\u{DFFF}]/u;
const DOCUMENT_MARKER = /^(%|---|\.\.\.)/m;
const OTHER_TYPE =
  /^(?:~|[Nn]ull|NULL)?$|^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$|^0o[0-7]+$|^[-+]?[0-9]+$|^0x[0-9a-fA-F]+$|^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$|^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$|^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

/**
 * A one-line string as the package prints it: plain, or quoted when plain would not read back as the same
 * string (single quotes when it holds double quotes only, else JSON's double quotes); undefined for what
 * it prints otherwise (lines, escapes, document markers, long keys).
 */
function str(s: string): string | undefined {
  if (
    s.length > 1024 ||
    s.includes("\n") ||
    s.includes("\\") ||
    CONTROL.test(s) ||
    DOCUMENT_MARKER.test(s) ||
    YAML11_BREAKS.test(s)
  )
    return undefined;
  if (!NOT_PLAIN.test(s) && !OTHER_TYPE.test(s) && !YAML11_TYPE.test(s)) return s;
  return s.includes('"') && !s.includes("'") ? `'${s}'` : JSON.stringify(s);
}

/** A scalar as the yaml package prints it, or undefined if the package is to print it. */
function scalar(v: unknown): string | undefined {
  if (v === null) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") return Number.isFinite(v) && !Object.is(v, -0) ? JSON.stringify(v) : undefined;
  if (typeof v === "string") return str(v);
  return undefined;
}

/** A value after `key:` or `- `: " scalar", " {}", " []", or "" when its lines follow (nested). */
function inline(v: unknown): string | undefined {
  if (Array.isArray(v)) return v.length === 0 ? " []" : "";
  if (isPlainObject(v)) return hasEntries(v) ? "" : " {}";
  const s = scalar(v);
  return s === undefined ? undefined : ` ${s}`;
}

function nested(v: unknown, indent: string, lines: string[]): boolean {
  return Array.isArray(v) ? seqLines(v, indent, lines) : mapLines(v as Record<string, unknown>, indent, lines);
}

function mapLines(obj: Record<string, unknown>, indent: string, lines: string[]): boolean {
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (v === undefined) continue;
    const head = inline(v);
    const k = str(key);
    if (head === undefined || k === undefined) return false;
    lines.push(`${indent}${k}:${head}`);
    // a sequence under a key is indented (the package's indentSeq), as a map is
    if (head === "" && !nested(v, `${indent}  `, lines)) return false;
  }
  return true;
}

function seqLines(items: unknown[], indent: string, lines: string[]): boolean {
  for (const v of items) {
    const head = inline(v);
    if (head === undefined) return false;
    if (head !== "") {
      lines.push(`${indent}-${head}`);
      continue;
    }
    // a nested map or sequence starts on the item's line: "- key: …", "- - …"
    const first = lines.length;
    if (!nested(v, `${indent}  `, lines)) return false;
    lines[first] = `${indent}- ${lines[first]!.slice(indent.length + 2)}`;
  }
  return true;
}

/** All objects of all apps as one multi-document stream that `kubectl apply -f -` takes. */
export function formatYaml(apps: readonly RenderedApp[]): string {
  const docs: string[] = [];
  for (const a of apps) {
    if (a.objects)
      for (const o of a.objects)
        docs.push(`# Source: ${a.name}/${o.kind.toLowerCase()}-${o.metadata.name}.yaml\n${objectYaml(o)}`);
    else if (a.docker)
      docs.push(
        `# ${a.name}: docker target, no Kubernetes objects\n${stringify({ app: a.name, docker: { argv: a.docker.argv } }, YAML_OPTS)}`,
      );
  }
  return docs.map((d) => `---\n${d}`).join("");
}

export function jsonDocument(apps: readonly RenderedApp[]): unknown {
  return {
    apps: apps.map((a) => ({
      name: a.name,
      target: a.target,
      ...(a.namespace ? { namespace: a.namespace } : {}),
      model: a.model,
      serve: a.serve,
      ...(a.objects ? { objects: a.objects } : {}),
      ...(a.docker
        ? {
            docker: {
              argv: a.docker.argv,
              envFromHost: a.docker.envFromHost,
              ...(a.docker.before.length
                ? { before: a.docker.before.map((b) => ({ what: b.what, argv: b.argv })) }
                : {}),
            },
          }
        : {}),
    })),
  };
}

export function formatJson(apps: readonly RenderedApp[]): string {
  return `${JSON.stringify(jsonDocument(apps), null, 2)}\n`;
}

export function formatText(apps: readonly RenderedApp[]): string {
  const out: string[] = [];
  for (const a of apps) {
    out.push(`# ${a.name} (${a.target}) model ${a.model.uri} served as ${a.model.servedAs}`);
    out.push(formatArgv([...a.serve.command, ...a.serve.args]));
    if (a.docker) {
      for (const b of a.docker.before) out.push(`# before: ${b.what}`, formatArgv(b.argv));
      out.push(formatArgv(a.docker.argv));
    }
    if (a.objects) for (const o of a.objects) out.push(`# ${o.kind}/${o.metadata.name}`);
    out.push("");
  }
  return out.join("\n");
}

export const RENDER_MARKER = "# Rendered by vllmapp: this folder is rewritten by `vllmapp render`.";

/** The files `render --out` writes for one app: file name → content. */
export function renderFiles(app: RenderedApp): Map<string, string> {
  const files = new Map<string, string>();
  const serve = `${formatArgv([...app.serve.command, ...app.serve.args])}\n`;
  files.set("serve-command.txt", serve);
  if (app.objects) {
    const names: string[] = [];
    for (const o of app.objects) {
      const name = `${o.kind.toLowerCase()}-${o.metadata.name}.yaml`;
      names.push(name);
      files.set(name, objectYaml(o));
    }
    files.set(
      "kustomization.yaml",
      `${RENDER_MARKER}\n${stringify({ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources: names }, YAML_OPTS)}`,
    );
  }
  if (app.docker) {
    const lines = [...app.docker.before.map((b) => formatArgv(b.argv)), formatArgv(app.docker.argv)];
    files.set("docker-command.txt", `${lines.join("\n")}\n`);
  }
  return files;
}

/** `DIR/kustomization.yaml` over the app folders of a multi-app render: `kubectl apply -k DIR` applies them all. */
export function topKustomization(apps: readonly string[]): string {
  return `${RENDER_MARKER}\n${stringify({ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources: apps.map((a) => `${a}/`) }, YAML_OPTS)}`;
}
