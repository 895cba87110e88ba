// @ts-check
// Judges a kube-linter or Polaris JSON report (test/checks/README.md, "kube-linter and Polaris") against
// allow-list.yaml with the matching rules of test/integration/manifest-checks.test.ts: prints the counts
// per check, allowed or open, and every open finding; exits 1 when one is open.
//   node test/checks/judge-by-hand.mjs kube-linter REPORT.json
//   node test/checks/judge-by-hand.mjs polaris REPORT.json      (severity warning or danger)
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

/**
 * @typedef {{ checker: string | string[], check: string | string[], message?: string, object?: string, where?: string }} Allow
 * @typedef {{ check: string, case: string, object: string, where: string, message: string }} Finding
 * @typedef {Record<string, { Success: boolean, Severity: string, Message: string }>} PolarisResults
 * @typedef {{ Reports?: { Check: string, Diagnostic: { Message: string }, Object: { Metadata: { FilePath: string },
 *   K8sObject: { Name: string, GroupVersionKind: { Kind: string } } } }[] }} KubeLinterReport
 * @typedef {{ FileName?: string, Kind: string, Name: string, Results?: PolarisResults,
 *   PodResult?: { Results?: PolarisResults, ContainerResults: { Name: string, Results?: PolarisResults }[] } }} PolarisResult
 * @typedef {{ Results: PolarisResult[] }} PolarisReport
 */

const [checker, file] = process.argv.slice(2);
if (!checker || !["kube-linter", "polaris"].includes(checker) || !file) {
  console.error("usage: node test/checks/judge-by-hand.mjs kube-linter|polaris REPORT.json");
  process.exit(2);
}
/** @type {Allow[]} */
const allow = parse(readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), "allow-list.yaml"), "utf8"));
/** @param {string | string[]} v */
const list = (v) => (Array.isArray(v) ? v : [v]);
const report = JSON.parse(readFileSync(file, "utf8"));

/** @type {Finding[]} { check, case, object: Kind/name, where, message } */
const findings = [];
if (checker === "kube-linter") {
  for (const r of /** @type {KubeLinterReport} */ (report).Reports ?? []) {
    const o = r.Object.K8sObject;
    findings.push({
      check: r.Check,
      case: path.basename(r.Object.Metadata.FilePath, ".yaml"),
      object: `${o.GroupVersionKind.Kind}/${o.Name}`,
      where: "",
      message: r.Diagnostic.Message,
    });
  }
} else {
  /** @param {PolarisResults | undefined} results @param {PolarisResult} r @param {string} where */
  const add = (results, r, where) => {
    for (const [check, v] of Object.entries(results ?? {})) {
      if (!v.Success && (v.Severity === "warning" || v.Severity === "danger"))
        findings.push({
          check,
          case: path.basename(r.FileName ?? "", ".yaml"),
          object: `${r.Kind}/${r.Name}`,
          where,
          message: v.Message,
        });
    }
  };
  for (const r of /** @type {PolarisReport} */ (report).Results) {
    add(r.Results, r, "");
    if (!r.PodResult) continue;
    add(r.PodResult.Results, r, "");
    for (const c of r.PodResult.ContainerResults) add(c.Results, r, c.Name);
  }
}

/** @param {Finding} f */
const allowedBy = (f) =>
  allow.find(
    (a) =>
      list(a.checker).includes(checker) &&
      list(a.check).includes(f.check) &&
      (a.message === undefined || f.message.includes(a.message)) &&
      (a.object === undefined || new RegExp(`^(?:${a.object})$`).test(f.object)) &&
      (a.where === undefined || new RegExp(`^(?:${a.where})$`).test(f.where)),
  );

/** @type {Map<string, number>} */
const counts = new Map();
const open = [];
for (const f of findings) {
  const key = `${f.check} (${allowedBy(f) ? "allow-list" : "OPEN"})`;
  counts.set(key, (counts.get(key) ?? 0) + 1);
  if (!allowedBy(f)) open.push(f);
}
for (const [k, n] of [...counts].sort((a, b) => b[1] - a[1])) console.log(`${String(n).padStart(4)}  ${k}`);
console.log(`${findings.length} findings, ${open.length} outside the allow-list`);
for (const f of open)
  console.log(`  OPEN ${f.check}: ${f.case} ${f.object}${f.where ? ` [${f.where}]` : ""}: ${f.message}`);
process.exit(open.length ? 1 : 0);
