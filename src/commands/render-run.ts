/** render's work: load, resolve, render, write. Loaded by the render action only. */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { RenderedApp } from "../render/app.js";
import { RENDER_MARKER, formatJson, formatText, formatYaml, renderFiles } from "../render/format.js";

export { formatJson, formatText, formatYaml };
import { renderAll, uiFor, type SourceResolver } from "./common.js";
import { fsUsageError } from "../errors.js";
import type { RenderOptions } from "./render.js";

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
      try {
        writeFolder(dir, files);
      } catch (e) {
        throw fsUsageError("write", dir, e, "choose a folder you can write to: --out DIR");
      }
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

