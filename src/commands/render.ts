import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Command } from "commander";
import type { RenderedApp } from "../render/app.js";
import { RENDER_MARKER, formatJson, formatText, formatYaml, renderFiles } from "../render/format.js";
import { addCommonOptions, commonOptions, renderAll, uiFor, type CommonOptions, type SourceResolver } from "./common.js";

export interface RenderOptions extends CommonOptions {
  dryRun?: boolean;
  out?: string;
  resolve?: boolean;
  gpus?: string;
}

export interface RenderResult {
  apps: RenderedApp[];
  written: { app: string; dir: string; files: string[] }[];
}

/** Load, (optionally) resolve and render; write files unless --dry-run. */
export async function runRender(opts: RenderOptions): Promise<RenderResult> {
  const ui = uiFor(opts);
  let resolve: SourceResolver | undefined;
  if (opts.resolve) {
    const { makeResolver } = await import("../models/resolve.js");
    resolve = makeResolver({ ...opts, ui, mode: "render" });
  }
  const { rendered, warnings } = await renderAll({ opts, resolve, dockerGpus: opts.gpus });
  ui.diagnostics(warnings);
  const written: RenderResult["written"] = [];
  if (!opts.dryRun) {
    for (const app of rendered) {
      const dir = opts.out ? (rendered.length > 1 ? path.join(opts.out, app.name) : opts.out) : path.join("rendered", app.name);
      const files = renderFiles(app);
      writeFolder(dir, files);
      written.push({ app: app.name, dir, files: [...files.keys()] });
      ui.success(`wrote ${files.size} files to ${dir}${app.objects ? ` (kubectl apply -k ${dir})` : ""}`);
    }
  }
  return { apps: rendered, written };
}

/** Replace the folder's vllmapp-written files with the new set; leave files vllmapp did not write. */
function writeFolder(dir: string, files: Map<string, string>): void {
  mkdirSync(dir, { recursive: true });
  const kustomization = path.join(dir, "kustomization.yaml");
  const previous: string[] = [];
  if (existsSync(kustomization)) {
    const text = readFileSync(kustomization, "utf8");
    if (text.startsWith(RENDER_MARKER)) {
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
    const opts = { ...commonOptions(raw), dryRun: raw.dryRun, out: raw.out, resolve: raw.resolve, offline: raw.offline, gpus: raw.gpus } as RenderOptions;
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
