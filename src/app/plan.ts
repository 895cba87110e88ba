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
import { DEFAULT_POOL_LABEL, type LabelScheme } from "../config/gpus.js";
import { renderApp } from "../render/app.js";
import { gpuRequest } from "../render/resources.js";
import type { IncludeFile, RenderedApp, TargetKind, Templates } from "../render/types.js";
import { fitCheck, type FitReport } from "./fit-check.js";
import type { ClusterReads, GpuSchemeChoice, PodTemplateRead } from "./cluster-reads.js";
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
  /**
   * the labelling of GPU nodes the plan rendered with instead of GPU feature discovery's, read from the
   * cluster's GPU nodes when the file names no node_labels (a warning names what to write)
   */
  gpuScheme?: LabelScheme;
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
  if (isProblem(parsed)) {
    out.errors.push({ ...at(app, parsed.path), severity: "error", message: parsed.message, hint: parsed.hint });
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
  const namespace = opts.namespace ?? app.config.namespace ?? (await ctx.defaultNamespace());
  const built = await buildObjects(app, { source: report?.source ?? parsed, report, includes, namespace }, ctx);
  const entry: PlannedApp = {
    loaded: app,
    includes,
    rendered: built.rendered,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(report ? { report } : {}),
    ...built.decided,
  };
  if (built.gpuScheme)
    out.warnings.push({ ...at(app, ["resources", "gpu"]), severity: "warning", message: built.gpuScheme.warning });
  if (report?.facts) {
    // the fit check reads the argv this render produced
    const fit = fitCheck(app, report, built.rendered.serve.args);
    report.diagnostics.push(...fit.diagnostics);
    out.errors.push(...fit.diagnostics.filter((d) => d.severity === "error"));
    if (fit.fit) entry.fit = fit.fit;
  }
  for (const p of built.rendered.problems) {
    const d: Diagnostic = {
      ...at(app, p.path),
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

/** Where a field of the app is, for a diagnostic. */
function at(app: LoadedApp, p: (string | number)[]): Pick<Diagnostic, "file" | "line" | "col" | "path" | "app"> {
  return { file: app.file, ...app.locate(p), path: formatPath(p), app: app.config.name };
}

/** What an app's render takes beyond its config and the plan's options. */
interface AppInputs {
  source: ModelSource;
  report?: SourceReport;
  includes: IncludeFile[];
  namespace?: string;
}

/** What planning decided of an app from the cluster, beyond its objects. */
type Decided = Pick<PlannedApp, "podTemplate" | "startupSeconds" | "gpuScheme">;

/**
 * The app's objects as they are applied: rendered, then finished with what the cluster holds (when the
 * plan has one). When the file names no node_labels and the cluster's GPU nodes with the app's GPU type are
 * labelled another way than GPU feature discovery's, the app is rendered again with that labelling, as
 * if the file named it (the warning says which).
 */
async function buildObjects(
  app: LoadedApp,
  inputs: AppInputs,
  ctx: AppContext,
): Promise<{ rendered: RenderedApp; decided: Decided; gpuScheme?: GpuSchemeChoice }> {
  const cluster = ctx.opts.target === "kubernetes" && inputs.namespace !== undefined ? ctx.io.cluster : undefined;
  const rendered = renderWith(app.config, inputs, ctx);
  const reads = cluster ? await readCluster(app, rendered, inputs.namespace!, cluster) : {};
  const finished = finishObjects(app, rendered, reads, ctx.syncWaves?.get(app));
  const gpu = gpuRequest(app.config);
  const gpuScheme =
    cluster && finished.rendered.objects && !app.config.node_labels && gpu.type && gpu.count > 0
      ? await cluster.gpuScheme(app.config, app.file, finished.rendered.objects)
      : undefined;
  if (!gpuScheme) return finished;
  const config = { ...app.config, node_labels: { scheme: gpuScheme.scheme, pool: DEFAULT_POOL_LABEL } };
  const again = finishObjects(app, renderWith(config, inputs, ctx), reads, ctx.syncWaves?.get(app));
  return { ...again, decided: { ...again.decided, gpuScheme: gpuScheme.scheme }, gpuScheme };
}

/** Render one app's config (the file's, or with the GPU nodes' labelling) for the plan's target. */
function renderWith(config: LoadedApp["config"], inputs: AppInputs, ctx: AppContext): RenderedApp {
  const { opts, io } = ctx;
  const { source, report } = inputs;
  // --param applies to the apps that declare the parameter; others ignore it
  const declared = new Set((config.parameters ?? []).map((p) => p.name));
  return renderApp({
    app: config,
    source,
    resolvedFrom: report?.resolvedFrom,
    templates: ctx.templates,
    includes: inputs.includes,
    params: new Map([...opts.params].filter(([k]) => declared.has(k))),
    target: opts.target,
    namespace: inputs.namespace,
    hostHome: io.hostHome,
    dockerGpus: opts.dockerGpus,
    hostModelDir: opts.target === "docker" && source.kind === "path" && io.isHostDir(source.path),
    hostDirs: opts.target === "docker" ? extraPathsOf(config).filter((p) => io.isHostDir(p)) : undefined,
    adapterRanks: report?.adapterRanks,
    draftSource: report?.draftSource,
    ...(opts.kubeMinor !== undefined ? { kubeMinor: opts.kubeMinor } : {}),
    ...(report?.facts?.weightBytes !== undefined ? { modelBytes: report.facts.weightBytes } : {}),
  });
}

/** What finishing an app's objects reads from the cluster: the PodTemplate `pod_template` names, the learned budget. */
interface ClusterFinish {
  podTemplate?: { name: string; read: PodTemplateRead };
  startupSeconds?: number;
}

/** Read what finishing the app's objects needs from the cluster, once (a second render reuses it). */
async function readCluster(
  app: LoadedApp,
  rendered: RenderedApp,
  namespace: string,
  cluster: ClusterReads,
): Promise<ClusterFinish> {
  const out: ClusterFinish = {};
  const named = app.config.pod_template;
  if (!rendered.objects) return out;
  if (typeof named === "string") out.podTemplate = { name: named, read: await cluster.podTemplate(namespace, named) };
  if (!(app.explicit?.has("startup_timeout") ?? true) && rendered.objects.some((o) => o.kind === "Deployment")) {
    const seconds = await cluster.learnedBudget(app.config.name, namespace);
    if (seconds !== undefined) out.startupSeconds = seconds;
  }
  return out;
}

/**
 * An app's Kubernetes objects as they are applied: the PodTemplate `pod_template` names merged in and the
 * start-up budget learned from its starts (both as read from the cluster), the sync wave.
 */
function finishObjects(
  app: LoadedApp,
  rendered: RenderedApp,
  reads: ClusterFinish,
  wave: number | undefined,
): { rendered: RenderedApp; decided: Decided } {
  if (!rendered.objects) return { rendered, decided: {} };
  let objects = rendered.objects;
  let problems = rendered.problems;
  const decided: Decided = {};
  const pt = reads.podTemplate;
  if (pt) {
    decided.podTemplate = { name: pt.name, ...("problem" in pt.read ? { problem: pt.read.problem } : {}) };
    if ("template" in pt.read) {
      objects = withPodTemplate(objects, pt.read.template);
      // the renderer's note that the pod is shown without it no longer holds
      problems = problems.filter((p) => !(p.severity === "note" && formatPath(p.path) === "pod_template"));
    }
  }
  if (reads.startupSeconds !== undefined) {
    const budget = withStartBudget(objects, reads.startupSeconds);
    objects = budget.objects;
    if (budget.seconds !== undefined) decided.startupSeconds = budget.seconds;
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
  const isDropped = (p: readonly (string | number)[]) =>
    dropped.some((d) => d.every((k, i) => p[i] === undefined || p[i] === k));
  let source = STAND_IN_SOURCE;
  if (!isDropped(["model_path"]) && !isDropped(["model_hf_path"])) {
    const parsed = parseModelSource(app.config);
    if (isProblem(parsed))
      out.push({ ...at(app, parsed.path), severity: "error", message: parsed.message, hint: parsed.hint });
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
        out.push({ ...at(app, p.path), severity: "error", message: p.message, hint: p.hint });
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
