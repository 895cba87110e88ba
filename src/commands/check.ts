/**
 * `vllmapp check`: resolve and check every model source against its backend, run the fit check, and
 * report, without rendering files or touching the target. Exit 2 when anything would stop a deploy.
 */
import { Command } from "commander";
import { ConfigError } from "../errors.js";
import { addCommonOptions, commonOptions, uiFor, type CommonOptions } from "./options.js";

export type CheckOptions = CommonOptions;

export function checkCommand(): Command {
  const cmd = new Command("check")
    .description("resolve and check model sources against their backends, and check that each model fits its GPUs")
    .option("--offline", "skip remote checks (with a warning)");
  addCommonOptions(cmd);
  cmd.addHelpText("after", `\nExamples:\n  $ vllmapp check\n  $ vllmapp check -f llama.yaml --json\n  $ HF_TOKEN=hf_… vllmapp check --app llama70b`);
  cmd.action(async (raw) => {
    const opts = { ...commonOptions(raw), offline: raw.offline } as CheckOptions;
    const ui = uiFor(opts);
    const { runCheck, formatCheck } = await import("./check-run.js");
    const r = await runCheck(opts);
    ui.out(opts.json ? JSON.stringify(r, null, 2) : formatCheck(r));
    const all = [...r.problems, ...r.apps.flatMap((a) => a.problems)];
    ui.diagnostics(all.filter((d) => d.severity !== "error"));
    if (!r.ok) throw new ConfigError(all.filter((d) => d.severity === "error"));
  });
  return cmd;
}
