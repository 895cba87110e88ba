/** `vllmapp render`: flags → plan → print (--dry-run) or write one folder per app. Never touches a cluster or Docker. */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Command } from "commander";
import { z } from "zod";
import { fsUsageError, UsageError } from "../errors.js";
import { apiKeyRef, createApiKeyCommand } from "../render/labels.js";
import type { RenderedApp } from "../render/types.js";
import type { Ui } from "../ui/output.js";
import { addCommonOptions, connectionShape, fileShape, outputOf, outputShape, paramsFlag, parseOptions, targetOf, targetShape, uiFor } from "./options.js";

export const renderOptionsSchema = z
  .object({
    ...fileShape,
    ...targetShape,
    ...connectionShape,
    ...outputShape,
    param: paramsFlag,
    templates: z.string().optional(),
    dryRun: z.boolean().default(false),
    out: z.string().optional(),
    resolve: z.boolean().default(false),
    offline: z.boolean().default(false),
    gpus: z.string().optional(),
  })
  .transform((o) => {
    if (o.dryRun && o.out !== undefined) throw new UsageError("--out and --dry-run contradict each other: --dry-run prints to stdout, --out writes files", "pass one of them");
    return { ...o, target: targetOf(o), params: o.param, ...outputOf(o) };
  });

export type RenderOptions = z.output<typeof renderOptionsSchema>;

export interface RenderResult {
  apps: RenderedApp[];
  written: { app: string; dir: string; files: string[] }[];
}

/** Load, (optionally) resolve and render; write files unless --dry-run. */
export async function runRender(opts: RenderOptions, ui: Ui): Promise<RenderResult> {
  const [{ plan, reportPlan }, { nodePlanIo }, { renderFiles, RENDER_MARKER }] = await Promise.all([import("../app/plan.js"), import("../app/node-io.js"), import("../render/format.js")]);
  const resolve = opts.resolve ? await (await import("./resolver.js")).makeSourceResolver({ mode: "render", offline: opts.offline, namespace: opts.namespace, context: opts.context, kubeconfig: opts.kubeconfig }) : undefined;
  const p = await plan({ file: opts.file, app: opts.app, target: opts.target, namespace: opts.namespace, params: opts.params, dockerGpus: opts.gpus }, nodePlanIo({ templates: opts.templates, resolve }));
  reportPlan(p, ui);
  const rendered = p.apps.map((a) => a.rendered);
  // a generated API key's Secret is rendered without data: outside `deploy` the user creates the key
  const keyless = new Set<string>();
  for (const { loaded, rendered: r } of p.apps) {
    const key = apiKeyRef(loaded.config);
    if (!r.objects || !key?.generated) continue;
    keyless.add(r.name);
    ui.warn(
      `${r.name}: Secret ${key.secret} is rendered without data (\`vllmapp deploy\` fills it), so applied as it is the pods stay in CreateContainerConfigError. ` +
        `Create the key once, before or after applying (it is generated on your machine and never printed):\n  ${createApiKeyCommand(key.secret, key.key, r.namespace)}`,
    );
  }
  const written: RenderResult["written"] = [];
  if (!opts.dryRun) {
    for (const app of rendered) {
      const dir = opts.out ? (rendered.length > 1 ? path.join(opts.out, app.name) : opts.out) : path.join("rendered", app.name);
      const files = renderFiles(app);
      try {
        writeFolder(dir, files, RENDER_MARKER);
      } catch (e) {
        throw fsUsageError("write", dir, e, "choose a folder you can write to: --out DIR");
      }
      written.push({ app: app.name, dir, files: [...files.keys()] });
      const apply = app.objects ? (keyless.has(app.name) ? "" : ` (kubectl apply -k ${dir})`) : "";
      ui.success(`wrote ${files.size} files to ${dir}${apply}`);
    }
  }
  return { apps: rendered, written };
}

/** Replace the folder's vllmapp-written files with the new set; leave files vllmapp did not write. */
function writeFolder(dir: string, files: Map<string, string>, marker: string): void {
  mkdirSync(dir, { recursive: true });
  const kustomization = path.join(dir, "kustomization.yaml");
  const previous: string[] = [];
  if (existsSync(kustomization)) {
    const text = readFileSync(kustomization, "utf8");
    if (text.startsWith(marker)) {
      for (const m of text.matchAll(/^\s*-\s+(\S+\.yaml)\s*$/gm)) previous.push(m[1]!);
    }
  }
  for (const [name, content] of files) {
    const tmp = path.join(dir, `.${name}.tmp`);
    writeFileSync(tmp, content);
    renameSync(tmp, path.join(dir, name));
  }
  for (const stale of previous) if (!files.has(stale) && readdirSync(dir).includes(stale)) rmSync(path.join(dir, stale));
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
    const opts = parseOptions(renderOptionsSchema, raw);
    const ui = uiFor(opts);
    const result = await runRender(opts, ui);
    if (opts.dryRun) {
      const { formatJson, formatText, formatYaml } = await import("../render/format.js");
      const format = opts.output ?? (opts.target === "docker" ? "text" : "yaml");
      ui.out(format === "json" ? formatJson(result.apps) : format === "text" ? formatText(result.apps) : formatYaml(result.apps));
    } else if (opts.json) {
      ui.out(JSON.stringify({ written: result.written }, null, 2));
    }
  });
  return cmd;
}
