/** `vllmapp init`: ask (on a terminal) or take flags, and write a commented vllm-app.yaml. */
import { Command } from "commander";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { findGpuType, GPU_TYPE_NAMES } from "../config/gpus.js";
import { checkGpuFit, suggestGpu } from "../models/plan-gpus.js";
import { parseConfigText } from "../config/load.js";
import { DNS1123_LABEL, HF_REPO } from "../config/schema.js";
import { SCHEMA_ID } from "../config/json-schema.js";
import { fsUsageError, UsageError } from "../errors.js";
import { packageRoot } from "../app/templates.js";
import { uiFor } from "./options.js";

export interface InitAnswers {
  name: string;
  model: string;
  gpu: string;
  auth: boolean;
}

const DEFAULT_MODEL = "Qwen/Qwen3-0.6B";
const DEFAULT_GPU = "L4:1";

export function nameFromModel(model: string): string {
  const base = model.replace(/@.*$/, "").split("/").filter(Boolean).pop() ?? "vllm-app";
  const name = base.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63).replace(/-+$/, "");
  return DNS1123_LABEL.test(name) ? name : "vllm-app";
}

export function validateName(v: string): string | true {
  return DNS1123_LABEL.test(v) && v.length <= 63 ? true : "a DNS-1123 label: lowercase letters, digits and '-', at most 63 characters";
}

export function validateModel(v: string): string | true {
  if (HF_REPO.test(v) || /^(s3|gs|az):\/\/[^/]+/.test(v) || v.startsWith("pvc://") || v.startsWith("/") || v.startsWith("models:/")) return true;
  return "a Hugging Face repo (org/name), an s3://, gs://, az:// or pvc:// path, or an absolute path";
}

export function validateGpu(v: string): string | true {
  if (/^\d+$/.test(v)) return true;
  const m = /^(.+?)(?::(\d+))?$/.exec(v.trim());
  return m && findGpuType(m[1]!) ? true : `TYPE:COUNT with TYPE one of ${GPU_TYPE_NAMES.join(", ")}`;
}

function yamlString(s: string): string {
  return /^[A-Za-z0-9_./@:-]+$/.test(s) && !/^(true|false|null|yes|no|on|off|~)$/i.test(s) && !/^[\d.]+$/.test(s) ? s : JSON.stringify(s);
}

/** A line with its comment in the file's comment column (36), or one space after a longer line. */
function commented(line: string, comment: string): string {
  return `${line.padEnd(35)} # ${comment}`;
}

/** The commented vllm-app.yaml that init writes. Pure. */
export function initYaml(a: InitAnswers, schemaRef: string): string {
  const hf = HF_REPO.test(a.model) && !a.model.includes("://");
  const gpuIsCount = /^\d+$/.test(a.gpu);
  return `# yaml-language-server: $schema=${schemaRef}
# vllm-app.yaml: one vLLM server, deployed by \`vllmapp deploy\` (Kubernetes) or \`vllmapp deploy --local\` (Docker).
# Field names follow Flyte 2's VLLMAppEnvironment. Check it with: vllmapp render --dry-run

${commented(`name: ${a.name}`, "names every object (DNS-1123 label)")}
${hf ? commented(`model_hf_path: ${yamlString(a.model)}`, "Hugging Face repo; pin a revision with @<rev>") : commented(`model_path: ${yamlString(a.model)}`, "s3://, gs://, az://, pvc://CLAIM/path or an absolute path")}
# model_id: my-model                # the name clients send (default: the repo id, else name)
${hf ? "" : "# stream_model: true               # stream weights from the object store (false: copy to the cache first)\n"}
resources:
${commented(`  gpu: ${gpuIsCount ? a.gpu : yamlString(a.gpu)}`, '"TYPE:COUNT" (L4:1, H100:8, "A100 80G:4") or a count')}
  # cpu: "8"                        # default: 4 per GPU
  # memory: 32Gi                    # default: 16Gi per GPU
  # shm: auto                       # /dev/shm, sized from the GPU count

# extra_args:                       # extra \`vllm serve\` flags, checked against vLLM's own flag list
#   - --max-model-len
#   - "8192"

${commented(`requires_auth: ${a.auth}`, a.auth ? "an API key is generated into a Secret and passed as VLLM_API_KEY" : "the endpoint is open to anyone who can reach it")}
# secrets:
#   - HF_TOKEN                      # from the Secret "${a.name}-secrets" (vllmapp deploy --create-secrets)

# scaling:
#   replicas: 1                     # or [min, max] to autoscale on vLLM's metrics (KEDA)
# startup_timeout: 30m              # download + load budget before the startup probe gives up
# cache:                            # keep downloaded weights on a volume across restarts
#   size: 100Gi
`;
}

function schemaRefFor(dir: string): string {
  const local = path.join(dir, "node_modules", "vllmapp", "templates", "vllm-app.schema.json");
  if (existsSync(local)) return "./node_modules/vllmapp/templates/vllm-app.schema.json";
  try {
    const shipped = path.join(packageRoot(), "templates", "vllm-app.schema.json");
    if (existsSync(shipped)) return shipped;
  } catch {
    /* fall through */
  }
  return SCHEMA_ID;
}

export async function runInit(dir: string, opts: InitOptions): Promise<{ file: string; answers: InitAnswers }> {
  const file = path.join(dir, "vllm-app.yaml");
  if (existsSync(file) && !opts.force) {
    throw new UsageError(`${file} already exists`, "pass --force to overwrite it, or choose another folder: vllmapp init DIR");
  }
  let answers: InitAnswers;
  const interactive = opts.interactive ?? (Boolean(process.stdin.isTTY && process.stdout.isTTY) && !opts.yes);
  if (interactive) {
    const { input, select, confirm } = await import("@inquirer/prompts");
    const model = opts.model ?? (await input({ message: "Model (Hugging Face repo, or s3:// gs:// az:// pvc:// path)", default: DEFAULT_MODEL, validate: validateModel }));
    const name = opts.name ?? (await input({ message: "App name", default: nameFromModel(model), validate: validateName }));
    let gpu = opts.gpu;
    if (gpu === undefined) {
      const type = await select({ message: "GPU type", choices: GPU_TYPE_NAMES.map((t) => ({ name: t, value: t })), default: "L4" });
      const suggested = await suggestGpu(model, type);
      const count = await input({ message: "GPUs per replica", default: suggested?.startsWith(`${type}:`) ? suggested.slice(type.length + 1) : "1", validate: (v) => (/^[1-9]\d*$/.test(v) ? true : "a whole number ≥ 1") });
      gpu = `${type}:${count}`;
    }
    const auth = opts.auth ?? (await confirm({ message: "Require an API key?", default: true }));
    answers = { name, model, gpu, auth };
  } else {
    const missing = (["name", "model", "gpu"] as const).filter((k) => opts[k] === undefined);
    if (missing.length && !opts.yes) {
      throw new UsageError(
        `no terminal to ask on, and ${missing.map((m) => `--${m}`).join(", ")} ${missing.length === 1 ? "is" : "are"} missing`,
        `pass ${missing.map((m) => `--${m} …`).join(" ")}, or --yes to take the defaults (model ${DEFAULT_MODEL}, gpu ${DEFAULT_GPU})`,
      );
    }
    const model = opts.model ?? DEFAULT_MODEL;
    answers = { name: opts.name ?? nameFromModel(model), model, gpu: opts.gpu ?? (await suggestGpu(model)) ?? DEFAULT_GPU, auth: opts.auth ?? true };
  }
  const problems = [
    ["--name", validateName(answers.name)],
    ["--model", validateModel(answers.model)],
    ["--gpu", validateGpu(answers.gpu)],
  ].filter(([, r]) => r !== true);
  if (problems.length) throw new UsageError(problems.map(([f, r]) => `${f}: expected ${r}`).join("\n"));
  const misfit = await checkGpuFit(answers.model, answers.gpu);
  if (misfit) throw new UsageError(misfit.message, misfit.hint);
  const text = initYaml(answers, schemaRefFor(dir));
  parseConfigText(text, file); // what init writes must load
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, text, { flag: opts.force ? "w" : "wx" });
  } catch (e) {
    throw fsUsageError("write", file, e, "choose a folder you can write to: vllmapp init DIR");
  }
  return { file, answers };
}

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
      const r = await runInit(dir, opts);
      if (opts.json) ui.out(JSON.stringify(r, null, 2));
      ui.success(`wrote ${r.file}; next: vllmapp render --dry-run -f ${r.file}`);
    });
}
