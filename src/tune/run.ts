/**
 * `vllmapp tune`: the search. Plan the app once (resolving its model, for the fit check's facts), list
 * the candidates (space.ts), check each offline exactly as a deploy would (the render with the
 * candidate's --set overrides: the release's flag catalog, the fit check's KV capacity), then run the
 * rest one at a time on the app's own target: the candidate deployed beside the app as `<app>-tune`
 * (Docker: on a free port of its own; Kubernetes: in the app's namespace), measured by `bench`'s
 * `vllm bench serve` (a container, or a Job) over the request-rate ladder, --repeat times, and deleted.
 * After each trial the results file is written, so a cut-off search resumes where it stopped.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type { Plan, PlannedApp, PlanIo } from "../app/plan.js";
import type { SetOverride } from "../config/overrides.js";
import type { AppConfig } from "../config/schema.js";
import { planLevels } from "../bench/bench.js";
import { AppFailedError, InterruptedError, UsageError, VllmappError } from "../errors.js";
import { listenForInterrupt, stopListeningForInterrupt } from "../interrupt.js";
import { servingOptions } from "../fit/fit.js";
import { modelShape } from "../fit/model.js";
import { DEFAULT_IMAGE, imageOf } from "../render/labels.js";
import { gpuRequest } from "../render/resources.js";
import { chooseCatalog, loadCatalog, type CatalogChoice } from "../vllm/catalog.js";
import type { BenchLevel, BenchRequest, Session, TargetKind } from "../target.js";
import type { Ui } from "../ui/output.js";
import { VERSION } from "../version.js";
import { encodeSample, type Dataset, type DatasetSample } from "./dataset.js";
import { applyToText, unifiedDiff } from "./edit.js";
import type { TrialCluster } from "./kubernetes.js";
import { DEFINITIONS, RESULTS_SCHEMA, searchKey, type Trial, type TuneResults } from "./results.js";
import { goodputBounds, rank, scoreTrial, type Slo } from "./score.js";
import { candidates, costKey, KNOBS, settingsOf, type Candidate, type Hardware, type Workload } from "./space.js";

export interface TuneRequest {
  file: string;
  /** the app (a file with one app needs none) */
  app?: string;
  target: TargetKind;
  namespace?: string;
  params: ReadonlyMap<string, string>;
  set: readonly SetOverride[];
  workload: Workload;
  /** --workload FILE: the dataset its prompts are drawn from (workload.fromFile) */
  dataset?: { path: string; parsed: Dataset };
  requestRates: number[];
  numPrompts?: number;
  slo: Slo;
  sloText: string;
  seed: number;
  repeat: number;
  budget: { trials?: number; seconds?: number };
  resultsFile: string;
  fresh: boolean;
  /** how long a trial's server may take to start */
  startTimeoutSeconds?: number;
  /** how long one benchmark run may take */
  benchTimeoutSeconds: number;
  write: boolean;
  offline: boolean;
  connection: { kubeconfig?: string; context?: string; namespace?: string };
}

export interface TuneOutcome {
  results: TuneResults;
  /** the winner's change to the file, as a unified diff ("" when the winner is the app as it is) */
  diff: string;
  written: boolean;
}

/** What the planner and the target give the search; tests hand in their own. */
export interface TuneDeps {
  io: PlanIo;
  session: Session;
  /** a free loopback port (Docker trials publish on one of their own) */
  freePort: () => Promise<number>;
  /** the server's /version, or null */
  serverVersion: (endpoint: string) => Promise<string | null>;
  now: () => number;
  /** Kubernetes: the trial's benchmark Jobs (removed with it) and its /version; and the namespace its ref lands in */
  cluster?: TrialCluster & { namespaceOf: (ref: { name: string; fileNamespace?: string }) => string };
}

/** Requests sent before each rate and not measured: a fresh server's first requests pay for warm-up (compilation, caches), not for the config. */
export const WARMUPS = 2;

export const trialName = (app: string) => `${app.slice(0, 63 - 5).replace(/-+$/, "")}-tune`;

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : null;
};

export async function tune(req: TuneRequest, deps: TuneDeps, ui: Ui): Promise<TuneOutcome> {
  const s = await prepareSearch(req, deps, ui);
  const original = readFileSync(req.file, "utf8");
  const save = () => saveResults(s, original);
  // Ctrl-C stops the trial in flight and removes it (server, benchmark Jobs); the trials measured so far stay in the results file
  const onInterrupt = () => {
    s.interrupted = true;
  };
  listenForInterrupt(onInterrupt);
  try {
    await runTrials(s, save);
  } finally {
    stopListeningForInterrupt(onInterrupt);
  }
  await removeTrialsCache(s);
  save();
  const winner = s.results.winner;
  const diff = winner ? winner.diff : "";
  let written = false;
  if (req.write && winner && diff) {
    const trial = s.results.trials.find((t) => t.id === winner.id)!;
    writeFileSync(req.file, applyToText(original, req.file, s.named, trial.overrides));
    written = true;
  }
  return { results: s.results, diff, written };
}

/** The app being tuned, and what planning it decided for every candidate's plan. */
interface SearchBase {
  req: TuneRequest;
  deps: TuneDeps;
  ui: Ui;
  /** the app's name in the file (--app, or the file's one app) */
  named: string;
  app: AppConfig;
  planned: PlannedApp;
  /** the plans' IO, with the app's resolution reused (the model does not change between candidates) */
  io: PlanIo;
}

/** A search under way: its candidates, the plans of those that passed the offline check, and its results. */
interface Search extends SearchBase {
  hw: Hardware;
  list: Candidate[];
  trialPlans: Map<string, PlannedApp>;
  /** the benchmark every trial runs --repeat times */
  bench: BenchRequest;
  /** written to the results file after each trial */
  results: TuneResults;
  /** Ctrl-C was pressed: the trial in flight stops at its next step, and no other starts */
  interrupted: boolean;
}

/**
 * Everything decided before the first trial: the app's plan, the candidates and the offline check, the
 * workload, and the results so far (a results file of the same search is resumed, another one refused).
 */
async function prepareSearch(req: TuneRequest, deps: TuneDeps, ui: Ui): Promise<Search> {
  const base = await planBase(req, deps, ui);
  const { app, named } = base;
  const { hw, gpuLabel, release, list } = searchSpace(base.planned, req.workload);
  const trialPlans = await checkOffline(base, list);
  const { workload, sample } = sampleWorkload(req);
  const key = searchKey({
    appConfig: app,
    release: release.version,
    gpu: gpuLabel,
    seed: req.seed,
    workload,
    slo: req.slo,
    target: req.target,
    knobs: KNOBS,
  });
  const done = resumedTrials(req, key, list, named, ui);
  const results: TuneResults = {
    schema: RESULTS_SCHEMA,
    key,
    tool: { name: "vllmapp", version: VERSION, benchmark: "vllm bench serve" },
    vllm: {
      release: release.version,
      image: imageOf(app),
      served: done.find((t) => t.vllmVersion)?.vllmVersion ?? null,
    },
    app: named,
    file: req.file,
    target: req.target,
    gpu: gpuLabel,
    seed: req.seed,
    workload,
    slo: { ...req.slo, text: req.sloText },
    definitions: DEFINITIONS,
    budget: { trials: req.budget.trials ?? null, seconds: req.budget.seconds ?? null },
    candidates: list.map((c) => ({ id: c.id, index: c.index, changes: c.changes, pruned: c.pruned ?? null })),
    trials: done,
    winner: null,
    runnerUp: null,
    cutOff: false,
  };
  for (const c of list.filter((c) => c.pruned)) ui.note(`tune ${named}: skip ${c.id}: ${c.pruned}`);
  const bench = benchRequest(req, workload, sample);
  return { ...base, hw, list, trialPlans, bench, results, interrupted: false };
}

/** The app's own plan (its diagnostics reported), and which app of the file is tuned. */
async function planBase(req: TuneRequest, deps: TuneDeps, ui: Ui): Promise<SearchBase> {
  const { plan, reportPlan } = await import("../app/plan.js");
  const base = await plan(
    {
      file: req.file,
      app: req.app,
      target: req.target,
      namespace: req.namespace,
      defaultNamespace: deps.session.defaultNamespace,
      params: req.params,
      set: req.set,
    },
    deps.io,
  );
  reportPlan(base, ui);
  const named = req.app ?? (base.apps.length === 1 ? base.apps[0]!.loaded.config.name : undefined);
  if (!named)
    throw new UsageError(
      `${req.file} has ${base.apps.length} apps: ${base.apps.map((a) => a.loaded.config.name).join(", ")}`,
      "name the one to tune: vllmapp tune APP",
    );
  const planned = base.apps.find((a) => a.loaded.config.name === named)!;
  const report = planned.report;
  const io: PlanIo = {
    ...deps.io,
    resolve: report
      ? async () => ({ ...report, diagnostics: report.diagnostics.filter((d) => !d.path.startsWith("resources.gpu")) })
      : undefined,
  };
  return { req, deps, ui, named, app: planned.loaded.config, planned, io };
}

/** The app planned with the request's --set overrides and these after them; `as` renames it (a trial). */
async function planCandidate(s: SearchBase, set: readonly SetOverride[], as?: string): Promise<Plan> {
  const { plan } = await import("../app/plan.js");
  const { req } = s;
  return plan(
    {
      file: req.file,
      app: s.named,
      ...(as !== undefined ? { as } : {}),
      target: req.target,
      namespace: req.namespace,
      defaultNamespace: s.deps.session.defaultNamespace,
      params: req.params,
      set: [...req.set, ...set],
    },
    s.io,
  );
}

/**
 * The offline check: each candidate rendered as a deploy would render it. One that does not render, whose
 * context does not fit the KV cache, or that renders the baseline's server is pruned (with the reason);
 * the plans of the others are answered by candidate id.
 */
async function checkOffline(s: SearchBase, list: Candidate[]): Promise<Map<string, PlannedApp>> {
  const serve = s.planned.rendered.serve;
  const trialPlans = new Map<string, PlannedApp>();
  for (const c of list) {
    if (c.pruned) continue;
    const p = await planCandidate(s, c.overrides);
    const error = p.errors[0];
    const mine = p.apps.find((a) => a.loaded.config.name === s.named);
    if (error) c.pruned = `${error.path ? `${error.path}: ` : ""}${error.message}`;
    else if (mine?.fit && !mine.fit.result.contextFits)
      c.pruned = `the KV cache holds ${mine.fit.result.maxTokens} tokens on ${mine.fit.gpu}, less than max_model_len ${mine.fit.result.maxModelLen}: vLLM refuses to start`;
    else if (mine && c.id !== "baseline" && JSON.stringify(mine.rendered.serve.args) === JSON.stringify(serve.args))
      c.pruned = "renders the same server as the baseline";
    else if (mine) trialPlans.set(c.id, mine);
  }
  return trialPlans;
}

/**
 * The trials an earlier run of the same search measured, from its results file (unless --fresh), for the
 * candidates still in it. A file of another search (its key differs) is a usage error, not overwritten.
 */
function resumedTrials(req: TuneRequest, key: string, list: readonly Candidate[], named: string, ui: Ui): Trial[] {
  if (req.fresh || !existsSync(req.resultsFile)) return [];
  const old = JSON.parse(readFileSync(req.resultsFile, "utf8")) as Partial<TuneResults>;
  if (old.schema !== RESULTS_SCHEMA || old.key !== key)
    throw new UsageError(
      `${req.resultsFile} holds the results of another search (a different app config, release, GPUs, seed, workload or SLO)`,
      "start over with --fresh, or write elsewhere with --results FILE",
    );
  const done = (old.trials ?? []).filter((t) => list.some((c) => c.id === t.id && !c.pruned));
  if (done.length)
    ui.info(
      `tune ${named}: resuming ${req.resultsFile}: ${done.length} trial${done.length === 1 ? "" : "s"} already measured`,
    );
  return done;
}

/** Rank the trials so far and write the results file (through a temporary file: a cut-off write leaves the last one). */
function saveResults(s: Search, original: string): void {
  finish(s.results, s.list, s.hw, original, s.req.file);
  const tmp = `${s.req.resultsFile}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(s.results, null, 2)}\n`);
  renameSync(tmp, s.req.resultsFile);
}

/**
 * The candidates not measured yet, one trial at a time, saving after each, until the budget (trials or
 * seconds) is spent (the results say cutOff) or Ctrl-C (an InterruptedError naming the results file).
 */
async function runTrials(s: Search, save: () => void): Promise<void> {
  const { req, results } = s;
  const runnable = s.list.filter((c) => !c.pruned);
  const spent = () => results.trials.reduce((sum, t) => sum + t.seconds, 0);
  for (const c of runnable) {
    if (results.trials.some((t) => t.id === c.id)) continue;
    if (req.budget.trials !== undefined && results.trials.length >= req.budget.trials) {
      results.cutOff = true;
      break;
    }
    if (req.budget.seconds !== undefined && spent() >= req.budget.seconds) {
      results.cutOff = true;
      break;
    }
    if (s.interrupted)
      throw new InterruptedError(
        `interrupted: ${results.trials.length} trial${results.trials.length === 1 ? "" : "s"} measured, in ${req.resultsFile} (the same command resumes)`,
      );
    results.trials.push(
      await runTrial(s, c, results.trials.length + 1, Math.min(runnable.length, req.budget.trials ?? Infinity)),
    );
    save();
  }
}

type TrialRef = { name: string; fileNamespace?: string };

/**
 * One trial: the candidate deployed as `<app>-tune`, measured, removed, scored. A failure of the trial
 * (a VllmappError: it did not start, the benchmark failed) is recorded and the search goes on; Ctrl-C or a
 * bug removes the trial and stops the search.
 */
async function runTrial(s: Search, c: Candidate, n: number, of: number): Promise<Trial> {
  const { req, deps, ui, app, results } = s;
  const name = trialName(s.named);
  const started = deps.now();
  const label = `tune ${s.named}: trial ${n}/${of} ${c.id}`;
  const trial = newTrial(c, started, s.trialPlans.get(c.id)?.rendered.serve.args ?? []);
  const extra: SetOverride[] =
    req.target === "docker" ? [{ path: "port", value: String(await deps.freePort()) }] : trialSecrets(app);
  const ref: TrialRef = { name, ...(app.namespace ? { fileNamespace: app.namespace } : {}) };
  try {
    await measureTrial(s, trial, ref, [...c.overrides, ...extra], label);
  } catch (e) {
    if (e instanceof InterruptedError || !(e instanceof VllmappError)) {
      await removeTrial(s, ref, e instanceof InterruptedError);
      const n = results.trials.length;
      const measured = n
        ? `the ${n === 1 ? "trial" : `${n} trials`} measured before it ${n === 1 ? "is" : "are"} in ${req.resultsFile}`
        : "no trial was measured before it";
      throw e instanceof InterruptedError
        ? new InterruptedError(
            `interrupted during trial ${c.id}: ${name} was deleted${deps.cluster ? ", with its benchmark Jobs" : ""} (its pods stop in the background); ${measured} (the same command resumes)`,
          )
        : e;
    }
    trial.status = "failed";
    trial.error = e.message.split("\n")[0]!;
    ui.warn(`${label}: failed: ${trial.error}`);
  }
  await removeTrial(s, ref, false);
  trial.score = scoreTrial(trial.runs, req.requestRates, req.slo);
  trial.goodput = trial.status === "ok" ? trial.score.goodput : 0;
  trial.goodRequestsPerSecond = goodAt(trial.runs, trial.goodput);
  trial.seconds = Math.round((deps.now() - started) / 100) / 10;
  if (trial.vllmVersion && !results.vllm.served) results.vllm.served = trial.vllmVersion;
  const miss = trial.score.rates.find((r) => !r.meets);
  ui.success(
    `${label}: goodput ${trial.goodput} req/s${miss?.missed ? ` (${miss.requestRate} req/s: ${miss.missed})` : ""}`,
  );
  return trial;
}

/**
 * Deploy the trial (the app with the candidate's overrides and `set` after them, as `ref.name`), read its
 * vLLM version, and run the benchmark --repeat times into `trial.runs`. Ctrl-C stops it between steps.
 */
async function measureTrial(
  s: Search,
  trial: Trial,
  ref: TrialRef,
  set: readonly SetOverride[],
  label: string,
): Promise<void> {
  const { req, deps, ui } = s;
  const name = ref.name;
  const stopHere = (where: string) => {
    if (s.interrupted) throw new InterruptedError(`interrupted ${where}`);
  };
  const p = await planCandidate(s, set, name);
  const mine = p.apps.find((a) => a.loaded.config.name === name);
  if (p.errors.length || !mine)
    throw new AppFailedError(`the trial's config does not render: ${p.errors[0]?.message ?? "no app"}`);
  stopHere(`before trial ${trial.id} started`);
  ui.info(`${label}: starting ${name}`);
  const deployed = await deps.session.deploy(
    { ...p, apps: [mine], waves: [[mine]] },
    {
      dryRun: "none",
      wait: true,
      timeoutSeconds: req.startTimeoutSeconds,
      createNamespace: false,
      createSecrets: false,
      forceConflicts: false,
    },
    ui,
  );
  const endpoint = deployed.apps[0]?.endpoint;
  stopHere(`while trial ${trial.id} started`);
  if (deps.cluster) trial.vllmVersion = await deps.cluster.serverVersion(name, deps.cluster.namespaceOf(ref));
  else if (endpoint) trial.vllmVersion = await deps.serverVersion(endpoint);
  for (let r = 0; r < req.repeat; r++) {
    ui.info(`${label}: run ${r + 1}/${req.repeat} at ${req.requestRates.join(", ")} req/s`);
    const result = await deps.session.bench(ref, s.bench, ui);
    trial.runs.push(result.levels);
    stopHere(`after run ${r + 1} of trial ${trial.id}`);
  }
}

/**
 * The trial's server and, on Kubernetes, its benchmark Jobs (their deletes first). After a trial, its
 * pods are waited for, so the next trial starts on a node the last one has left; after Ctrl-C the
 * deletes are sent and not waited for (a server's pod drains for 10 s and more, and the process exits
 * 15 s after a Ctrl-C whatever it is doing): the pods stop in the background.
 */
async function removeTrial(s: Search, ref: TrialRef, afterInterrupt: boolean): Promise<void> {
  const { deps, ui } = s;
  const name = ref.name;
  const warn = (e: unknown) => ui.warn(`could not remove the trial ${name}: ${(e as Error).message}`);
  const cluster = deps.cluster;
  const namespace = cluster?.namespaceOf(ref);
  if (cluster) await cluster.removeBenchJobs(name, namespace!, false).catch(warn);
  // the model cache (a PVC with `cache`) stays for the next trial, unless the search stops here
  await deps.session
    .delete(
      [ref],
      { purgeCache: afterInterrupt && s.req.target === "kubernetes" && Boolean(s.app.cache), wait: !afterInterrupt },
      ui,
    )
    .catch(warn);
  if (cluster && !afterInterrupt) await cluster.removeBenchJobs(name, namespace!, true).catch(warn);
}

/** Kubernetes, an app with `cache`: the trials shared one model cache (the first trial filled it); the search is over. */
async function removeTrialsCache(s: Search): Promise<void> {
  const { deps, ui, app, named } = s;
  if (s.req.target !== "kubernetes" || !app.cache || !s.results.trials.length) return;
  await deps.session
    .delete(
      [{ name: trialName(named), ...(app.namespace ? { fileNamespace: app.namespace } : {}) }],
      { purgeCache: true, wait: true },
      ui,
    )
    .catch((e: unknown) =>
      ui.warn(`could not remove the trials' cache ${trialName(named)}-cache: ${(e as Error).message}`),
    );
}

/** What the search explores: the app's hardware, its release's catalog, and the candidates (space.ts) around its serving flags. */
function searchSpace(
  planned: PlannedApp,
  workload: Workload,
): { hw: Hardware; gpuLabel: string; release: CatalogChoice; list: Candidate[] } {
  const app = planned.loaded.config;
  const report = planned.report;
  const gpu = gpuRequest(app);
  const shape = report?.facts?.config ? modelShape(report.facts.config) : undefined;
  const hw: Hardware = {
    gpus: gpu.count,
    ...(gpu.type ? { gpuType: gpu.type.name } : {}),
    ...(shape && !("problem" in shape)
      ? {
          heads: { attention: shape.attentionHeads, kv: shape.kvHeads },
          ...(shape.maxPositionEmbeddings ? { maxPositionEmbeddings: shape.maxPositionEmbeddings } : {}),
        }
      : {}),
  };
  const gpuLabel =
    gpu.count === 0
      ? "none (CPU)"
      : `${gpu.type?.name ?? "GPU"}${gpu.partition ? ` ${gpu.partition}` : ""}:${gpu.count}`;
  const release = chooseCatalog(app.image, app.vllm_version, DEFAULT_IMAGE);
  const kvFlag = loadCatalog(release.version).flags.find((f) => f.name === "--kv-cache-dtype");
  const kvChoices = kvFlag?.choices?.map(String);
  const serve = planned.rendered.serve;
  const baseSettings = settingsOf(
    serve.args,
    servingOptions(serve.args).tensorParallel,
    app.draft_model_hf_path !== undefined || app.draft_model_path !== undefined,
  );
  return { hw, gpuLabel, release, list: candidates(app, baseSettings, hw, workload, kvChoices) };
}

/**
 * The workload every trial is measured with, as the results file records it. A dataset: the same sample for
 * every trial, as many prompts as the busiest rate sends (and its warm-ups), drawn with the seed.
 */
export function sampleWorkload(req: TuneRequest): { workload: TuneResults["workload"]; sample?: DatasetSample } {
  const common = {
    requestRates: req.requestRates,
    numPrompts: req.numPrompts ?? null,
    repeat: req.repeat,
    warmupsPerRate: WARMUPS,
  };
  if (!req.dataset)
    return {
      workload: { dataset: "random", inputLen: req.workload.inputLen, outputLen: req.workload.outputLen, ...common },
    };
  const perRate = Math.max(
    ...planLevels({
      concurrency: [],
      requestRates: req.requestRates,
      ...(req.numPrompts ? { numPrompts: req.numPrompts } : {}),
      inputLen: 0,
      outputLen: 0,
      percentiles: [],
      slo: {},
      seed: 0,
      timeoutSeconds: 0,
      keep: false,
    }).map((l) => l.numPrompts),
  );
  const sample = encodeSample(req.dataset.path, req.dataset.parsed, perRate + WARMUPS, req.seed);
  const file = {
    path: req.dataset.path,
    sha256: req.dataset.parsed.sha256,
    records: req.dataset.parsed.records.length,
    sampled: sample.records,
  };
  return { workload: { dataset: sample.format, file, inputLen: 0, outputLen: 0, ...common }, sample };
}

/** The benchmark each trial runs, --repeat times: the rate ladder, the SLO's percentiles and goodput bounds. */
export function benchRequest(
  req: TuneRequest,
  workload: TuneResults["workload"],
  sample: DatasetSample | undefined,
): BenchRequest {
  return {
    concurrency: [],
    requestRates: req.requestRates,
    ...(req.numPrompts ? { numPrompts: req.numPrompts } : {}),
    inputLen: workload.inputLen,
    outputLen: workload.outputLen,
    ...(sample ? { dataset: { format: sample.format, data: sample.data } } : {}),
    percentiles: [...new Set([50, 90, 95, 99, ...req.slo.percentiles.map((x) => x.percentile)])].sort((a, b) => a - b),
    slo: goodputBounds(req.slo),
    seed: req.seed,
    timeoutSeconds: req.benchTimeoutSeconds,
    keep: false,
    warmups: WARMUPS,
  };
}

/** A trial's record before it runs: the candidate's changes, not measured yet. */
function newTrial(c: Candidate, started: number, serveArgs: string[]): Trial {
  return {
    id: c.id,
    index: c.index,
    changes: c.changes,
    settings: c.settings,
    overrides: c.overrides,
    status: "ok",
    error: null,
    startedAt: new Date(started).toISOString(),
    seconds: 0,
    vllmVersion: null,
    serveArgs,
    runs: [],
    score: { goodput: 0, rates: [] },
    goodput: 0,
    goodRequestsPerSecond: null,
  };
}

/**
 * Kubernetes: the trial reads the app's own Secret (`<app>-secrets`, filled by the app's deploy), not one
 * named after the trial, which nobody fills: every secret entry names its Secret.
 */
export function trialSecrets(app: AppConfig): SetOverride[] {
  if (!app.secrets?.length) return [];
  const own = `${app.name}-secrets`;
  return [
    {
      path: "secrets",
      value: JSON.stringify(
        app.secrets.map((s) =>
          typeof s === "string" ? { env_var: s, secret: own, key: s } : { ...s, secret: s.secret ?? own },
        ),
      ),
    },
  ];
}

/** vLLM's request_goodput at a rate, the median of the runs; null at rate 0. */
function goodAt(runs: readonly (readonly BenchLevel[])[], rate: number): number | null {
  if (!rate) return null;
  return median(
    runs
      .map((levels) => levels.find((l) => l.requestRate === rate)?.goodput?.requestsPerSecond)
      .filter((v): v is number => typeof v === "number"),
  );
}

/** Rank the trials, and fill in the winner, why, its diff and the runner-up. */
function finish(results: TuneResults, list: readonly Candidate[], hw: Hardware, original: string, file: string): void {
  const byId = new Map(list.map((c) => [c.id, c]));
  const ranked = rank(
    results.trials
      .filter((t) => t.status === "ok")
      .map((t) => ({ item: t, goodput: t.goodput, cost: costKey(byId.get(t.id)!, hw) })),
  );
  const [first, second] = ranked;
  if (!first) {
    results.winner = null;
    results.runnerUp = null;
    return;
  }
  const w = first.item;
  let why: string;
  if (!second) why = `the only trial that ran (goodput ${w.goodput} req/s)`;
  else if (second.goodput < first.goodput)
    why = `highest goodput: ${w.goodput} req/s against ${second.item.goodput} req/s for the runner-up ${second.item.id}${missedAt(second.item)}`;
  else
    why = `goodput ${w.goodput} req/s, tied with ${second.item.id}; the leaner config wins the tie (${leaner(w, second.item)})`;
  const after = applyToText(original, file, results.app, w.overrides);
  results.winner = { id: w.id, goodput: w.goodput, why, diff: unifiedDiff(original, after, file) };
  results.runnerUp = second
    ? { id: second.item.id, goodput: second.item.goodput, goodRequestsPerSecond: second.item.goodRequestsPerSecond }
    : null;
}

function missedAt(t: Trial): string {
  const r = t.score.rates.find((x) => !x.meets);
  return r ? ` (at ${r.requestRate} req/s: ${r.missed})` : "";
}

/** The first cost component where the winner is lower, in words. */
function leaner(a: Trial, b: Trial): string {
  const s = a.settings;
  const o = b.settings;
  const v = (x: unknown) => (x === null ? "vLLM's default" : String(x));
  for (const k of [
    "tensor_parallel",
    "gpu_memory_utilization",
    "kv_cache_dtype",
    "max_model_len",
    "max_num_seqs",
    "max_num_batched_tokens",
    "speculative",
  ] as const) {
    if (s[k] !== o[k]) return `${k} ${v(s[k])} instead of ${v(o[k])}`;
  }
  return "earlier in the search order";
}
