import { Command } from "commander";
import { uiFor } from "./options.js";

export interface InitOptions {
  name?: string;
  model?: string;
  gpu?: string;
  auth?: boolean;
  yes?: boolean;
  force?: boolean;
  quiet?: boolean;
  json?: boolean;
  color?: boolean;
  interactive?: boolean;
}

export function initCommand(): Command {
  return new Command("init")
    .description("write a commented vllm-app.yaml (asks on a terminal; flags otherwise)")
    .argument("[dir]", "folder to write vllm-app.yaml in", ".")
    .option("--name <name>", "app name (DNS-1123 label)")
    .option("--model <model>", "Hugging Face repo, or s3:// gs:// az:// pvc:// path")
    .option("--gpu <gpu>", 'GPU per replica: "TYPE:COUNT" (L4:1, H100:8) or a count')
    .option("--auth", "require an API key (default)")
    .option("--no-auth", "serve without an API key")
    .option("-y, --yes", "take defaults for what is not given, ask nothing")
    .option("--force", "overwrite an existing vllm-app.yaml")
    .option("--quiet", "only errors on stderr")
    .option("--json", "print {file, answers} as JSON")
    .option("--no-color", "no colors")
    .addHelpText(
      "after",
      `
Examples:
  $ vllmapp init                                            # asks
  $ vllmapp init --name qwen3 --model Qwen/Qwen3-0.6B --gpu L4:1 --yes
  $ vllmapp init deploy/llama --model meta-llama/Llama-3.1-70B-Instruct --gpu H100:4`,
    )
    .action(async (dir: string, raw) => {
      const opts: InitOptions = { name: raw.name, model: raw.model, gpu: raw.gpu, auth: raw.auth, yes: raw.yes, force: raw.force, quiet: raw.quiet, json: raw.json, color: raw.color };
      const ui = uiFor(opts);
      const { runInit } = await import("./init-run.js");
      const r = await runInit(dir, opts);
      if (opts.json) ui.out(JSON.stringify(r, null, 2));
      ui.success(`wrote ${r.file}; next: vllmapp render --dry-run -f ${r.file}`);
    });
}
