/**
 * The Target contract: what Kubernetes (src/cluster) and Docker (src/local) both implement, and the
 * results they both return. `--json` prints these results as they are, so the two targets give the
 * same keys with the same types; a field one target cannot fill is `null`, and its comment says why.
 */
import type { ClusterReads } from "./app/cluster-reads.js";
import type { Plan } from "./app/plan.js";
import type { AppRef } from "./app/select.js";
import type { K8sObject, RenderedModel, TargetKind } from "./render/types.js";
import type { Ui } from "./ui/output.js";

export type { TargetKind };

/** How to reach the target: the kubeconfig flags (Docker ignores them). */
export interface ConnectionOptions {
  kubeconfig?: string;
  context?: string;
  /** --namespace */
  namespace?: string;
}

export type { AppRef };

export interface Replicas {
  ready: number;
  desired: number;
}

/**
 * What deploy did to one object. Kubernetes: create, configure, unchanged, prune (server-side apply).
 * Docker: create, replace (the rendered spec changed: the container is recreated) or unchanged.
 */
export type ChangeAction = "create" | "configure" | "unchanged" | "prune" | "replace";

export interface Change {
  kind: string;
  name: string;
  action: ChangeAction;
}

export interface DeployedApp {
  name: string;
  /** Kubernetes: the namespace; Docker: null (there is none) */
  namespace: string | null;
  /** Docker: the container's name; Kubernetes: null (the replicas are pods) */
  container: string | null;
  /** the model source as deployed (run outputs resolved) */
  model: RenderedModel;
  image: string;
  /** Kubernetes: every object applied or pruned; Docker: the container. Docker's client dry run touches no engine: [] */
  changes: Change[];
  /** Kubernetes: the in-cluster Service URL; Docker: the published loopback URL; null when there is none */
  endpoint: string | null;
  /** true once waited for and ready; false with --no-wait and in a dry run */
  ready: boolean;
  /** the replicas ready when deploy stopped waiting; null when it did not wait */
  replicas: Replicas | null;
  /** how the server's start went, phase by phase (Kubernetes: the first replica's); null when deploy did not wait, or (Kubernetes) nothing started */
  startup: StartupReport | null;
  /** the start just waited for and the one before it, phase by phase; null when deploy did not wait */
  timeline: Timeline | null;
  requiresApiKey: boolean;
  /** dry run, Kubernetes: the objects that would be applied (the applyset parent first); otherwise null */
  objects: K8sObject[] | null;
  /** dry run, Docker: the commands that would run; otherwise null */
  docker: { argv: string[]; before: { what: string; argv: string[] }[] } | null;
}

export interface DeployResult {
  /** null: a real deploy */
  dryRun: "client" | "server" | null;
  /** Kubernetes: namespaces and Secrets created before applying (or that would be); Docker: [] */
  prerequisites: string[];
  apps: DeployedApp[];
}

/** The phases of a server's start (src/startup/phases.ts says how each is recognised). */
export type StartupPhase =
  "pulling" | "downloading" | "starting" | "loading" | "compiling" | "capturing" | "initializing" | "ready";

/** Where a starting server is, and how long each phase took (from the container's state and vLLM's log). */
export interface StartupReport {
  /** the phase it is in now; "ready" once it has started */
  phase: StartupPhase;
  /** seconds from the first phase's start to ready (or to now) */
  elapsedSeconds: number;
  /** each phase seen, in order: the seconds spent in it, and what vLLM said about it ("weights in 12.3 s") */
  phases: { phase: StartupPhase; seconds: number; detail: string | null }[];
  /** where the current phase is ("3/6 files", "2.2G of 5.0G"); null when nothing says, and once ready */
  progress: string | null;
}

/** A phase of a start as the timeline names it (`status --json`'s `timeline`; src/startup/timeline.ts). */
export type TimelinePhase =
  "scheduling" | "image-pull" | "download" | "loading" | "compiling" | "capturing" | "initializing" | "ready";

export interface TimelineEntry {
  phase: TimelinePhase;
  /** seconds spent in the phase; for `ready`, the whole start (first phase to ready) */
  seconds: number;
  /** what the phase moved: the image's bytes (pull), the model's (download), the weights' (loading); null when unknown */
  bytes: number | null;
  /** the rate, the images, what vLLM said ("from the compile cache"); null when nothing more is known */
  detail: string | null;
  /** for a slow phase: what would shorten it, and by how much (published or measured numbers) */
  advice: string | null;
}

/** A start as the app's history keeps it (ConfigMap `<app>-starts`): phases, seconds and bytes only. */
export interface StartRecord {
  /** the pod and the server container's run ("<pod>#<restarts>"; Docker: "<container>#<start time>") */
  id: string;
  /** when the start began (ISO 8601) */
  at: string;
  ready: boolean;
  /** first phase to ready (or to when it was recorded) */
  seconds: number;
  /** the server process's start to ready: what the startup probe waits for; null when unknown */
  serverSeconds: number | null;
  phases: TimelineEntry[];
}

/** The current start and the one before, phase by phase; [] when there is none. */
export interface Timeline {
  current: TimelineEntry[];
  previous: TimelineEntry[];
  /** the starts' ids ("<pod>#<restarts>"), null when there is none */
  currentId: string | null;
  previousId: string | null;
}

/** One condition a Gateway reports on a route (Gateway API's metav1.Condition, the fields shown). */
export interface RouteCondition {
  type: string;
  /** "True", "False" or "Unknown" */
  status: string;
  reason: string;
  message: string;
}

/** The app's HTTPRoute (`route:`), as the Gateways that serve it report. */
export interface RouteStatus {
  /** the HTTPRoute's name */
  name: string;
  /** namespace/name of the Gateway its parentRef names */
  gateway: string;
  /** where clients reach it: the hostnames, else the Gateway's address */
  urls: string[];
  /** one entry per Gateway (listener) that reported on the route */
  parents: {
    gateway: string;
    controller: string | null;
    accepted: RouteCondition | null;
    resolvedRefs: RouteCondition | null;
  }[];
  /** accepted: every Gateway accepted it; rejected: one said Accepted or ResolvedRefs False; pending: none reported yet */
  state: "accepted" | "pending" | "rejected";
  /** why it is not accepted, in one line; null when accepted */
  message: string | null;
}

export interface AppStatus {
  name: string;
  /** Kubernetes: the namespace looked in; Docker: null */
  namespace: string | null;
  /** Docker: the container; Kubernetes: null */
  container: string | null;
  deployed: boolean;
  ready: boolean;
  /** Kubernetes: the Deployment's replicas; Docker: one container (ready 0 or 1); null when not deployed */
  replicas: Replicas | null;
  /** Docker: the container's state (running, exited, …); Kubernetes: null (pods have their own states; see reason) */
  state: string | null;
  /** why it is not ready; null when ready or not deployed */
  reason: string | null;
  /** the server's start, phase by phase, from its state and log (Kubernetes: the first current replica's); null when not deployed or not started */
  startup: StartupReport | null;
  /** the current start and the one before, phase by phase (`status --timeline` prints it); null when not deployed */
  timeline: Timeline | null;
  hint: string | null;
  endpoint: string | null;
  /** Kubernetes: URLs of the Ingress hosts; Docker: [] */
  ingress: string[];
  /** Kubernetes: the HTTPRoute of `route:` and what its Gateways say; null without one, and on Docker */
  route: RouteStatus | null;
  modelId: string | null;
  modelUri: string | null;
  /** the run output or registry URI the model was resolved from */
  modelSource: string | null;
  image: string | null;
  /** when it was created (ISO 8601) */
  created: string | null;
  age: string | null;
  description: string | null;
  links: { title: string; url: string }[];
  requiresApiKey: boolean;
  /** only with --show-api-key; null otherwise */
  apiKey: string | null;
  /** Kubernetes, multi-node (LeaderWorkerSet): each group's pods, leader and workers by rank; otherwise null */
  groups: GroupStatus[] | null;
  /** the LoRA adapters served (model names clients may send besides modelId) */
  adapters: string[];
}

/** A pod of a LeaderWorkerSet group. */
export interface GroupPod {
  name: string;
  role: "leader" | "worker";
  /** LWS_WORKER_INDEX: 0 for the leader */
  rank: number;
  phase: string;
  ready: boolean;
  restarts: number;
}

/** A LeaderWorkerSet group (one replica of a multi-node app). */
export interface GroupStatus {
  index: number;
  ready: boolean;
  /** pods the group should have (the LWS size) */
  size: number;
  pods: GroupPod[];
}

export interface StatusResult {
  apps: AppStatus[];
}

export interface AppSummary {
  name: string;
  /** Kubernetes: the namespace listed; Docker: null */
  namespace: string | null;
  ready: boolean;
  replicas: Replicas;
  endpoint: string | null;
  modelId: string | null;
  image: string | null;
  age: string | null;
  /** Docker: the container's state; Kubernetes: null */
  state: string | null;
}

export interface ListResult {
  /** Kubernetes: the namespace listed; Docker: null */
  namespace: string | null;
  apps: AppSummary[];
}

export interface DeletedApp {
  name: string;
  /** Kubernetes: the namespace; Docker: null */
  namespace: string | null;
  /** what was deleted: Kubernetes objects (Kind/name), Docker containers (Container/name) */
  deleted: string[];
  /** what was kept: the model cache, unless --purge-cache */
  kept: string[];
  /** with --purge-cache, Docker: the local copy of an object-store model that was removed; otherwise null */
  purgedCache: string | null;
}

export interface DeleteResult {
  apps: DeletedApp[];
}

/** One line of `logs --json` (NDJSON): the same keys on both targets. */
export interface LogLine {
  /** the pod (Kubernetes) or container (Docker) */
  replica: string;
  /** with --timestamps only: the line's timestamp (RFC 3339) */
  time?: string;
  line: string;
}

/** A raw log line as a LogLine: with --timestamps, both targets prefix each line with "TIME ". */
export function logLine(replica: string, raw: string, timestamps: boolean): LogLine {
  if (!timestamps) return { replica, line: raw };
  const sp = raw.indexOf(" ");
  return sp < 0 ? { replica, time: raw, line: "" } : { replica, time: raw.slice(0, sp), line: raw.slice(sp + 1) };
}

export interface DeployRequest {
  dryRun: "none" | "client" | "server";
  wait: boolean;
  /** --timeout, converted; undefined: the app's startup_timeout (plus a margin on Kubernetes) */
  timeoutSeconds?: number;
  createNamespace: boolean;
  createSecrets: boolean;
  forceConflicts: boolean;
}

export interface LogsRequest {
  follow: boolean;
  tail?: number;
  /** --since, converted */
  sinceSeconds?: number;
  replica?: string;
  previous: boolean;
  timestamps: boolean;
}

export interface StatusRequest {
  /** the app was named (status APP), not taken from the file */
  named: boolean;
  showApiKey: boolean;
}

/** `vllmapp bench`: the workload and how it is swept. */
export interface BenchRequest {
  /** one level per value; with requestRates, a single value caps the requests in flight */
  concurrency: number[];
  /** requests per second: one level per value (then concurrency is a cap) */
  requestRates: number[];
  /** prompts per level; default from the level (4 × concurrency, or 10 s of the rate; at least 8) */
  numPrompts?: number;
  inputLen: number;
  outputLen: number;
  percentiles: number[];
  /** the SLO for goodput, per request (tpot: a request's mean inter-token latency) */
  slo: { ttftMs?: number; tpotMs?: number; e2elMs?: number };
  seed: number;
  /** the served model name to ask for; default the app's */
  model?: string;
  timeoutSeconds: number;
  /** Kubernetes: keep the Job after a run that succeeded */
  keep: boolean;
  /** requests sent before each level and not measured (vllm bench serve --num-warmups): the first requests after a start pay for warm-up */
  warmups?: number;
  /** prompts from a dataset instead of random ones (tune --workload FILE): vLLM's loader format, the sample gzipped, base64 */
  dataset?: { format: "custom" | "sharegpt"; data: string };
}

/** mean, median and the asked percentiles (p50, p90, p99, …), in milliseconds; null when vLLM gave none */
export type BenchStats = { mean: number | null; median: number | null; [percentile: `p${number}`]: number | null };

export interface BenchLevel {
  /** the level: a concurrency, or a request rate (with an optional concurrency cap) */
  concurrency: number | null;
  requestRate: number | null;
  numPrompts: number;
  durationSeconds: number | null;
  requests: { completed: number; failed: number };
  throughput: {
    requestsPerSecond: number | null;
    outputTokensPerSecond: number | null;
    totalTokensPerSecond: number | null;
  };
  /** time to first token */
  ttftMs: BenchStats;
  /** a request's mean time per output token after the first */
  tpotMs: BenchStats;
  /** inter-token latency, over every token */
  itlMs: BenchStats;
  /** end-to-end request latency */
  e2elMs: BenchStats;
  /** requests per second that met every SLO, and their share; null without --slo */
  goodput: { requestsPerSecond: number; fraction: number | null } | null;
  /** the change of the server's /metrics counters over the level (vLLM bench's one test request may count); null when they could not be read */
  server: {
    requests: number;
    promptTokens: number;
    generationTokens: number;
    preemptions: number;
    prefixCacheHitRate: number | null;
  } | null;
}

export interface BenchResult {
  app: string;
  /** Kubernetes: the namespace; Docker: null */
  namespace: string | null;
  target: TargetKind;
  /** the URL the benchmark sent requests to (the Service, or the published loopback port) */
  endpoint: string;
  model: string;
  image: string;
  /** what ran it: vllm bench serve, in a Job (Kubernetes) or a container (Docker) of the app's own image */
  tool: { name: "vllm bench serve"; ranIn: string };
  workload: {
    dataset: "random";
    inputLen: number;
    outputLen: number;
    seed: number;
    percentiles: number[];
    slo: BenchRequest["slo"];
  };
  levels: BenchLevel[];
}

export interface DeleteRequest {
  purgeCache: boolean;
  wait: boolean;
}

/** A target once connected. Every method returns data; the commands print it. */
export interface Session {
  /** the namespace of apps that name none (Kubernetes: the context's); undefined on Docker */
  defaultNamespace?: string;
  /** Kubernetes: what the plan reads from the cluster, through this session (app/cluster-reads.ts); undefined on Docker */
  reads?: ClusterReads;
  /** Kubernetes: the API server's minor version (GET /version), to render for; undefined when it cannot be read */
  serverMinor?(): Promise<number | undefined>;
  deploy(plan: Plan, req: DeployRequest, ui: Ui): Promise<DeployResult>;
  status(apps: readonly AppRef[], req: StatusRequest, ui: Ui): Promise<StatusResult>;
  /** Streams lines to `write` until done (or interrupted). `apps` holds one app or more, in deploy order. */
  logs(apps: readonly AppRef[], req: LogsRequest, ui: Ui, write: (line: LogLine) => Promise<void>): Promise<void>;
  /** Deletes in the order given. */
  delete(apps: readonly AppRef[], req: DeleteRequest, ui: Ui): Promise<DeleteResult>;
  list(ui: Ui): Promise<ListResult>;
  /** Run `vllm bench serve` against the deployed app (fails when it is not deployed or not ready). */
  bench(app: AppRef, req: BenchRequest, ui: Ui): Promise<BenchResult>;
}

export interface Target {
  kind: TargetKind;
  /** Kubernetes: load the kubeconfig (throws ClusterError); Docker: nothing yet (the engine is asked when needed). */
  connect(opts: ConnectionOptions): Promise<Session>;
}
