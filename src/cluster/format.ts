/** Text for the Kubernetes results on stdout (`--json` prints the results themselves). */
import { formatTable } from "../text.js";
import { objectYaml } from "../render/format.js";
import type { K8sObject, RenderedApp } from "../render/app.js";
import type { Action, Change } from "./apply.js";
import type { DeleteResult } from "./delete.js";
import type { AppStatus, AppSummary } from "./status.js";
import type { Readiness } from "./wait.js";

export interface DeployedApp {
  name: string;
  namespace: string;
  /** the model source as deployed (run outputs resolved) */
  model: RenderedApp["model"];
  changes: Change[];
  endpoint?: string;
  ready?: Readiness;
  /** with --dry-run: what would be applied (the applyset parent first) */
  objects?: K8sObject[];
}

export interface DeployResult {
  dryRun?: "client" | "server";
  /** -o yaml prints a dry run's objects as a YAML stream */
  output?: string;
  /** namespaces and Secrets created before applying (or that would be) */
  prerequisites: string[];
  apps: DeployedApp[];
}

const DONE: Record<Action, string> = { create: "created", configure: "configured", unchanged: "unchanged", prune: "pruned" };

export function formatDeploy(r: DeployResult): string {
  if (r.dryRun && r.output === "yaml") return r.apps.flatMap((a) => a.objects ?? []).map((o) => `---\n${objectYaml(o)}`).join("");
  const verb = (a: Action) => (r.dryRun ? a : DONE[a]);
  const out: string[] = r.prerequisites.map((p) => `${verb("create")} ${p}`);
  for (const a of r.apps) {
    out.push(`${a.name} (namespace ${a.namespace})${r.dryRun ? ` — dry run (${r.dryRun}), nothing written` : ""}`);
    const rows = a.changes.map((c) => [`  ${verb(c.action)}`, `${c.kind}/${c.name}`]);
    if (a.ready) rows.push(["  ready", `${a.ready.ready}/${a.ready.desired}`]);
    if (a.endpoint && !r.dryRun) rows.push(["  endpoint", a.endpoint]);
    out.push(formatTable(rows));
  }
  return out.join("\n");
}

export function formatStatus(r: { apps: AppStatus[] }): string {
  return r.apps
    .map((s) => {
      if (!s.deployed) return `${s.name} (namespace ${s.namespace}): not deployed`;
      const rows: string[][] = [["  ready", `${s.replicas!.ready}/${s.replicas!.desired}`]];
      if (s.endpoint) rows.push(["  endpoint", s.endpoint]);
      for (const u of s.ingress ?? []) rows.push(["  ingress", u]);
      for (const l of s.links ?? []) rows.push(["  link", `${l.title}: ${l.url}`]);
      if (s.modelId) rows.push(["  model", `${s.modelId}${s.modelUri ? ` (${s.modelUri})` : ""}`]);
      if (s.modelSource) rows.push(["  resolved from", s.modelSource]);
      if (s.image) rows.push(["  image", s.image]);
      if (s.age) rows.push(["  age", s.age]);
      if (s.description) rows.push(["  description", s.description]);
      if (s.apiKey) rows.push(["  api key", s.apiKey]);
      if (s.reason) rows.push(["  not ready", s.reason]);
      if (s.hint) rows.push(["", `hint: ${s.hint}`]);
      return `${s.name} (namespace ${s.namespace})\n${formatTable(rows)}`;
    })
    .join("\n\n");
}

export function formatList(r: { namespace: string; apps: AppSummary[] }): string {
  if (!r.apps.length) return "";
  return formatTable([["NAME", "READY", "MODEL", "AGE"], ...r.apps.map((a) => [a.name, `${a.replicas.ready}/${a.replicas.desired}`, a.modelId ?? "", a.age ?? ""])]);
}

export function formatDelete(r: { apps: DeleteResult[] }): string {
  return r.apps
    .map((d) => {
      if (!d.deleted.length && !d.kept.length) return `${d.name}: nothing to delete in namespace ${d.namespace}`;
      const lines = [`${d.name} (namespace ${d.namespace})`, ...d.deleted.map((o) => `  deleted  ${o}`)];
      for (const o of d.kept) lines.push(`  kept     ${o} (the model cache; --purge-cache deletes it)`);
      return lines.join("\n");
    })
    .join("\n");
}
