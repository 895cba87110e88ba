/**
 * What every command shares: the common flags, and load → resolve → render, the one pipeline that
 * `render` prints and `deploy` applies.
 */
import { existsSync, readFileSync } from "node:fs";
import { isUtf8 } from "node:buffer";
import { homedir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { CONFIG_LIMITS, formatPath, loadConfig, sortDiagnostics, type LoadedApp } from "../config/load.js";
import { ConfigError, UsageError, describeFsError, type Diagnostic } from "../errors.js";
import { readUserFile } from "../read-file.js";
import { isProblem, parseModelSource, type ModelSource } from "../models/source.js";
import { renderApp, type IncludeFile, type RenderedApp, type Templates } from "../render/app.js";
import type { CommonOptions } from "./options.js";

export * from "./options.js";

export function parseParams(list: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const p of list) {
    const eq = p.indexOf("=");
    if (eq <= 0) throw new UsageError(`--param ${p}: write --param name=value`);
    m.set(p.slice(0, eq), p.slice(eq + 1));
  }
  return m;
}

/** Where the package's own files are: next to dist/ when bundled, next to src/ when run from source. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(path.join(dir, "package.json")) && existsSync(path.join(dir, "templates"))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error("cannot find vllmapp's package folder (templates/ is missing)");
}

const TEMPLATE_FILES: Record<keyof Templates, string> = {
  deployment: "deployment.yaml",
  service: "service.yaml",
  apiKeySecret: "api-key-secret.yaml",
  cachePvc: "cache-pvc.yaml",
  scaledObject: "scaledobject.yaml",
  ingress: "ingress.yaml",
  includeConfigMap: "include-configmap.yaml",
  modelDownload: "model-download.yaml",
};

/** The shipped templates, parsed at build time (bin/build.mjs): file name → object. */
declare const VLLMAPP_DEFAULT_TEMPLATES: Record<string, unknown> | undefined;

export function loadTemplates(dir?: string): Templates {
  const custom = dir ?? process.env.VLLMAPP_TEMPLATES;
  if (custom === undefined && typeof VLLMAPP_DEFAULT_TEMPLATES !== "undefined") {
    return Object.fromEntries(Object.entries(TEMPLATE_FILES).map(([key, file]) => [key, structuredClone(VLLMAPP_DEFAULT_TEMPLATES![file])])) as unknown as Templates;
  }
  const root = custom ?? path.join(packageRoot(), "templates");
  const k8s = existsSync(path.join(root, "kubernetes")) ? path.join(root, "kubernetes") : root;
  const out: Partial<Templates> = {};
  for (const [key, file] of Object.entries(TEMPLATE_FILES) as [keyof Templates, string][]) {
    const full = path.join(k8s, file);
    let text: string;
    try {
      text = readFileSync(full, "utf8");
    } catch {
      throw new UsageError(`template ${full} is missing`, `copy vllmapp's templates folder whole (${path.join(packageRoot(), "templates")}) and edit the copy`);
    }
    try {
      const v = parseYaml(text);
      if (typeof v !== "object" || v === null) throw new Error("not a mapping");
      (out as Record<string, unknown>)[key] = v;
    } catch (e) {
      throw new UsageError(`template ${full} is not valid YAML: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  return out as Templates;
}

export function fsLoadDeps() {
  return {
    readFile: (p: string) => readUserFile(p, { maxBytes: CONFIG_LIMITS.maxBytes }),
    resolvePath: (from: string, rel: string) => path.resolve(path.dirname(from), rel),
    exists: (p: string) => existsSync(p),
  };
}

export interface LoadedApps {
  /** the apps selected (all of the file, or --app), in deploy order with their dependencies first */
  apps: LoadedApp[];
  /** the apps of the main file that were selected */
  selected: LoadedApp[];
  warnings: Diagnostic[];
}

export function loadApps(opts: CommonOptions): LoadedApps {
  const file = opts.file;
  const { apps, order, warnings } = loadConfig(file, fsLoadDeps());
  let selected = apps;
  if (opts.app) {
    selected = apps.filter((a) => a.config.name === opts.app);
    if (!selected.length) throw new UsageError(`${file} has no app named "${opts.app}"`, `apps in it: ${apps.map((a) => a.config.name).join(", ")}`);
  }
  // dependencies of the selected apps, in order
  const wanted = new Set(selected.map((a) => `${a.file}\0${a.config.name}`));
  const inOrder = opts.app ? order.filter((a) => wanted.has(`${a.file}\0${a.config.name}`) || isDependencyOf(a, selected, order)) : order;
  return { apps: inOrder, selected, warnings };
}

/** The apps `app` names in depends_on, among `all`. */
export function dependenciesOf(app: LoadedApp, all: readonly LoadedApp[]): LoadedApp[] {
  return (app.config.depends_on ?? []).flatMap((dep) => {
    const [p, n] = dep.includes("#") ? (dep.split("#", 2) as [string, string]) : [dep, undefined];
    return all.filter(
      (x) =>
        (!dep.includes("#") && x.file === app.file && x.config.name === dep) ||
        (path.resolve(path.dirname(app.file), p) === x.file && (n === undefined || x.config.name === n)),
    );
  });
}

function isDependencyOf(candidate: LoadedApp, roots: LoadedApp[], all: LoadedApp[]): boolean {
  const seen = new Set<LoadedApp>();
  const stack = [...roots];
  while (stack.length) {
    for (const t of dependenciesOf(stack.pop()!, all)) {
      if (t === candidate) return true;
      if (!seen.has(t)) {
        seen.add(t);
        stack.push(t);
      }
    }
  }
  return false;
}

/**
 * Deploy waves: apps in `order` (dependencies first) grouped so that each app comes after every app
 * it depends on; the apps of one wave are independent and can be deployed at once.
 */
export function deployWaves<T extends LoadedApp>(order: readonly T[]): T[][] {
  const level = new Map<LoadedApp, number>();
  const waves: T[][] = [];
  for (const app of order) {
    const l = Math.max(-1, ...dependenciesOf(app, order).map((d) => level.get(d) ?? -1)) + 1;
    level.set(app, l);
    (waves[l] ??= []).push(app);
  }
  return waves;
}

function readIncludes(app: LoadedApp, problems: Diagnostic[]): IncludeFile[] {
  const out: IncludeFile[] = [];
  const names = new Map<string, number>();
  app.config.include?.forEach((p, i) => {
    const hostPath = path.resolve(path.dirname(app.file), p);
    const at = app.locate(["include", i]);
    const diag = (message: string, hint?: string) => problems.push({ file: app.file, ...at, path: `include[${i}]`, severity: "error", message, hint });
    let buf: Buffer;
    try {
      buf = readUserFile(hostPath, { maxBytes: 900 * 1024, within: path.dirname(app.file) });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (e instanceof UsageError) return diag(e.message.replace(hostPath, p), e.hint ?? "include lists files, each by its path relative to the app file");
      if (code === "ENOENT" || code === "ENOTDIR") return diag(`${p} does not exist (looked at ${hostPath})`, "include paths are relative to the app file");
      if (typeof code === "string") return diag(`cannot read ${p}: ${code} (${describeFsError(code)})`, "include paths are relative to the app file");
      throw e;
    }
    const name = path.basename(hostPath);
    if (names.has(name)) return diag(`two included files are both named ${name}; they would overwrite each other in /app/include`);
    names.set(name, i);
    if (buf.includes(0)) return diag(`${p} is a binary file; include ships text files (chat templates, configs)`);
    if (!isUtf8(buf)) return diag(`${p} is not UTF-8 text; include ships text files`, "save it as UTF-8");
    out.push({ path: p, hostPath, name, content: buf.toString("utf8") });
  });
  return out;
}

export type SourceResolver = (app: LoadedApp, source: ModelSource) => Promise<{ source: ModelSource; resolvedFrom?: string }>;

export interface RenderAllOptions {
  opts: CommonOptions;
  /** the namespace of apps that name none (neither --namespace nor the file): the context's */
  defaultNamespace?: string;
  resolve?: SourceResolver;
  dockerGpus?: string;
}

/** Load, resolve and render every selected app. Throws ConfigError with every error at once. */
export async function renderAll({ opts, defaultNamespace, resolve, dockerGpus }: RenderAllOptions): Promise<{ loaded: LoadedApps; rendered: RenderedApp[]; warnings: Diagnostic[] }> {
  const loaded = loadApps(opts);
  const params = parseParams(opts.param);
  const templates = loadTemplates(opts.templates);
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [...loaded.warnings];
  const rendered: RenderedApp[] = [];
  for (const app of loaded.apps) {
    const parsed = parseModelSource(app.config);
    const at = (p: (string | number)[]) => ({ file: app.file, ...app.locate(p), path: formatPath(p) });
    if (isProblem(parsed)) {
      errors.push({ ...at(parsed.path), severity: "error", message: parsed.message, hint: parsed.hint });
      continue;
    }
    const includes = readIncludes(app, errors);
    let source: ModelSource = parsed;
    let resolvedFrom: string | undefined;
    if (resolve) {
      try {
        ({ source, resolvedFrom } = await resolve(app, parsed));
      } catch (e) {
        if (e instanceof ConfigError) {
          errors.push(...e.diagnostics);
          continue;
        }
        throw e;
      }
    }
    // --param applies to the apps that declare the parameter; others ignore it
    const declared = new Set((app.config.parameters ?? []).map((p) => p.name));
    const appParams = new Map([...params].filter(([k]) => declared.has(k)));
    const r = renderApp({
      app: app.config, source, resolvedFrom, templates, includes, params: appParams, target: opts.target,
      namespace: opts.namespace ?? app.config.namespace ?? defaultNamespace, hostHome: homedir(), dockerGpus,
    });
    for (const p of r.problems) {
      const d: Diagnostic = { ...at(p.path), severity: p.severity === "error" ? "error" : "warning", message: p.message, hint: p.hint };
      if (p.severity === "error") errors.push(d);
      else if (p.severity === "warning") warnings.push(d);
      else warnings.push({ ...d, severity: "note" });
    }
    rendered.push(r);
  }
  for (const [k] of params) {
    if (!loaded.apps.some((a) => a.config.parameters?.some((p) => p.name === k))) {
      errors.push({ file: opts.file, line: 1, col: 1, path: "parameters", severity: "error", message: `--param ${k}=… names no parameter of any app`, hint: "declare it under parameters: [{name, value}]" });
    }
  }
  if (errors.length) throw new ConfigError(sortDiagnostics(errors));
  return { loaded, rendered, warnings: sortDiagnostics(warnings) };
}
