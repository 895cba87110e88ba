/**
 * The pipeline as a value: load → select → resolve → render, for every app, with every problem
 * collected. `render` prints a Plan; `deploy` hands it to a target, which applies it and never reaches
 * back for more. No IO of its own: the file system, the templates, the resolver come in `io`.
 */
import type { Document } from "yaml";
import { formatPath, sortDiagnostics, type LoadDeps, type LoadedApp, type PartialApp } from "../config/load.js";
import { deployWaves, loadConfig, withDependencies, type LoadedConfig } from "../config/graph.js";
import { applyOverrides, isOverridden, SET_FILE, type SetOverride } from "../config/overrides.js";
import { ConfigError, UsageError, type Diagnostic } from "../errors.js";
import type { SourceReport } from "../models/resolve.js";
import { isProblem, parseModelSource, type ModelSource } from "../models/source.js";
import { renderApp } from "../render/app.js";
import type { IncludeFile, RenderedApp, TargetKind, Templates } from "../render/types.js";
import { fitCheck, type FitReport } from "./fit-check.js";
import { readIncludes, type IncludeReader } from "./includes.js";

export interface PlanOptions {
  file: string;
  /** --app: one app of the file (and what it depends on) */
  app?: string;
  target: TargetKind;
  /** --namespace */
  namespace?: string;
  /** the namespace of apps that name none (neither --namespace nor the file): the context's */
  defaultNamespace?: string;
  /** --param, parsed */
  params: ReadonlyMap<string, string>;
  /** --gpus (Docker) */
  dockerGpus?: string;
  /** --set: overrides of fields of the file's apps (of --app's app only, when given) */
  set?: readonly SetOverride[];
  /** the Kubernetes minor to render for (render --kube-version; deploy: the server's) */
  kubeMinor?: number;
  /** depends_on as Argo CD sync waves on every object (default true; render --no-sync-waves) */
  syncWaves?: boolean;
  /** run --app's app under this name instead (tune's trials run beside the app) */
  as?: string;
}

/** The annotation Argo CD orders a sync by: an app's objects come after those of the apps it depends on. */
export const SYNC_WAVE = "argocd.argoproj.io/sync-wave";

export interface PlanIo extends LoadDeps {
  readInclude: IncludeReader;
  templates: () => Templates;
  /** the host's home (Docker mounts its Hugging Face cache) */
  hostHome: string;
  /** is this a folder on this machine (a Docker model_path is then bind-mounted) */
  isHostDir: (p: string) => boolean;
  /** resolve and check a model source against its backend (render without --resolve: none) */
  resolve?: (app: LoadedApp, source: ModelSource) => Promise<SourceReport>;
}

export interface PlannedApp {
  loaded: LoadedApp;
  includes: IncludeFile[];
  rendered: RenderedApp;
  /** what resolving and checking the source found (when io.resolve was given) */
  report?: SourceReport;
  fit?: FitReport;
}

export interface Plan {
  file: string;
  /** --app, when the plan is for one app of the file */
  app?: string;
  target: TargetKind;
  /** the apps rendered, in deploy order (dependencies first) */
  apps: PlannedApp[];
  /** the same apps grouped into waves: each wave depends only on the ones before it */
  waves: PlannedApp[][];
  /** the source reports, in the order resolved (also of apps whose source had errors and were not rendered) */
  reports: SourceReport[];
  /** every error (sources, includes, render, --param), sorted by position */
  errors: Diagnostic[];
  /** load and render warnings and notes, sorted by position */
  warnings: Diagnostic[];
}

/** Load and select: the apps of the file (or --app), with their dependencies, in deploy order. */
export function selectApps(opts: Pick<PlanOptions, "file" | "app" | "set" | "as">, io: LoadDeps, created: string[] = []): LoadedConfig & { selected: LoadedApp[]; inOrder: LoadedApp[] } {
  const set = opts.set ?? [];
  const edit = (doc: Document) => {
    if (opts.app !== undefined && doc.get("name") !== opts.app) return [];
    const problems = applyOverrides(doc, set, created);
    if (opts.as !== undefined && opts.app !== undefined) doc.set("name", opts.as);
    return problems;
  };
  const loaded = loadConfig(opts.file, set.length || opts.as !== undefined ? { ...io, editRoot: edit } : io);
  let selected = loaded.apps;
  if (opts.app) {
    selected = loaded.apps.filter((a) => a.config.name === (opts.as ?? opts.app));
    if (!selected.length) throw new UsageError(`${opts.file} has no app named "${opts.app}"`, `apps in it: ${loaded.apps.map((a) => a.config.name).join(", ")}`);
  }
  return { ...loaded, selected, inOrder: opts.app ? withDependencies(selected, loaded) : loaded.order };
}

/** Build the plan. Problems are collected into it; only a usage error (--app naming no app, a broken template) throws. */
export async function plan(opts: PlanOptions, io: PlanIo): Promise<Plan> {
  const empty: Plan = { file: opts.file, ...(opts.app ? { app: opts.app } : {}), target: opts.target, apps: [], waves: [], reports: [], errors: [], warnings: [] };
  // what an override set is reported at --set, not at the line of the file it replaced
  const set = opts.set ?? [];
  const created: string[] = [];
  const placed = (list: Diagnostic[]) => (set.length ? list.map((d) => (d.file === opts.file && isOverridden(d, set, created) ? { ...d, file: SET_FILE, line: 0, col: 0 } : d)) : list);
  let loaded;
  try {
    loaded = selectApps(opts, io, created);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    // the checks that do not need the faulty fields still run, so one run shows every problem
    const more = (e.partial as PartialApp[])
      .filter((p) => opts.app === undefined || p.app.config.name === opts.app)
      .flatMap((p) => independentChecks(p.app, p.dropped, opts, io));
    return { ...empty, errors: placed(sortDiagnostics([...e.diagnostics, ...more])) };
  }
  const templates = io.templates();
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [...loaded.warnings];
  const planned = new Map<LoadedApp, PlannedApp>();
  const reports: SourceReport[] = [];
  for (const app of loaded.inOrder) {
    const parsed = parseModelSource(app.config);
    const at = (p: (string | number)[]) => ({ file: app.file, ...app.locate(p), path: formatPath(p), app: app.config.name });
    if (isProblem(parsed)) {
      errors.push({ ...at(parsed.path), severity: "error", message: parsed.message, hint: parsed.hint });
      errors.push(...independentChecks(app, [parsed.path], opts, io).filter((d) => d.path !== formatPath(parsed.path)));
      continue;
    }
    const includeErrors: Diagnostic[] = [];
    const includes = readIncludes(app, io.readInclude, includeErrors);
    errors.push(...includeErrors.map((d) => ({ ...d, app: app.config.name })));
    let report: SourceReport | undefined;
    if (io.resolve) {
      report = await io.resolve(app, parsed);
      reports.push(report);
      const sourceErrors = report.diagnostics.filter((d) => d.severity === "error");
      if (sourceErrors.length) {
        errors.push(...sourceErrors);
        continue;
      }
    }
    // --param applies to the apps that declare the parameter; others ignore it
    const declared = new Set((app.config.parameters ?? []).map((p) => p.name));
    const appParams = new Map([...opts.params].filter(([k]) => declared.has(k)));
    const source = report?.source ?? parsed;
    const rendered = renderApp({
      app: app.config, source, resolvedFrom: report?.resolvedFrom, templates, includes, params: appParams, target: opts.target,
      namespace: opts.namespace ?? app.config.namespace ?? opts.defaultNamespace, hostHome: io.hostHome, dockerGpus: opts.dockerGpus,
      hostModelDir: opts.target === "docker" && source.kind === "path" && io.isHostDir(source.path),
      hostDirs: opts.target === "docker" ? extraPathsOf(app.config).filter((p) => io.isHostDir(p)) : undefined,
      adapterRanks: report?.adapterRanks,
      draftSource: report?.draftSource,
      ...(opts.kubeMinor !== undefined ? { kubeMinor: opts.kubeMinor } : {}),
      ...(report?.facts?.weightBytes !== undefined ? { modelBytes: report.facts.weightBytes } : {}),
    });
    const entry: PlannedApp = { loaded: app, includes, rendered, ...(report ? { report } : {}) };
    if (report?.facts) {
      // the fit check reads the argv this render produced
      const fit = fitCheck(app, report, rendered.serve.args);
      report.diagnostics.push(...fit.diagnostics);
      errors.push(...fit.diagnostics.filter((d) => d.severity === "error"));
      if (fit.fit) entry.fit = fit.fit;
    }
    for (const p of rendered.problems) {
      const d: Diagnostic = { ...at(p.path), severity: p.severity === "error" ? "error" : "warning", message: p.message, hint: p.hint };
      if (p.severity === "error") errors.push(d);
      else if (p.severity === "warning") warnings.push(d);
      else warnings.push({ ...d, severity: "note" });
    }
    planned.set(app, entry);
  }
  for (const [k] of opts.params) {
    if (!loaded.inOrder.some((a) => a.config.parameters?.some((p) => p.name === k))) {
      errors.push({ file: opts.file, line: 1, col: 1, path: "parameters", severity: "error", message: `--param ${k}=… names no parameter of any app`, hint: "declare it under parameters: [{name, value}]" });
    }
  }
  const apps = [...planned.values()];
  const dependencies = new Map(apps.map((p) => [p, (loaded.dependencies.get(p.loaded) ?? []).flatMap((d) => planned.get(d) ?? [])]));
  const waves = deployWaves(apps, dependencies);
  if (opts.syncWaves !== false && waves.length > 1) {
    waves.forEach((wave, i) => {
      for (const a of wave) for (const o of a.rendered.objects ?? []) o.metadata.annotations = { ...o.metadata.annotations, [SYNC_WAVE]: String(i) };
    });
  }
  return { ...empty, apps, waves, reports, errors: sortDiagnostics(placed(errors)), warnings: sortDiagnostics(placed(warnings)) };
}

/** A model source standing in for a faulty one, so that the checks that do not depend on it can run. */
const STAND_IN_SOURCE: ModelSource = { kind: "path", path: "/model" };

/**
 * The checks of an app that do not need the fields `dropped` (faulty, and set aside by the loader, or a
 * faulty model source): the model source's form, and the vllm serve flags of extra_args, whose check runs
 * in the render. Errors only; anything that fails here is left to the run after the fix.
 */
function independentChecks(app: LoadedApp, dropped: readonly (string | number)[][], opts: PlanOptions, io: PlanIo): Diagnostic[] {
  const out: Diagnostic[] = [];
  const at = (p: (string | number)[]) => ({ file: app.file, ...app.locate(p), path: formatPath(p), app: app.config.name });
  const isDropped = (p: readonly (string | number)[]) => dropped.some((d) => d.every((k, i) => p[i] === undefined || p[i] === k));
  let source = STAND_IN_SOURCE;
  if (!isDropped(["model_path"]) && !isDropped(["model_hf_path"])) {
    const parsed = parseModelSource(app.config);
    if (isProblem(parsed)) out.push({ ...at(parsed.path), severity: "error", message: parsed.message, hint: parsed.hint });
    else source = parsed;
  }
  if (isDropped(["extra_args"])) return out;
  try {
    const rendered = renderApp({
      app: app.config, source, templates: io.templates(), includes: [], params: new Map(), target: opts.target,
      namespace: opts.namespace ?? app.config.namespace ?? opts.defaultNamespace, hostHome: io.hostHome, dockerGpus: opts.dockerGpus,
      hostModelDir: false,
    });
    for (const p of rendered.problems) {
      if (p.severity === "error" && p.path[0] === "extra_args") out.push({ ...at(p.path), severity: "error", message: p.message, hint: p.hint });
    }
  } catch {
    // a render that needs the fixed fields: its checks wait for the next run
  }
  return out;
}

/** The absolute paths an app names besides its model (adapters, a draft model): on Docker, host folders are bind-mounted. */
function extraPathsOf(app: LoadedApp["config"]): string[] {
  const paths = (app.lora?.adapters ?? []).map((a) => a.source.trim()).filter((p) => p.startsWith("/"));
  if (typeof app.draft_model_path === "string" && app.draft_model_path.startsWith("/")) paths.push(app.draft_model_path.trim().replace(/(.)\/+$/, "$1"));
  return paths;
}

/**
 * Report a plan on stderr as the commands do: each source's warnings and notes (in app order), then,
 * when anything is wrong, every error at once (ConfigError, exit 2); else the plan's warnings.
 */
export function reportPlan(p: Plan, ui: { diagnostics(list: readonly Diagnostic[]): void }): void {
  for (const r of p.reports) ui.diagnostics(r.diagnostics.filter((d) => d.severity !== "error"));
  if (p.errors.length) throw new ConfigError(p.errors);
  ui.diagnostics(p.warnings);
}
