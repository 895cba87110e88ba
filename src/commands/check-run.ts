/** `vllmapp check`, the part that runs: resolve, check and fit every app's model; the report and its text. */
import { ConfigError, type Diagnostic } from "../errors.js";
import type { SourceReport } from "../models/resolve.js";
import { sourceUri } from "../models/source.js";
import { gb } from "../fit/fit.js";
import { renderAll, uiFor } from "./common.js";
import type { CheckOptions } from "./check.js";

export interface CheckedApp {
  name: string;
  model: { kind: string; uri: string; resolvedFrom?: string };
  checked?: string;
  weightBytes?: number;
  fit?: { gpu: string; fits: boolean; contextFits: boolean; weightBytesPerGpu: number; kvCacheBytesPerGpu: number; maxTokens: number; maxModelLen: number; summary: string };
  problems: Diagnostic[];
}

export interface CheckResult {
  ok: boolean;
  apps: CheckedApp[];
  /** problems not tied to one app's source (the rest of the config) */
  problems: Diagnostic[];
}

export async function runCheck(opts: CheckOptions): Promise<CheckResult> {
  const ui = uiFor(opts);
  const { makeResolver } = await import("../models/resolve.js");
  const reports: SourceReport[] = [];
  const problems: Diagnostic[] = [];
  try {
    const { warnings } = await renderAll({ opts, resolve: makeResolver({ ...opts, ui, mode: "check" }, (r) => reports.push(r)) });
    problems.push(...warnings);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    // the source errors are in the reports already
    const reported = new Set(reports.flatMap((r) => r.diagnostics.map((d) => JSON.stringify(d))));
    problems.push(...e.diagnostics.filter((d) => !reported.has(JSON.stringify(d))));
  }
  const apps = reports.map((r): CheckedApp => ({
    name: r.app,
    model: { kind: r.source.kind, uri: sourceUri(r.source), ...(r.resolvedFrom ? { resolvedFrom: r.resolvedFrom } : {}) },
    ...(r.facts ? { checked: r.facts.checked, weightBytes: r.facts.weightBytes } : {}),
    ...(r.fit
      ? { fit: { gpu: r.fit.gpu, fits: r.fit.result.fits, contextFits: r.fit.result.contextFits, weightBytesPerGpu: r.fit.result.weightBytesPerGpu, kvCacheBytesPerGpu: r.fit.result.kvCacheBytesPerGpu, maxTokens: r.fit.result.maxTokens, maxModelLen: r.fit.result.maxModelLen, summary: r.fit.summary } }
      : {}),
    problems: r.diagnostics,
  }));
  const ok = ![...problems, ...apps.flatMap((a) => a.problems)].some((d) => d.severity === "error");
  return { ok, apps, problems };
}

export function formatCheck(r: CheckResult): string {
  const lines: string[] = [];
  for (const a of r.apps) {
    const errors = a.problems.filter((d) => d.severity === "error").length;
    const warnings = a.problems.filter((d) => d.severity === "warning").length;
    lines.push(`${a.name}: ${errors ? `${errors} error${errors === 1 ? "" : "s"}` : warnings ? `ok, ${warnings} warning${warnings === 1 ? "" : "s"}` : "ok"}`);
    lines.push(`  model:  ${a.model.uri}${a.model.resolvedFrom ? ` (from ${a.model.resolvedFrom})` : ""}`);
    if (a.checked) lines.push(`  source: ${a.checked}`);
    if (a.fit) lines.push(`  fit:    ${a.fit.gpu}: ${a.fit.fits ? (a.fit.contextFits ? "fits" : "fits, context too long") : "does not fit"}; weights ${gb(a.fit.weightBytesPerGpu)} per GPU, KV cache ${gb(a.fit.kvCacheBytesPerGpu)} per GPU = ${a.fit.maxTokens} tokens (max_model_len ${a.fit.maxModelLen})`);
  }
  return lines.join("\n");
}
