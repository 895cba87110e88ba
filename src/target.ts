/**
 * The Target contract: what Kubernetes (src/cluster) and Docker (src/local) both implement, and the
 * results they both return. `--json` prints these results as they are, so the two targets give the
 * same keys with the same types; a field one target cannot fill is `null`, and its comment says why.
 */
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
  hint: string | null;
  endpoint: string | null;
  /** Kubernetes: URLs of the Ingress hosts; Docker: [] */
  ingress: string[];
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

export interface DeleteRequest {
  purgeCache: boolean;
  wait: boolean;
}

/** A target once connected. Every method returns data; the commands print it. */
export interface Session {
  /** the namespace of apps that name none (Kubernetes: the context's); undefined on Docker */
  defaultNamespace?: string;
  deploy(plan: Plan, req: DeployRequest, ui: Ui): Promise<DeployResult>;
  status(apps: readonly AppRef[], req: StatusRequest, ui: Ui): Promise<StatusResult>;
  /** Streams lines to `write` until done (or interrupted). `apps` holds one app or more, in deploy order. */
  logs(apps: readonly AppRef[], req: LogsRequest, ui: Ui, write: (line: LogLine) => Promise<void>): Promise<void>;
  /** Deletes in the order given. */
  delete(apps: readonly AppRef[], req: DeleteRequest, ui: Ui): Promise<DeleteResult>;
  list(ui: Ui): Promise<ListResult>;
}

export interface Target {
  kind: TargetKind;
  /** Kubernetes: load the kubeconfig (throws ClusterError); Docker: nothing yet (the engine is asked when needed). */
  connect(opts: ConnectionOptions): Promise<Session>;
}

