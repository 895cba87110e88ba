import { Command } from "commander";
import { addCommonOptions, commonOptions, uiFor, type CommonOptions } from "./options.js";

export interface RenderOptions extends CommonOptions {
  dryRun?: boolean;
  out?: string;
  resolve?: boolean;
  gpus?: string;
}

export function renderCommand(): Command {
  const cmd = new Command("render")
    .description("render the vllm serve command and the Kubernetes manifests (or docker run) without touching a cluster or Docker")
    .option("--dry-run", "print to stdout instead of writing files")
    .option("--out <dir>", "folder to write (default ./rendered/<app>/)")
    .option("--resolve", "resolve run outputs and check model sources against their backends")
    .option("--offline", "skip remote checks (with a warning)")
    .option("--gpus <devices>", "docker: --gpus value (all, 0 for none, or 0,1)");
  addCommonOptions(cmd);
  cmd.addHelpText(
    "after",
    `
Examples:
  $ vllmapp render --dry-run -f examples/qwen3.yaml            # manifests as YAML on stdout
  $ vllmapp render --dry-run -o json                           # one JSON document
  $ vllmapp render --out deploy/                               # one file per object + kustomization.yaml
  $ vllmapp render --dry-run --local                           # the docker run command`,
  );
  cmd.action(async (raw) => {
    const opts = { ...commonOptions(raw), dryRun: raw.dryRun, out: raw.out, resolve: raw.resolve, offline: raw.offline, gpus: raw.gpus } as RenderOptions;
    const { runRender, formatJson, formatText, formatYaml } = await import("./render-run.js");
    const result = await runRender(opts);
    const ui = uiFor(opts);
    if (opts.dryRun) {
      const format = opts.output ?? (opts.target === "docker" ? "text" : "yaml");
      ui.out(format === "json" ? formatJson(result.apps) : format === "text" ? formatText(result.apps) : formatYaml(result.apps));
    } else if (opts.json) {
      ui.out(JSON.stringify({ written: result.written }, null, 2));
    }
  });
  return cmd;
}
