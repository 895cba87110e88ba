/**
 * Readiness as kubectl's status viewers have it: one pure viewer per kind (a Deployment, a
 * LeaderWorkerSet) from what a watch has seen so far to a view: not there yet, done, the nodes wanted
 * (to sharpen an unschedulable diagnosis), or progress with the line to show and a diagnosis (fatal:
 * the wait stops, exit 6). wait.ts owns the one watch loop that feeds them; the unit tests replay
 * recorded watch sequences through `see` and a viewer (test/fixtures/watch/).
 */
import { leaderWorkerSetName } from "../render/parallelism.js";
import { describeCurrent, ProgressGate, type StartupReport } from "../startup/phases.js";
import { currentPods, diagnosePods, isUnschedulable, replicaFailure, type Diagnosis, type KEvent } from "./diagnose.js";
import { diagnoseGroups, groupState } from "./groups.js";
import type { Deployment, LeaderWorkerSet, Node, Pod, ReplicaSet } from "./k8s-types.js";
import { startupOf, type LogRecord, type TimedEvent } from "./startup.js";

/** A ResourceQuota refusal is final only once it has stood this long, and as long after a pod of the app went away. */
export const QUOTA_SETTLE_MS = 20_000;
/** The pods' events kept: the newest ones. */
const EVENTS_KEPT = 500;

export interface Readiness {
  ready: number;
  desired: number;
}

export type WatchedEvent = KEvent & TimedEvent;

/** What the watch has seen of one app so far. */
export interface Seen<W> {
  workload: W | undefined;
  replicaSets: ReplicaSet[];
  pods: Pod[];
  events: WatchedEvent[];
  /** the watched replica's log lines (startup.ts follows them) */
  logs: readonly LogRecord[];
  /** undefined until read (or when the user may not list them) */
  nodes: readonly Node[] | undefined;
  nodesRead: boolean;
  /** when a pod of the app last went away (ms): its quota is freed some seconds later */
  podGoneAt: number;
}

/** One thing the watch saw, at a time (ms): what the loop feeds, and what a recording holds. */
export type Seeing<W> =
  | { at: number; kind: "workload"; type: "ADDED" | "MODIFIED" | "DELETED"; object: W }
  | { at: number; kind: "replicaset"; type: "ADDED" | "MODIFIED" | "DELETED"; object: ReplicaSet }
  | { at: number; kind: "pod"; type: "ADDED" | "MODIFIED" | "DELETED"; object: Pod }
  | { at: number; kind: "event"; type: "ADDED" | "MODIFIED" | "DELETED"; object: WatchedEvent }
  | { at: number; kind: "relist"; of: "replicaset" | "pod" }
  | { at: number; kind: "nodes"; nodes: Node[] | undefined }
  | { at: number; kind: "log"; line: LogRecord };

export function emptySeen<W>(logs: readonly LogRecord[] = []): Seen<W> {
  return {
    workload: undefined,
    replicaSets: [],
    pods: [],
    events: [],
    logs,
    nodes: undefined,
    nodesRead: false,
    podGoneAt: 0,
  };
}

const upsert = <T extends { metadata: { uid?: string } }>(list: T[], type: string, o: T): T[] => [
  ...list.filter((x) => x.metadata.uid !== o.metadata.uid),
  ...(type === "DELETED" ? [] : [o]),
];

/** What has been seen, with one more thing (a new value; `seen` is not changed). Events are kept for the app's pods only (`eventPrefix`). */
export function see<W>(seen: Seen<W>, s: Seeing<W>, eventPrefix: string): Seen<W> {
  switch (s.kind) {
    case "workload":
      return { ...seen, workload: s.type === "DELETED" ? undefined : s.object };
    case "replicaset":
      return { ...seen, replicaSets: upsert(seen.replicaSets, s.type, s.object) };
    case "pod": {
      const gone = s.type === "DELETED" || Boolean(s.object.metadata.deletionTimestamp);
      return { ...seen, pods: upsert(seen.pods, s.type, s.object), podGoneAt: gone ? s.at : seen.podGoneAt };
    }
    case "event":
      if (s.type === "DELETED" || !s.object.involvedObject.name?.startsWith(eventPrefix)) return seen;
      return { ...seen, events: [...seen.events, s.object].slice(-EVENTS_KEPT) };
    case "relist":
      return s.of === "pod" ? { ...seen, pods: [] } : { ...seen, replicaSets: [] };
    case "nodes":
      return { ...seen, nodes: s.nodes, nodesRead: true };
    case "log":
      return { ...seen, logs: [...seen.logs, s.line] };
  }
}

export interface Progress extends Readiness {
  kind: "progress";
  diagnosis?: Diagnosis;
  /** for the timeout's message: "1/2 ready", "0/1 groups ready" */
  summary: string;
  /** what keeps it from ready, for the timeout's message */
  why?: string;
  /** the line to show; undefined: keep the last one (a replica is ready, the counts follow in a moment) */
  line?: string;
  /** a replica's start under way: its line may be held back while its phase does not change */
  starting?: StartupReport;
  /** the counts the line starts with */
  counts: string;
  /** the replica whose start is followed */
  watched?: Pod;
}

export type View =
  | { kind: "absent"; line: string }
  | { kind: "nodes"; watched?: Pod }
  | (Readiness & { kind: "done"; line: string; watched?: Pod })
  | Progress;

/** A pure viewer: what the watch has seen, what it carried from its last look (M), the time → a view and what to carry on. */
export interface Viewer<W, M> {
  /** the line before the workload is seen */
  waiting: string;
  /** "ready" / "groups ready": the word after the counts */
  unit: string;
  /** the first events' names start with this (the app's pods) */
  eventPrefix: string;
  memo: M;
  look(seen: Seen<W>, memo: M, now: number): { view: View; memo: M };
}

/** Which progress lines are shown: a replica's start only when its phase changes (or, without a terminal, every 30 s). */
export class ProgressLines {
  private readonly gate: ProgressGate;
  private last = "";
  constructor(interactive: boolean) {
    this.gate = new ProgressGate(interactive);
  }

  next(view: Progress, now: number): string | undefined {
    if (view.line === undefined) return undefined;
    if (view.starting && !this.gate.pass(view.starting, now) && this.last.startsWith(`${view.counts} — `))
      return undefined;
    this.last = view.line;
    return view.line;
  }
}

/** Rollout complete, as `kubectl rollout status` decides; else the ready count so far. */
export function rolloutState(dep: Deployment): Readiness & { done: boolean } {
  const desired = dep.spec?.replicas ?? 1;
  const s = dep.status ?? {};
  const done =
    (s.observedGeneration ?? 0) >= (dep.metadata.generation ?? 0) &&
    (s.updatedReplicas ?? 0) >= desired &&
    (s.replicas ?? 0) <= (s.updatedReplicas ?? 0) &&
    (s.availableReplicas ?? 0) >= (s.updatedReplicas ?? 0);
  return { ready: Math.min(s.readyReplicas ?? 0, desired), desired, done };
}

/** What the Deployment's viewer carries: the replica it follows, and since when a quota refusal stands (0: none). */
export interface DeploymentMemo {
  watched?: Pod;
  quotaRefusedSince: number;
}

/**
 * A Deployment: done when the rollout is complete; else the current revision's pods diagnosed, a refusal
 * of its ReplicaSet (a ResourceQuota's final only once it stood QUOTA_SETTLE_MS, as a rollout's old pod
 * may go away before its deletion is seen here and the quota counts it out a few seconds later), and the
 * first replica's start phase by phase.
 */
export function deploymentViewer(app: string, namespace: string): Viewer<Deployment, DeploymentMemo> {
  return {
    waiting: `${app}: waiting for the rollout`,
    unit: "ready",
    eventPrefix: `${app}-`,
    memo: { quotaRefusedSince: 0 },
    look(seen, memo, now) {
      const dep = seen.workload;
      if (!dep) return { view: { kind: "absent", line: `${app}: waiting for the Deployment` }, memo };
      const state = rolloutState(dep);
      const mine = currentPods(dep, seen.replicaSets, seen.pods);
      const watched =
        [...mine]
          .filter((p) => !p.metadata.deletionTimestamp)
          .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))[0] ?? memo.watched;
      if (state.done)
        return {
          view: { kind: "done", ...state, line: `${app}: ${state.ready}/${state.desired} ready`, watched },
          memo: { ...memo, watched },
        };
      if (isUnschedulable(mine) && !seen.nodesRead)
        return { view: { kind: "nodes", watched }, memo: { ...memo, watched } };
      const quotaRefusal = replicaFailure(dep, seen.replicaSets, namespace, true)?.reason.includes("(ResourceQuota");
      const quotaRefusedSince = !quotaRefusal ? 0 : memo.quotaRefusedSince || now;
      const settling =
        now - seen.podGoneAt < QUOTA_SETTLE_MS || (quotaRefusal && now - quotaRefusedSince < QUOTA_SETTLE_MS);
      const refused = replicaFailure(dep, seen.replicaSets, namespace, settling);
      const diagnosis = refused?.fatal ? refused : (diagnosePods(mine, seen.events, seen.nodes) ?? refused);
      const report = watched ? startupOf(watched, seen.events, seen.logs, now) : undefined;
      // once the replica's start is under way, its phase says more than "loading the model"
      const starting =
        report && report.phase !== "ready" && !isUnschedulable(mine) && !diagnosis?.fatal ? report : undefined;
      const counts = `${app}: ${state.ready}/${state.desired} ready`;
      const line = starting
        ? `${counts} — ${watched!.metadata.name}: ${describeCurrent(starting)}, ${Math.round(starting.elapsedSeconds)} s in all`
        : report?.phase === "ready" && !diagnosis
          ? undefined
          : `${counts}${diagnosis ? ` — ${diagnosis.reason}` : ""}`;
      const why = starting ? `${watched!.metadata.name}: ${describeCurrent(starting)}` : diagnosis?.reason;
      const view: Progress = {
        kind: "progress",
        ...state,
        diagnosis,
        summary: `${state.ready}/${state.desired} ready`,
        why,
        line,
        starting,
        counts,
        watched,
      };
      return { view, memo: { watched, quotaRefusedSince } };
    },
  };
}

/** A LeaderWorkerSet: done when as many groups as desired are ready; a fatal reason of any pod, named by role and rank, stops the wait. */
export function leaderWorkerSetViewer(app: string): Viewer<LeaderWorkerSet, null> {
  const lwsName = leaderWorkerSetName(app);
  return {
    waiting: `${app}: waiting for the groups of ${lwsName}`,
    unit: "groups ready",
    eventPrefix: `${lwsName}-`,
    memo: null,
    look(seen, memo) {
      const lws = seen.workload;
      if (!lws) return { view: { kind: "absent", line: `${app}: waiting for LeaderWorkerSet ${lwsName}` }, memo };
      const g = groupState(lws, seen.pods);
      const state = { ready: g.ready, desired: g.desired };
      const counts = `${app}: ${state.ready}/${state.desired} groups ready`;
      if (g.done) return { view: { kind: "done", ...state, line: counts }, memo };
      if (isUnschedulable(g.pods) && !seen.nodesRead) return { view: { kind: "nodes" }, memo };
      const diagnosis = diagnoseGroups(lws, g.pods, seen.events, seen.nodes);
      const line = `${counts}${diagnosis ? ` — ${diagnosis.reason}` : ""}`;
      return {
        view: {
          kind: "progress",
          ...state,
          diagnosis,
          summary: `${state.ready}/${state.desired} groups ready`,
          why: diagnosis?.reason,
          line,
          counts,
        },
        memo,
      };
    },
  };
}
