/**
 * `vllmapp check`: resolve and check every model source against its backend, run the fit check, and
 * report, without rendering files or touching the target. Exit 2 when anything would stop a deploy.
 */
import { Command } from "commander";
import { ConfigError, UsageError, type Diagnostic } from "../errors.js";
import { addCommonOptions, commonOptions, uiFor, type CommonOptions } from "./options.js";

export type CheckOptions = CommonOptions;

export function checkCommand(): Command {
  const cmd = new Command("check")
    .description("resolve and check model sources against their backends, and check that each model fits its GPUs")
    .option("--offline", "skip remote checks (with a warning)")
    .option("--vllm-version <X.Y.Z>", "instead: the upgrade report, which extra_args flags break, become ambiguous or change meaning on that vLLM release (exit 2 if any breaks)");
  addCommonOptions(cmd);
  cmd.addHelpText("after", `\nExamples:\n  $ vllmapp check\n  $ vllmapp check -f llama.yaml --json\n  $ HF_TOKEN=hf_… vllmapp check --app llama70b\n  $ vllmapp check --vllm-version 0.33.0 --json`);
  cmd.action(async (raw) => {
    const opts = { ...commonOptions(raw), offline: raw.offline } as CheckOptions;
    const ui = uiFor(opts);
    if (raw.vllmVersion !== undefined) {
      // the upgrade report (SPEC §8): exit 2 with each breaking flag at file:line:col, 0 otherwise
      const [{ loadApps }, up, { DEFAULT_IMAGE }, { formatPath }] = await Promise.all([import("./common.js"), import("../render/upgrade.js"), import("../render/app.js"), import("../config/load.js")]);
      const to = up.resolveRelease(String(raw.vllmVersion));
      if ("error" in to) throw new UsageError(to.error, to.hint);
      const { selected } = loadApps(opts);
      const reports = selected.map((a) => ({ loaded: a, report: up.upgradeApp(a.config, DEFAULT_IMAGE, to.version) }));
      ui.out(opts.json ? JSON.stringify({ to: to.version, ok: reports.every((r) => r.report.findings.every((f) => f.kind === "changes")), apps: reports.map((r) => r.report) }, null, 2) : up.formatUpgrade(reports.map((r) => r.report), formatPath));
      const diags = reports.flatMap(({ loaded, report }) => report.findings.map((f): Diagnostic => ({ file: loaded.file, ...loaded.locate(f.path), path: formatPath(f.path), message: `${report.app}: on vLLM ${report.to}, ${f.message}`, hint: f.fix, severity: f.kind === "changes" ? "warning" : "error" })));
      if (diags.some((d) => d.severity === "error")) throw new ConfigError(diags);
      return;
    }
    const { runCheck, formatCheck } = await import("./check-run.js");
    const r = await runCheck(opts);
    ui.out(opts.json ? JSON.stringify(r, null, 2) : formatCheck(r));
    const all = [...r.problems, ...r.apps.flatMap((a) => a.problems)];
    ui.diagnostics(all.filter((d) => d.severity !== "error"));
    if (!r.ok) throw new ConfigError(all.filter((d) => d.severity === "error"));
  });
  return cmd;
}
