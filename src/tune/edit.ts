/**
 * The winner as a change to vllm-app.yaml: the same --set overrides the trial ran with, applied to the
 * app's YAML document with the yaml package's Document API (comments, order and the other documents of
 * the file stay as written), and a unified diff of the file before and after. Pure.
 */
import { parseAllDocuments, type Document } from "yaml";
import { applyOverrides, type SetOverride } from "../config/overrides.js";
import { UsageError } from "../errors.js";

/** The file's text with the overrides applied to the document of app `name`. */
export function applyToText(text: string, file: string, name: string, overrides: readonly SetOverride[]): string {
  if (!overrides.length) return text;
  const docs = parseAllDocuments(text, { uniqueKeys: false });
  const list: Document.Parsed[] = Array.isArray(docs) ? (docs as Document.Parsed[]) : [];
  const doc = list.length === 1 ? list[0] : list.find((d) => d.get("name") === name);
  if (!doc)
    throw new UsageError(
      `${file} has no document for app ${name}`,
      "run tune on the file the app is defined in (-f FILE)",
    );
  const problems = applyOverrides(doc, overrides);
  if (problems.length)
    throw new UsageError(`cannot write the change to ${file}: ${problems[0]!.path}: ${problems[0]!.message}`);
  const index = list.indexOf(doc);
  // this document's text: from the end of the one before (its "---" marker and comments included) to its own end
  const start = index === 0 ? 0 : list[index - 1]!.range[2];
  const end = index === list.length - 1 ? text.length : doc.range[2];
  const body = keepSpacing(doc.toString({ lineWidth: 0, flowCollectionPadding: false }), text.slice(start, end));
  return text.slice(0, start) + body + text.slice(end);
}

/** The stringifier normalises spacing ("a   # c" → "a # c"): lines that differ from the original only so keep the original's. */
function keepSpacing(written: string, original: string): string {
  const norm = (l: string) => l.trim().replace(/\s+/g, " ");
  const before = new Map<string, string>();
  for (const l of original.split("\n")) if (!before.has(norm(l))) before.set(norm(l), l);
  return written
    .split("\n")
    .map((l) => before.get(norm(l)) ?? l)
    .join("\n");
}

/** A unified diff (3 lines of context) of two texts; "" when they are equal. */
export function unifiedDiff(before: string, after: string, file: string): string {
  if (before === after) return "";
  const a = before.split("\n");
  const b = after.split("\n");
  if (a.at(-1) === "") a.pop();
  if (b.at(-1) === "") b.pop();
  // longest common subsequence, by dynamic programming (config files are small)
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const ops: { op: " " | "-" | "+"; line: string; ai: number; bi: number }[] = [];
  let i = 0;
  let j = 0;
  // ai, bi: the 1-based line in a and b (for an added line, ai is the line of a it follows; the same for bi)
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) ops.push({ op: " ", line: a[i]!, ai: ++i, bi: ++j });
    else if (i < a.length && (j >= b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!))
      ops.push({ op: "-", line: a[i]!, ai: ++i, bi: j });
    else ops.push({ op: "+", line: b[j]!, ai: i, bi: ++j });
  }
  const out = [`--- ${file}`, `+++ ${file}`];
  const changed = ops.map((o, k) => (o.op !== " " ? k : -1)).filter((k) => k >= 0);
  let k = 0;
  while (k < changed.length) {
    const from = Math.max(0, changed[k]! - 3);
    let to = changed[k]!;
    while (k < changed.length && changed[k]! - to <= 6) to = changed[k++]!;
    const hunk = ops.slice(from, Math.min(ops.length, to + 4));
    const aLen = hunk.filter((o) => o.op !== "+").length;
    const bLen = hunk.filter((o) => o.op !== "-").length;
    const aStart = aLen ? hunk.find((o) => o.op !== "+")!.ai : hunk[0]!.ai;
    const bStart = bLen ? hunk.find((o) => o.op !== "-")!.bi : hunk[0]!.bi;
    out.push(`@@ -${aStart},${aLen} +${bStart},${bLen} @@`);
    for (const o of hunk) out.push(`${o.op}${o.line}`);
  }
  return `${out.join("\n")}\n`;
}
