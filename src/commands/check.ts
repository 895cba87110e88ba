/**
 * `vllmapp check`: resolve and check every model source against its backend, run the fit check, and
 * report, without rendering files or touching the target. Exit 2 when anything would stop a deploy.
 */
import { Command } from "commander";
import * as z from "zod/mini";
import { ConfigError, UsageError, type Diagnostic } from "../errors.js";
import { gb } from "../fit/fit.js";
import {
  addCommonOptions,
  connectionShape,
  converted,
  fileShape,
  outputOf,
  outputShape,
  paramsFlag,
  parseOptions,
  setFlag,
  targetOf,
  targetShape,
  uiFor,
} from "./options.js";

export const checkOptionsSchema = converted(
  z.object({
    ...fileShape,
    ...targetShape,
    ...connectionShape,
    ...outputShape,
    param: paramsFlag,
    set: setFlag,
    templates: z.optional(z.string()),
    offline: z._default(z.boolean(), false),
    vllmVersion: z.optional(z.string()),
  }),
  (o) => ({ ...o, target: targetOf(o), params: o.param, ...outputOf(o, ["text", "json"]) }),
);

export type CheckOptions = z.output<typeof checkOptionsSchema>;

export interface CheckedApp {
  name: string;
  model: { kind: string; uri: string; resolvedFrom?: string };
  checked?: string;
  weightBytes?: number;
  fit?: {
    gpu: string;
    fits: boolean;
    contextFits: boolean;
    weightBytesPerGpu: number;
    kvCacheBytesPerGpu: number;
    maxTokens: number;
    maxModelLen: number;
    summary: string;
  };
  problems: Diagnostic[];
}

export interface CheckResult {
  ok: boolean;
  apps: CheckedApp[];
  /** problems not tied to one app's source (the rest of the config) */
  problems: Diagnostic[];
}

export async function runCheck(opts: CheckOptions): Promise<CheckResult> {
  const [{ plan }, { nodePlanIo }, { makeSourceResolver }, { sourceUri }] = await Promise.all([
    import("../app/plan.js"),
    import("../app/node-io.js"),
    import("./resolver.js"),
    import("../models/source.js"),
  ]);
  const resolve = await makeSourceResolver({
    mode: "check",
    offline: opts.offline,
    namespace: opts.namespace,
    context: opts.context,
    kubeconfig: opts.kubeconfig,
  });
  const p = await plan(
    {
      file: opts.file,
      app: opts.app,
      target: opts.target,
      namespace: opts.namespace,
      params: opts.params,
      set: opts.set,
    },
    nodePlanIo({ templates: opts.templates, resolve }),
  );
  const fits = new Map(p.apps.filter((a) => a.report && a.fit).map((a) => [a.report!, a.fit!]));
  const reported = new Set(p.reports.flatMap((r) => r.diagnostics));
  // with errors: the ones not in a source report; else the warnings of the rest of the config
  const rest = (p.errors.length ? p.errors : p.warnings).filter((d) => !reported.has(d));
  // an app's own config problems (render, includes) count against it: an app with errors is never "ok"
  const own = (name: string) => rest.filter((d) => d.app === name);
  const problems = rest.filter((d) => d.app === undefined || !p.reports.some((r) => r.app === d.app));
  const apps = p.reports.map((r): CheckedApp => {
    const fit = fits.get(r);
    return {
      name: r.app,
      model: {
        kind: r.source.kind,
        uri: sourceUri(r.source),
        ...(r.resolvedFrom ? { resolvedFrom: r.resolvedFrom } : {}),
      },
      ...(r.facts ? { checked: r.facts.checked, weightBytes: r.facts.weightBytes } : {}),
      ...(fit
        ? {
            fit: {
              gpu: fit.gpu,
              fits: fit.result.fits,
              contextFits: fit.result.contextFits,
              weightBytesPerGpu: fit.result.weightBytesPerGpu,
              kvCacheBytesPerGpu: fit.result.kvCacheBytesPerGpu,
              maxTokens: fit.result.maxTokens,
              maxModelLen: fit.result.maxModelLen,
              summary: fit.summary,
            },
          }
        : {}),
      problems: [...r.diagnostics, ...own(r.app)],
    };
  });
  const ok = ![...problems, ...apps.flatMap((a) => a.problems)].some((d) => d.severity === "error");
  return { ok, apps, problems };
}

export function formatCheck(r: CheckResult): string {
  const lines: string[] = [];
  for (const a of r.apps) {
    const errors = a.problems.filter((d) => d.severity === "error").length;
    const warnings = a.problems.filter((d) => d.severity === "warning").length;
    lines.push(
      `${a.name}: ${errors ? `${errors} error${errors === 1 ? "" : "s"}` : warnings ? `ok, ${warnings} warning${warnings === 1 ? "" : "s"}` : "ok"}`,
    );
    lines.push(`  model:  ${a.model.uri}${a.model.resolvedFrom ? ` (from ${a.model.resolvedFrom})` : ""}`);
    if (a.checked) lines.push(`  source: ${a.checked}`);
    if (a.fit)
      lines.push(
        `  fit:    ${a.fit.gpu}: ${a.fit.fits ? (a.fit.contextFits ? "fits" : "fits, context too long") : "does not fit"}; weights ${gb(a.fit.weightBytesPerGpu)} per GPU, KV cache ${gb(a.fit.kvCacheBytesPerGpu)} per GPU = ${a.fit.maxTokens} tokens (max_model_len ${a.fit.maxModelLen})`,
      );
  }
  return lines.join("\n");
}

/** The upgrade report (README "vLLM flag catalogs"): exit 2 with each breaking flag at file:line:col, 0 otherwise. */
async function upgradeReport(opts: CheckOptions, ui: ReturnType<typeof uiFor>): Promise<void> {
  const [{ selectApps }, { fsLoadDeps }, up, { DEFAULT_IMAGE }, { formatPath }] = await Promise.all([
    import("../app/plan.js"),
    import("../app/node-io.js"),
    import("../vllm/upgrade.js"),
    import("../render/labels.js"),
    import("../config/load.js"),
  ]);
  const to = up.resolveRelease(opts.vllmVersion!);
  if ("error" in to) throw new UsageError(to.error, to.hint);
  const { selected } = selectApps({ file: opts.file, app: opts.app }, fsLoadDeps());
  const reports = selected.map((a) => ({ loaded: a, report: up.upgradeApp(a.config, DEFAULT_IMAGE, to.version) }));
  ui.out(
    opts.json
      ? JSON.stringify(
          {
            to: to.version,
            ok: reports.every((r) => r.report.findings.every((f) => f.kind === "changes")),
            apps: reports.map((r) => r.report),
          },
          null,
          2,
        )
      : up.formatUpgrade(
          reports.map((r) => r.report),
          formatPath,
        ),
  );
  const diags = reports.flatMap(({ loaded, report }) =>
    report.findings.map((f): Diagnostic => ({
      file: loaded.file,
      ...loaded.locate(f.path),
      path: formatPath(f.path),
      message: `${report.app}: on vLLM ${report.to}, ${f.message}`,
      hint: f.fix,
      severity: f.kind === "changes" ? "warning" : "error",
    })),
  );
  if (diags.some((d) => d.severity === "error")) throw new ConfigError(diags);
  ui.diagnostics(diags);
}

export function checkCommand(): Command {
  const cmd = new Command("check")
    .description("resolve and check model sources against their backends, and check that each model fits its GPUs")
    .option("--offline", "skip the checks that need the network (a warning says what was skipped)")
    .option(
      "--vllm-version <X.Y.Z>",
      "instead: the upgrade report, which extra_args flags break, become ambiguous or change meaning on that vLLM release (exit 2 if any breaks)",
    );
  addCommonOptions(cmd);
  cmd.addHelpText(
    "after",
    `\nExamples:\n  $ vllmapp check\n  $ vllmapp check -f llama.yaml --json\n  $ HF_TOKEN=hf_… vllmapp check --app llama70b\n  $ vllmapp check --vllm-version 0.33.0 --json`,
  );
  cmd.action(async (raw) => {
    const opts = parseOptions(checkOptionsSchema, raw);
    const ui = uiFor(opts);
    if (opts.vllmVersion !== undefined) return upgradeReport(opts, ui);
    const r = await runCheck(opts);
    ui.out(opts.json ? JSON.stringify(r, null, 2) : formatCheck(r));
    const all = [...r.problems, ...r.apps.flatMap((a) => a.problems)];
    ui.diagnostics(all.filter((d) => d.severity !== "error"));
    if (!r.ok) throw new ConfigError(all.filter((d) => d.severity === "error"));
  });
  return cmd;
}
