/** `vllmapp init`: ask (on a terminal) or take flags, and write a commented vllm-app.yaml. */
import { Command } from "commander";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  findGpuType,
  GPU_TYPES,
  gpuNodeMatches,
  parseGpuString,
  type GpuType,
  type LabelSchemeName,
} from "../config/gpus.js";
import { askClusterKind, clusterKindOf, currentContext, nodeLabelsLine, parseClusterKind } from "./cluster-kind.js";
import { checkGpuFit, suggestGpu, weightBytes, whyUnsized } from "../models/plan-gpus.js";
import { parseConfigText } from "../config/load.js";
import { DNS1123_LABEL, gpuStringProblem, HF_REPO } from "../config/schema.js";
import { fsUsageError, InterruptedError, UsageError } from "../errors.js";
import type { Ui } from "../ui/output.js";
import { DEFAULT_CPU_IMAGE } from "../render/labels.js";
import { uiFor } from "./options.js";
import { SCHEMA_FILE, SCHEMA_REF, writeSchema } from "./schema.js";

export interface InitAnswers {
  name: string;
  model: string;
  /** "TYPE:N", a count ("0": no GPU) */
  gpu: string;
  auth: boolean;
  /** a GPU not in the catalog ("other"): its product label value, selected with a nodeSelector */
  otherGpu?: string;
  /** why the GPU could not be sized from the model (written as a comment on the line) */
  placeholder?: string;
  /** how the cluster labels GPU nodes (node_labels.scheme), when not the default gfd */
  scheme?: LabelSchemeName;
  /** where the downloaded weights go, when init could read their size: room on the node's disk, or a volume */
  weights?: { bytes: number; disk: string } | { bytes: number; cache: string };
}

const DEFAULT_MODEL = "Qwen/Qwen3-0.6B";
const DEFAULT_GPU = "L4:1";

export function nameFromModel(model: string): string {
  const base = model.replace(/@.*$/, "").split("/").filter(Boolean).pop() ?? "vllm-app";
  const name = base
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)
    .replace(/-+$/, "");
  return DNS1123_LABEL.test(name) ? name : "vllm-app";
}

export function validateName(v: string): string | true {
  return DNS1123_LABEL.test(v) && v.length <= 63
    ? true
    : "a DNS-1123 label: lowercase letters, digits and '-', at most 63 characters";
}

export function validateModel(v: string): string | true {
  if (
    HF_REPO.test(v) ||
    /^(s3|gs|az):\/\/[^/]+/.test(v) ||
    v.startsWith("pvc://") ||
    v.startsWith("/") ||
    v.startsWith("models:/")
  )
    return true;
  return "a Hugging Face repo (org/name), an s3://, gs://, az:// or pvc:// path, or an absolute path";
}

/** `--gpu`: a count, or TYPE:COUNT; a mistake is worded as the file's check words it, with its fix. */
function gpuFlagProblem(v: string): UsageError | undefined {
  if (/^\d+$/.test(v.trim())) return undefined;
  const count = /:(.*)$/.exec(v)?.[1];
  if (count !== undefined && !/^\d+$/.test(count.trim()))
    return new UsageError(
      `--gpu ${v}: the count "${count}" is not a whole number`,
      `write TYPE:COUNT, e.g. --gpu ${v.slice(0, v.lastIndexOf(":"))}:1`,
    );
  if (v.trim().startsWith(":"))
    return new UsageError(`--gpu ${v}: no GPU type before the count`, `write TYPE:COUNT, e.g. --gpu L4${v.trim()}`);
  const p = gpuStringProblem(v);
  if (!p) return undefined;
  const zero = /asks for zero/.test(p.message);
  const guess = /^write "([^"]+)"/.exec(p.hint)?.[1];
  const hint = zero
    ? `write --gpu ${v.slice(0, v.lastIndexOf(":"))}:1 (or more), or --gpu 0 for no GPU`
    : guess && guess !== "TYPE:COUNT"
      ? `write --gpu ${guess}`
      : 'write --gpu TYPE:COUNT, e.g. --gpu L4:1; a GPU not in this list: run vllmapp init on a terminal and pick "other", which selects the nodes by their product label';
  return new UsageError(`--gpu ${v}: ${p.message}`, hint);
}

/** The catalog's GPU type of a `--gpu` value ("TYPE:COUNT"), if it names one. */
function gpuTypeOf(gpu: string): GpuType | undefined {
  const typed = parseGpuString(gpu)?.type;
  return typed === undefined ? undefined : findGpuType(typed);
}

function yamlString(s: string): string {
  return /^[A-Za-z0-9_./@:-]+$/.test(s) && !/^(true|false|null|yes|no|on|off|~)$/i.test(s) && !/^[\d.]+$/.test(s)
    ? s
    : JSON.stringify(s);
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
${a.gpu === "0" ? `${commented(`image: ${DEFAULT_CPU_IMAGE}`, "vLLM's CPU build (x86-64): no GPU asked for, and the default image is the CUDA build")}\n` : ""}resources:
${commented(`  gpu: ${gpuIsCount ? a.gpu : yamlString(a.gpu)}`, gpuComment(a))}
  # cpu: "8"                        # default: 4 per GPU
  # memory: 32Gi                    # default: 16Gi per GPU
  # shm: auto                       # /dev/shm, sized from the GPU count
${a.weights && "disk" in a.weights ? `${commented(`  disk: ${a.weights.disk}`, `room on the node's disk for the downloaded weights (${gb(a.weights.bytes)}); or keep them on a volume: cache below`)}\n` : ""}${a.scheme && a.scheme !== "gfd" ? `${nodeLabelsLine(a.scheme)}\n` : ""}
# extra_args:                       # extra \`vllm serve\` flags, checked against vLLM's own flag list
#   - --max-model-len
#   - "8192"

${commented(`requires_auth: ${a.auth}`, a.auth ? "an API key is generated into a Secret and passed as VLLM_API_KEY" : "the endpoint is open to anyone who can reach it")}
# secrets:
#   - HF_TOKEN                      # from the Secret "${a.name}-secrets" (vllmapp deploy --create-secrets)

# scaling:
#   replicas: 1                     # or [min, max] to autoscale on vLLM's metrics (KEDA)
# startup_timeout: 30m              # download + load budget before the startup probe gives up
${a.weights && "cache" in a.weights ? `${commented("cache:", `the weights (${gb(a.weights.bytes)}) on a volume of their own, kept across restarts: too big for many nodes' root disks`)}\n  size: ${a.weights.cache}` : "# cache:                            # keep downloaded weights on a volume across restarts\n#   size: 100Gi"}
${
  a.otherGpu === undefined
    ? ""
    : `
# ${JSON.stringify(a.otherGpu)} is not in vllmapp's GPU list, so the nodes are selected by their product label:
pod_template:
  spec:
    nodeSelector:
      nvidia.com/gpu.product: ${yamlString(a.otherGpu)}
`
}`;
}

function gb(bytes: number): string {
  return `${(bytes / 1e9).toFixed(1)} GB`;
}

const GiB = 2 ** 30;
/** Above this, init keeps the weights on a volume (cache:) rather than the node's root disk, as render advises. */
const WEIGHTS_ON_VOLUME_BYTES = 50 * GiB;

/**
 * Where a Hugging Face download goes, sized as render sizes the emptyDir from a known size (weights
 * × 1.1 + 1 GiB): `disk:` (the pod requests that room on the node), or for weights too big for common
 * root disks a `cache:` volume. Then the first render has nothing to warn about the weights' disk.
 */
export function weightsPlace(bytes: number): NonNullable<InitAnswers["weights"]> {
  const need = `${Math.ceil((bytes * 1.1) / GiB) + 1}Gi`;
  return bytes * 1.1 > WEIGHTS_ON_VOLUME_BYTES ? { bytes, cache: need } : { bytes, disk: need };
}

function gpuComment(a: InitAnswers): string {
  if (a.placeholder) return `PLACEHOLDER: not sized (${a.placeholder}); check it`;
  if (a.gpu === "0") return "no GPU: runs on the CPU image above";
  if (a.otherGpu !== undefined) return `${a.gpu} of ${a.otherGpu} (pod_template below selects the nodes)`;
  return '"TYPE:COUNT" (L4:1, H100:8, "A100 80G:4") or a count';
}

/**
 * The command that runs vllmapp where init ran, for the next steps it prints: `npx vllmapp` when npx
 * started it (vllmapp as a project's dependency is not on PATH there), else `vllmapp`.
 */
export function invokedAs(env: NodeJS.ProcessEnv = process.env): string {
  return env.npm_command === "exec" ? "npx vllmapp" : "vllmapp";
}

/** `init [PATH]`: a folder (its vllm-app.yaml), or the .yaml/.yml file itself. */
export function initTarget(arg: string): string {
  if (/\.ya?ml$/i.test(arg)) {
    if (existsSync(arg) && statSync(arg).isDirectory()) return path.join(arg, "vllm-app.yaml");
    return arg;
  }
  if (/\.(json|toml|txt|ini|conf|cfg)$/i.test(arg) || (existsSync(arg) && !statSync(arg).isDirectory())) {
    throw new UsageError(
      `init ${arg}: expected a folder or a .yaml file`,
      `pass a folder (vllmapp init ${path.dirname(arg)}) or a file name ending in .yaml (vllmapp init ${arg.replace(/\.[^./]*$/, "")}.yaml)`,
    );
  }
  return path.join(arg, "vllm-app.yaml");
}

/** Ctrl-C (ExitPromptError) or Ctrl-D at a prompt: the user's answer is "no", not a failure. */
async function asked<T>(ask: (signal: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<T> {
  try {
    return await ask(signal);
  } catch (e) {
    const name = (e as Error)?.name;
    if (name === "ExitPromptError" || name === "AbortPromptError" || name === "CancelPromptError")
      throw new InterruptedError("aborted");
    throw e;
  }
}

const OTHER = "\0other";
const NONE = "\0none";

/** The GPU prompt: type to filter; "other" for a GPU not in the list, "no GPU"; nothing is picked that was not shown. */
async function askGpu(
  model: string,
  signal: AbortSignal,
): Promise<Pick<InitAnswers, "gpu" | "otherGpu" | "placeholder">> {
  const { search, input } = await import("@inquirer/prompts");
  const choices = GPU_TYPES.map((t) => ({
    name: `${t.name} (${t.memoryGB} GB)`,
    value: t.name,
    keys: [t.name, ...t.aliases].join(" ").toLowerCase(),
  }));
  const type = await asked(
    (s) =>
      search<string>(
        {
          message: "GPU type (type to filter)",
          source: (term) => {
            const t = (term ?? "").trim().toLowerCase();
            const shown = choices.filter(
              (c) => !t || c.keys.includes(t) || c.keys.replace(/[^a-z0-9]/g, "").includes(t.replace(/[^a-z0-9]/g, "")),
            );
            const none = { name: "no GPU (CPU only)", value: NONE };
            if (t && ["no gpu", "none", "cpu", "cpu only"].some((k) => k.startsWith(t)))
              return [none, ...shown.map(({ name, value }) => ({ name, value }))];
            return [
              ...shown.map(({ name, value }) => ({ name, value })),
              {
                name: t && !shown.length ? `other: "${term!.trim()}" (not in the list)` : "other (not in the list)",
                value: OTHER,
              },
              none,
            ];
          },
        },
        { signal: s },
      ),
    signal,
  );
  if (type === NONE) return { gpu: "0" };
  const count = async (suggested?: string) =>
    asked(
      (s) =>
        input(
          {
            message: "GPUs per replica",
            default: suggested ?? "1",
            validate: (v) => (/^[1-9]\d*$/.test(v) ? true : "a whole number ≥ 1"),
          },
          { signal: s },
        ),
      signal,
    );
  if (type === OTHER) {
    const product = await asked(
      (s) =>
        input(
          {
            message: "The GPU's product, as your nodes' nvidia.com/gpu.product label has it",
            validate: (v) =>
              /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(v.trim())
                ? true
                : "a label value: letters, digits, '-', '_' and '.'",
          },
          { signal: s },
        ),
      signal,
    );
    const known = GPU_TYPES.find((t) => t.products.includes(product.trim()));
    if (known) return { gpu: `${known.name}:${await count()}` };
    return { gpu: await count(), otherGpu: product.trim() };
  }
  const suggested = await suggestGpu(model, type);
  const why = suggested ? undefined : await whyUnsized(model);
  if (why)
    process.stderr.write(
      `note: could not size ${model} (${why}); the GPU count is a guess, marked PLACEHOLDER in the file\n`,
    );
  const n = await count(suggested?.startsWith(`${type}:`) ? suggested.slice(type.length + 1) : undefined);
  return { gpu: `${type}:${n}`, ...(why ? { placeholder: why } : {}) };
}

export async function runInit(
  target: string,
  opts: InitOptions,
  ui?: Ui,
): Promise<{ file: string; schema: string; answers: InitAnswers }> {
  const file = initTarget(target);
  if (existsSync(file) && !opts.force) {
    throw new UsageError(
      `${file} already exists`,
      "pass --force to overwrite it, or choose another folder: vllmapp init DIR",
    );
  }
  const interactive = opts.interactive ?? (Boolean(process.stdin.isTTY && process.stdout.isTTY) && !opts.yes);
  const answers = interactive ? await askAnswers(opts) : await answersFromFlags(opts, ui);
  settleScheme(answers, opts.cluster);
  await checkAnswers(answers, opts, ui);
  // a Hugging Face download lands on the node's disk (init writes no cache:): size it when the Hub answers
  if (HF_REPO.test(answers.model) && !answers.model.includes("://")) {
    const bytes = await weightBytes(answers.model);
    if (bytes !== undefined) answers.weights = weightsPlace(bytes);
  }
  return { ...(await writeInitFiles(file, answers, opts.force)), answers };
}

/**
 * On a terminal: ask for what the flags did not give (model, name, GPU, the cluster's GPU node labels for an
 * NVIDIA GPU, auth). Ctrl-C or Ctrl-D at any prompt is an InterruptedError("aborted").
 */
async function askAnswers(opts: InitOptions): Promise<InitAnswers> {
  const { input, confirm } = await import("@inquirer/prompts");
  // Ctrl-D (end of input) ends any prompt as Ctrl-C does
  const ac = new AbortController();
  const onKey = (_s: unknown, key?: { ctrl?: boolean; name?: string }) => {
    if (key?.ctrl && key.name === "d") ac.abort();
  };
  process.stdin.on("keypress", onKey);
  try {
    const model =
      opts.model ??
      (await asked(
        (s) =>
          input(
            {
              message: "Model (Hugging Face repo, or s3:// gs:// az:// pvc:// path)",
              default: DEFAULT_MODEL,
              validate: validateModel,
            },
            { signal: s },
          ),
        ac.signal,
      ));
    const name =
      opts.name ??
      (await asked(
        (s) => input({ message: "App name", default: nameFromModel(model), validate: validateName }, { signal: s }),
        ac.signal,
      ));
    const gpu = opts.gpu !== undefined ? { gpu: opts.gpu } : await askGpu(model, ac.signal);
    const gpuType = gpu.otherGpu === undefined ? gpuTypeOf(gpu.gpu) : undefined;
    // asked with the GPU: when --gpu answered that, the context (or --cluster) answers this
    const scheme =
      gpuType?.vendor === "nvidia"
        ? (clusterOption(opts.cluster) ??
          (opts.gpu !== undefined
            ? detectedKind()?.scheme
            : await asked((s) => askClusterKind(detectedKind()?.scheme, s), ac.signal)))
        : undefined;
    // once the flags gave what init needs (name, model, GPU), the rest takes its default instead of a question
    const given = opts.name !== undefined && opts.model !== undefined && opts.gpu !== undefined;
    const auth =
      opts.auth ??
      (given
        ? true
        : await asked((s) => confirm({ message: "Require an API key?", default: true }, { signal: s }), ac.signal));
    return { name, model, ...gpu, auth, ...(scheme ? { scheme } : {}) };
  } finally {
    process.stdin.off("keypress", onKey);
  }
}

/**
 * Without a terminal: the flags, and with --yes the defaults for the rest (the default model, the fewest GPUs
 * that hold it, else a PLACEHOLDER; the node labels from --cluster or the current context).
 */
async function answersFromFlags(opts: InitOptions, ui?: Ui): Promise<InitAnswers> {
  const missing = (["name", "model", "gpu"] as const).filter((k) => opts[k] === undefined);
  if (missing.length && !opts.yes) {
    throw new UsageError(
      `no terminal to ask on, and ${missing.map((m) => `--${m}`).join(", ")} ${missing.length === 1 ? "is" : "are"} missing`,
      `pass ${missing.map((m) => `--${m} …`).join(" ")}, or --yes to take the defaults (model ${DEFAULT_MODEL}, gpu: the fewest that hold it)`,
    );
  }
  const model = opts.model ?? DEFAULT_MODEL;
  let gpu = opts.gpu;
  let placeholder: string | undefined;
  if (gpu === undefined) {
    gpu = await suggestGpu(model);
    if (gpu === undefined) {
      placeholder = (await whyUnsized(model)) ?? "the model could not be sized";
      gpu = DEFAULT_GPU;
      ui?.warn(
        `could not size ${model} (${placeholder}); wrote gpu: ${gpu} as a PLACEHOLDER: check it, or pass --gpu. Nor the room its weights need on the node: render warns until resources.disk or cache: {size} is set`,
      );
    }
  }
  const answers: InitAnswers = {
    name: opts.name ?? nameFromModel(model),
    model,
    gpu,
    auth: opts.auth ?? true,
    ...(placeholder ? { placeholder } : {}),
  };
  if (gpuTypeOf(gpu)?.vendor === "nvidia") {
    const given = clusterOption(opts.cluster);
    const detected = given ? undefined : detectedKind();
    const scheme = given ?? detected?.scheme;
    if (detected && "matches" in gpuNodeMatches(gpuTypeOf(gpu)!, detected.scheme))
      ui?.note(
        `${detected.why}: wrote node_labels: {scheme: ${scheme}} (pass --cluster gfd if its GPU nodes run the NVIDIA GPU operator)`,
      );
    if (scheme) answers.scheme = scheme;
  }
  return answers;
}

/**
 * A label scheme that cannot select the GPU: an error when --cluster named it; when read from the context
 * (not asked for), dropped, so the default stays and deploy says what the nodes have.
 */
function settleScheme(answers: InitAnswers, cluster: string | undefined): void {
  if (!answers.scheme) return;
  const t = gpuTypeOf(answers.gpu);
  const m = t && gpuNodeMatches(t, answers.scheme);
  if (m && "problem" in m) {
    if (cluster !== undefined) throw new UsageError(`--cluster ${cluster}: ${m.problem}`, m.hint);
    delete answers.scheme;
  }
}

/**
 * Every flag's problem at once (--gpu's worded as the file's check words it), then whether the model fits the
 * GPUs asked for, when init sized it.
 */
async function checkAnswers(answers: InitAnswers, opts: InitOptions, ui?: Ui): Promise<void> {
  const gpuProblem = gpuFlagProblem(answers.gpu);
  const problems = [
    ["--name", validateName(answers.name)],
    ["--model", validateModel(answers.model)],
  ]
    .filter(([, r]) => r !== true)
    .map(([f, r]) => `${f}: expected ${r}`);
  if (gpuProblem) problems.push(gpuProblem.message);
  if (problems.length) throw new UsageError(problems.join("\n"), gpuProblem?.hint);
  if (answers.placeholder || answers.otherGpu !== undefined || answers.gpu === "0") return;
  const misfit = await checkGpuFit(answers.model, answers.gpu);
  if (misfit) throw new UsageError(misfit.message, misfit.hint);
  if (opts.gpu !== undefined) {
    const why = await whyUnsized(answers.model);
    if (why)
      ui?.note(
        `could not check that ${answers.model} fits ${answers.gpu} (${why}); vllmapp check does once it can reach the model`,
      );
  }
}

/**
 * Write the file (it must load; --force overwrites, else an existing file is an error) and the schema beside
 * it, reached by a relative path: it resolves for every install (npm, the binary, a clone), offline, and on a
 * teammate's machine once the folder is committed.
 */
async function writeInitFiles(
  file: string,
  answers: InitAnswers,
  force: boolean | undefined,
): Promise<{ file: string; schema: string }> {
  const dir = path.dirname(file);
  const text = initYaml(answers, SCHEMA_REF);
  parseConfigText(text, file); // what init writes must load
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, text, { flag: force ? "w" : "wx" });
  } catch (e) {
    throw fsUsageError("write", file, e, "choose a folder you can write to: vllmapp init DIR");
  }
  const schema = path.join(dir, SCHEMA_FILE);
  await writeSchema(schema);
  return { file, schema };
}

export interface InitOptions {
  /** --cluster: how GPU nodes are labelled (gfd, gke, eks/karpenter, aks) */
  cluster?: string;
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
    .argument("[path]", "a folder (writes FOLDER/vllm-app.yaml) or a .yaml file", ".")
    .option("--name <name>", "app name (DNS-1123 label)")
    .option("--model <model>", "Hugging Face repo, or s3:// gs:// az:// pvc:// path")
    .option("--gpu <gpu>", 'GPU per replica: "TYPE:COUNT" (L4:1, H100:8) or a count')
    .option(
      "--cluster <kind>",
      "how the cluster labels GPU nodes: gfd (NVIDIA GPU operator), gke, eks, aks (default: read from the current kube context, else gfd)",
    )
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
  $ vllmapp init deploy/llama --model meta-llama/Llama-3.1-70B-Instruct --gpu H100:4
  $ vllmapp init llama.yaml --model meta-llama/Llama-3.1-8B-Instruct --gpu L4:1 --yes`,
    )
    .action(async (target: string, raw) => {
      const opts: InitOptions = {
        cluster: raw.cluster,
        name: raw.name,
        model: raw.model,
        gpu: raw.gpu,
        auth: raw.auth,
        yes: raw.yes,
        force: raw.force,
        quiet: raw.quiet,
        json: raw.json,
        color: raw.color,
      };
      const ui = uiFor(opts);
      const r = await runInit(target, opts, ui);
      if (opts.json) ui.out(JSON.stringify(r, null, 2));
      if (r.answers.gpu === "0")
        ui.note(
          `no GPU: wrote image: ${DEFAULT_CPU_IMAGE} (vLLM's CPU build, x86-64 nodes); vllm/vllm-openai, the default, is the CUDA build and exits without a GPU`,
        );
      const f = r.file === "vllm-app.yaml" ? "" : ` -f ${r.file}`;
      const me = invokedAs();
      ui.success(
        `wrote ${r.file} (and ${r.schema}, the schema editors check it with; vllmapp schema rewrites it after an upgrade)\nnext:\n  ${me} render --dry-run${f}     # see what would be deployed\n  ${me} deploy${f}               # apply to the current kubectl context (--local: Docker on this machine)`,
      );
    });
}

function clusterOption(v: string | undefined): LabelSchemeName | undefined {
  if (v === undefined) return undefined;
  const k = parseClusterKind(v);
  if (!k)
    throw new UsageError(
      `--cluster: expected gfd, gke, eks (or karpenter) or aks, got ${JSON.stringify(v)}`,
      "gfd: the NVIDIA GPU operator's labels (any cloud); gke, eks, aks: the cloud's own GPU node labels",
    );
  return k;
}

function detectedKind(): ReturnType<typeof clusterKindOf> {
  const ctx = currentContext();
  return ctx ? clusterKindOf(ctx) : undefined;
}
