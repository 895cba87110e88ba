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
import type { ClusterReads } from "./cluster-reads.js";
import { withPodTemplate, withStartBudget, withSyncWave } from "./final-objects.js";
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

export { SYNC_WAVE } from "./final-objects.js";

export interface PlanIo extends LoadDeps {
  readInclude: IncludeReader;
  templates: () => Templates;
  /** the host's home (Docker mounts its Hugging Face cache) */
  hostHome: string;
  /** is this a folder on this machine (a Docker model_path is then bind-mounted) */
  isHostDir: (p: string) => boolean;
  /** resolve and check a model source against its backend (render without --resolve: none) */
  resolve?: (app: LoadedApp, source: ModelSource) => Promise<SourceReport>;
  /** what the plan reads from the Kubernetes cluster (deploy: the session's; render: with --resolve only) */
  cluster?: ClusterReads;
}

export interface PlannedApp {
  loaded: LoadedApp;
  includes: IncludeFile[];
  /** the objects as they are applied: namespace, a named PodTemplate merged in, the learned budget, the sync wave */
  rendered: RenderedApp;
  /** where the app goes (Kubernetes): --namespace, else the file's, else the context's; undefined when rendered without a cluster */
  namespace?: string;
  /** the PodTemplate `pod_template` names, as read from the cluster: merged, or why not (the preflight reports it) */
  podTemplate?: { name: string; problem?: string };
  /** the startup probe's budget learned from the app's starts (deploy waits that long, plus a margin) */
  startupSeconds?: number;
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
export function selectApps(
  opts: Pick<PlanOptions, "file" | "app" | "set" | "as">,
  io: LoadDeps,
  created: string[] = [],
): LoadedConfig & { selected: LoadedApp[]; inOrder: LoadedApp[] } {
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
    if (!selected.length)
      throw new UsageError(
        `${opts.file} has no app named "${opts.app}"`,
        `apps in it: ${loaded.apps.map((a) => a.config.name).join(", ")}`,
      );
  }
  return { ...loaded, selected, inOrder: opts.app ? withDependencies(selected, loaded) : loaded.order };
}

/** Build the plan. Problems are collected into it; only a usage error (--app naming no app, a broken template) throws. */
export async function plan(opts: PlanOptions, io: PlanIo): Promise<Plan> {
  const empty: Plan = {
    file: opts.file,
    ...(opts.app ? { app: opts.app } : {}),
    target: opts.target,
    apps: [],
    waves: [],
    reports: [],
    errors: [],
    warnings: [],
  };
  // what an override set is reported at --set, not at the line of the file it replaced
  const set = opts.set ?? [];
  const created: string[] = [];
  const placed = (list: Diagnostic[]) =>
    set.length
      ? list.map((d) =>
          d.file === opts.file && isOverridden(d, set, created) ? { ...d, file: SET_FILE, line: 0, col: 0 } : d,
        )
      : list;
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
  const out: AppsPlanned = { planned: new Map(), reports: [], errors: [], warnings: [...loaded.warnings] };
  // the sync waves from the file's graph, decided before the objects are built
  const fileWaves = deployWaves(loaded.inOrder, loaded.dependencies);
  const syncWaves =
    opts.syncWaves !== false && fileWaves.length > 1
      ? new Map(fileWaves.flatMap((w, i) => w.map((a) => [a, i] as const)))
      : undefined;
  const ctx: AppContext = {
    opts,
    io,
    templates: io.templates(),
    defaultNamespace: defaultNamespaceOf(opts, io),
    syncWaves,
  };
  for (const app of loaded.inOrder) await planApp(app, ctx, out);
  for (const [k] of opts.params) {
    if (!loaded.inOrder.some((a) => a.config.parameters?.some((p) => p.name === k))) {
      out.errors.push({
        file: opts.file,
        line: 1,
        col: 1,
        path: "parameters",
        severity: "error",
        message: `--param ${k}=… names no parameter of any app`,
        hint: "declare it under parameters: [{name, value}]",
      });
    }
  }
  const apps = [...out.planned.values()];
  const dependencies = new Map(
    apps.map((p) => [p, (loaded.dependencies.get(p.loaded) ?? []).flatMap((d) => out.planned.get(d) ?? [])]),
  );
  const waves = deployWaves(apps, dependencies);
  return {
    ...empty,
    apps,
    waves,
    reports: out.reports,
    errors: sortDiagnostics(placed(out.errors)),
    warnings: sortDiagnostics(placed(out.warnings)),
  };
}

/** What planning the apps one by one gathers. */
interface AppsPlanned {
  planned: Map<LoadedApp, PlannedApp>;
  reports: SourceReport[];
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

interface AppContext {
  opts: PlanOptions;
  io: PlanIo;
  templates: Templates;
  /** the namespace of apps that name none, read once when the first such app needs it */
  defaultNamespace: () => Promise<string | undefined>;
  /** each app's Argo CD sync wave, when they are written */
  syncWaves?: ReadonlyMap<LoadedApp, number>;
}

/** --namespace, else the file's, else this (the context's, else "default"; none for render without a cluster). */
function defaultNamespaceOf(opts: PlanOptions, io: PlanIo): () => Promise<string | undefined> {
  let read: Promise<string | undefined> | undefined;
  return () => {
    if (opts.defaultNamespace !== undefined || opts.target !== "kubernetes" || !io.cluster)
      return Promise.resolve(opts.defaultNamespace);
    return (read ??= io.cluster.defaultNamespace());
  };
}

/** Resolve, render and finish one app into `out` (or its problems). */
async function planApp(app: LoadedApp, ctx: AppContext, out: AppsPlanned): Promise<void> {
  const { opts, io } = ctx;
  const parsed = parseModelSource(app.config);
  const at = (p: (string | number)[]) => ({
    file: app.file,
    ...app.locate(p),
    path: formatPath(p),
    app: app.config.name,
  });
  if (isProblem(parsed)) {
    out.errors.push({ ...at(parsed.path), severity: "error", message: parsed.message, hint: parsed.hint });
    out.errors.push(
      ...independentChecks(app, [parsed.path], opts, io).filter((d) => d.path !== formatPath(parsed.path)),
    );
    return;
  }
  const includeErrors: Diagnostic[] = [];
  const includes = readIncludes(app, io.readInclude, includeErrors);
  out.errors.push(...includeErrors.map((d) => ({ ...d, app: app.config.name })));
  let report: SourceReport | undefined;
  if (io.resolve) {
    report = await io.resolve(app, parsed);
    out.reports.push(report);
    const sourceErrors = report.diagnostics.filter((d) => d.severity === "error");
    if (sourceErrors.length) {
      out.errors.push(...sourceErrors);
      return;
    }
  }
  // --param applies to the apps that declare the parameter; others ignore it
  const declared = new Set((app.config.parameters ?? []).map((p) => p.name));
  const appParams = new Map([...opts.params].filter(([k]) => declared.has(k)));
  const source = report?.source ?? parsed;
  const namespace = opts.namespace ?? app.config.namespace ?? (await ctx.defaultNamespace());
  const rendered = renderApp({
    app: app.config,
    source,
    resolvedFrom: report?.resolvedFrom,
    templates: ctx.templates,
    includes,
    params: appParams,
    target: opts.target,
    namespace,
    hostHome: io.hostHome,
    dockerGpus: opts.dockerGpus,
    hostModelDir: opts.target === "docker" && source.kind === "path" && io.isHostDir(source.path),
    hostDirs: opts.target === "docker" ? extraPathsOf(app.config).filter((p) => io.isHostDir(p)) : undefined,
    adapterRanks: report?.adapterRanks,
    draftSource: report?.draftSource,
    ...(opts.kubeMinor !== undefined ? { kubeMinor: opts.kubeMinor } : {}),
    ...(report?.facts?.weightBytes !== undefined ? { modelBytes: report.facts.weightBytes } : {}),
  });
  const finished = await finishObjects(app, rendered, namespace, ctx);
  const entry: PlannedApp = {
    loaded: app,
    includes,
    rendered: finished.rendered,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(report ? { report } : {}),
    ...finished.decided,
  };
  if (report?.facts) {
    // the fit check reads the argv this render produced
    const fit = fitCheck(app, report, rendered.serve.args);
    report.diagnostics.push(...fit.diagnostics);
    out.errors.push(...fit.diagnostics.filter((d) => d.severity === "error"));
    if (fit.fit) entry.fit = fit.fit;
  }
  for (const p of finished.rendered.problems) {
    const d: Diagnostic = {
      ...at(p.path),
      severity: p.severity === "error" ? "error" : "warning",
      message: p.message,
      hint: p.hint,
    };
    if (p.severity === "error") out.errors.push(d);
    else if (p.severity === "warning") out.warnings.push(d);
    else out.warnings.push({ ...d, severity: "note" });
  }
  out.planned.set(app, entry);
}

/**
 * An app's Kubernetes objects as they are applied: the PodTemplate `pod_template` names merged in and the
 * start-up budget learned from its starts (both read from the cluster, when the plan has one), the sync wave.
 */
async function finishObjects(
  app: LoadedApp,
  rendered: RenderedApp,
  namespace: string | undefined,
  ctx: AppContext,
): Promise<{ rendered: RenderedApp; decided: Pick<PlannedApp, "podTemplate" | "startupSeconds"> }> {
  const cluster = ctx.opts.target === "kubernetes" && namespace !== undefined ? ctx.io.cluster : undefined;
  const wave = ctx.syncWaves?.get(app);
  if (!rendered.objects || (!cluster && wave === undefined)) return { rendered, decided: {} };
  let objects = rendered.objects;
  let problems = rendered.problems;
  const decided: Pick<PlannedApp, "podTemplate" | "startupSeconds"> = {};
  const named = app.config.pod_template;
  if (cluster && typeof named === "string") {
    const read = await cluster.podTemplate(namespace!, named);
    decided.podTemplate = { name: named, ...("problem" in read ? { problem: read.problem } : {}) };
    if ("template" in read) {
      objects = withPodTemplate(objects, read.template);
      // the renderer's note that the pod is shown without it no longer holds
      problems = problems.filter((p) => !(p.severity === "note" && formatPath(p.path) === "pod_template"));
    }
  }
  if (cluster && !(app.explicit?.has("startup_timeout") ?? true) && objects.some((o) => o.kind === "Deployment")) {
    const seconds = await cluster.learnedBudget(app.config.name, namespace!);
    if (seconds !== undefined) {
      const budget = withStartBudget(objects, seconds);
      objects = budget.objects;
      if (budget.seconds !== undefined) decided.startupSeconds = budget.seconds;
    }
  }
  if (wave !== undefined) objects = withSyncWave(objects, wave);
  return { rendered: { ...rendered, objects, problems }, decided };
}

/** A model source standing in for a faulty one, so that the checks that do not depend on it can run. */
const STAND_IN_SOURCE: ModelSource = { kind: "path", path: "/model" };

/**
 * The checks of an app that do not need the fields `dropped` (faulty, and set aside by the loader, or a
 * faulty model source): the model source's form, and the vllm serve flags of extra_args, whose check runs
 * in the render. Errors only; anything that fails here is left to the run after the fix.
 */
function independentChecks(
  app: LoadedApp,
  dropped: readonly (string | number)[][],
  opts: PlanOptions,
  io: PlanIo,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const at = (p: (string | number)[]) => ({
    file: app.file,
    ...app.locate(p),
    path: formatPath(p),
    app: app.config.name,
  });
  const isDropped = (p: readonly (string | number)[]) =>
    dropped.some((d) => d.every((k, i) => p[i] === undefined || p[i] === k));
  let source = STAND_IN_SOURCE;
  if (!isDropped(["model_path"]) && !isDropped(["model_hf_path"])) {
    const parsed = parseModelSource(app.config);
    if (isProblem(parsed))
      out.push({ ...at(parsed.path), severity: "error", message: parsed.message, hint: parsed.hint });
    else source = parsed;
  }
  if (isDropped(["extra_args"])) return out;
  try {
    const rendered = renderApp({
      app: app.config,
      source,
      templates: io.templates(),
      includes: [],
      params: new Map(),
      target: opts.target,
      namespace: opts.namespace ?? app.config.namespace ?? opts.defaultNamespace,
      hostHome: io.hostHome,
      dockerGpus: opts.dockerGpus,
      hostModelDir: false,
    });
    for (const p of rendered.problems) {
      if (p.severity === "error" && p.path[0] === "extra_args")
        out.push({ ...at(p.path), severity: "error", message: p.message, hint: p.hint });
    }
  } catch {
    // a render that needs the fixed fields: its checks wait for the next run
  }
  return out;
}

/** The absolute paths an app names besides its model (adapters, a draft model): on Docker, host folders are bind-mounted. */
function extraPathsOf(app: LoadedApp["config"]): string[] {
  const paths = (app.lora?.adapters ?? []).map((a) => a.source.trim()).filter((p) => p.startsWith("/"));
  if (typeof app.draft_model_path === "string" && app.draft_model_path.startsWith("/"))
    paths.push(app.draft_model_path.trim().replace(/(.)\/+$/, "$1"));
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
