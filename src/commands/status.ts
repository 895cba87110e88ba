/** `vllmapp status [APP]`: flags → the apps → target.status → print. */
import { Command } from "commander";
import * as z from "zod/mini";
import type { RouteCondition, RouteStatus, StatusResult, Timeline } from "../target.js";
import { describePhases } from "../startup/phases.js";
import { timelineLines } from "../startup/timeline.js";
import { formatTable } from "../text.js";
import { formatGroup } from "../cluster/groups.js";
import {
  addCommonOptions,
  connectionShape,
  converted,
  fileShape,
  outputOf,
  outputShape,
  parseOptions,
  targetOf,
  targetShape,
  uiFor,
} from "./options.js";

export const statusOptionsSchema = converted(
  z.object({
    ...fileShape,
    ...targetShape,
    ...connectionShape,
    ...outputShape,
    appName: z.optional(z.string()),
    showApiKey: z._default(z.boolean(), false),
    timeline: z._default(z.boolean(), false),
  }),
  (o) => ({ ...o, target: targetOf(o), ...outputOf(o, ["text", "json"]) }),
);

export type StatusOptions = z.output<typeof statusOptionsSchema>;

export async function runStatus(opts: StatusOptions): Promise<StatusResult> {
  const ui = uiFor(opts);
  const [{ loadTarget }, { appRefs }, { fsLoadDeps }] = await Promise.all([
    import("./load-target.js"),
    import("../app/select.js"),
    import("../app/node-io.js"),
  ]);
  const apps = appRefs(opts, fsLoadDeps(), "status");
  const session = await (await loadTarget(opts.target)).connect(opts);
  const result = await session.status(apps, { named: opts.appName !== undefined, showApiKey: opts.showApiKey }, ui);
  // not deployed is a state (deployed: false, exit 0) on both targets; a named app gets a pointer
  for (const s of result.apps.filter((a) => !a.deployed && opts.appName !== undefined)) {
    ui.note(
      s.namespace
        ? `no app "${s.name}" in namespace ${s.namespace}; see the apps there: vllmapp list -n ${s.namespace}`
        : `no container of app "${s.name}" on this Docker engine; see what runs: vllmapp list --local`,
    );
  }
  return result;
}

/** The route's rows: the HTTPRoute and its Gateway, each Gateway's Accepted/ResolvedRefs, the URLs. */
function routeRows(r: RouteStatus): string[][] {
  const cond = (c: RouteCondition | null, type: string) =>
    `${type}=${c?.status ?? "Unknown"}${c && c.reason ? ` (${c.reason})` : ""}`;
  const rows = [["  route", `HTTPRoute/${r.name} on Gateway ${r.gateway}: ${r.state}`]];
  for (const p of r.parents)
    rows.push(["", `${p.gateway}: ${cond(p.accepted, "Accepted")}, ${cond(p.resolvedRefs, "ResolvedRefs")}`]);
  if (r.message) rows.push(["", r.message]);
  for (const u of r.urls) rows.push(["  url", u]);
  return rows;
}

export function formatStatus(r: StatusResult, opts: Pick<StatusOptions, "target"> & { timeline?: boolean }): string {
  const withTimeline = (text: string, t: Timeline | null) =>
    opts.timeline ? [text, ...timelineLines(t)].join("\n") : text;
  if (opts.target === "docker") {
    return r.apps
      .map((a) => {
        if (!a.deployed) return `${a.name}: not deployed`;
        const lines = [`${a.name}: ${a.state}, ${a.ready ? "ready" : `not ready (${a.reason})`}`];
        if (a.endpoint)
          lines.push(
            `  endpoint   ${a.endpoint}${a.requiresApiKey ? (a.apiKey ? "" : "  (API key: --show-api-key)") : "  (no API key)"}`,
          );
        if (a.apiKey) lines.push(`  api key    ${a.apiKey}`);
        lines.push(`  model      ${a.modelId}  from ${a.modelUri}`);
        if (a.adapters.length) lines.push(`  adapters   ${a.adapters.join(", ")}`);
        lines.push(`  image      ${a.image}`, `  container  ${a.container}, created ${a.age} ago`);
        if (a.startup) lines.push(`  startup    ${describePhases(a.startup)}`);
        return withTimeline(lines.join("\n"), a.timeline);
      })
      .join("\n\n");
  }
  return r.apps
    .map((s) => {
      if (!s.deployed) return `${s.name} (namespace ${s.namespace}): not deployed`;
      const rows: string[][] = [
        ["  ready", `${s.replicas?.ready ?? 0}/${s.replicas?.desired ?? 0}${s.groups ? " groups" : ""}`],
      ];
      for (const g of s.groups ?? []) rows.push(["  group", formatGroup(g)]);
      if (s.endpoint) rows.push(["  endpoint", s.endpoint]);
      for (const u of s.ingress) rows.push(["  ingress", u]);
      if (s.route) rows.push(...routeRows(s.route));
      for (const l of s.links) rows.push(["  link", `${l.title}: ${l.url}`]);
      if (s.modelId) rows.push(["  model", `${s.modelId}${s.modelUri ? ` (${s.modelUri})` : ""}`]);
      if (s.adapters.length) rows.push(["  adapters", s.adapters.join(", ")]);
      if (s.modelSource) rows.push(["  resolved from", s.modelSource]);
      if (s.image) rows.push(["  image", s.image]);
      if (s.age) rows.push(["  age", s.age]);
      if (s.description) rows.push(["  description", s.description]);
      if (s.apiKey) rows.push(["  api key", s.apiKey]);
      if (s.startup) rows.push(["  startup", describePhases(s.startup)]);
      if (s.reason) rows.push(["  not ready", s.reason]);
      if (s.hint) rows.push(["", `hint: ${s.hint}`]);
      return withTimeline(`${s.name} (namespace ${s.namespace})\n${formatTable(rows)}`, s.timeline);
    })
    .join("\n\n");
}

export function statusCommand(): Command {
  const cmd = new Command("status")
    .description("replicas ready/desired, endpoint, model, image, age, and why it is not ready")
    .argument("[app]", "app name (default: the apps of the file)")
    .option("--show-api-key", "print the generated API key")
    .option("--timeline", "the current start and the one before, phase by phase, with advice for slow phases");
  addCommonOptions(cmd, { render: false });
  cmd.addHelpText(
    "after",
    `\nExamples:\n  $ vllmapp status\n  $ vllmapp status qwen3 --json
  $ vllmapp status qwen3 --timeline\n  $ vllmapp status --local`,
  );
  cmd.action(async (appName: string | undefined, raw) => {
    const opts = parseOptions(statusOptionsSchema, { ...raw, appName });
    const result = await runStatus(opts);
    const ui = uiFor(opts);
    if (opts.json) ui.out(JSON.stringify(result, null, 2));
    else {
      const text = formatStatus(result, opts);
      if (text) ui.out(text);
    }
  });
  return cmd;
}
