/**
 * Waiting for an app's rollout by watching its Deployment, ReplicaSets, pods and the pods' events:
 * progress as `1/2 ready` with the current reason or the first replica's start phase (startup.ts: pull,
 * download, the server's log lines), done when the rollout is complete (as kubectl rollout status
 * decides), and a stop with a diagnosis as soon as it cannot succeed (exit 6: a pod's fatal state, or the
 * ReplicaSet refused pods by the namespace's rules), at the timeout (exit 5),
 * or on Ctrl-C (exit 130, the cluster stays as applied).
 */
import { formatDuration } from "../config/units.js";
import { AppFailedError, InterruptedError, ReadinessTimeoutError } from "../errors.js";
import { listenForInterrupt, stopListeningForInterrupt } from "../interrupt.js";
import { LABEL_APP } from "../render/labels.js";
import type { Ui } from "../ui/output.js";
import type { KObject, KubeApi, WatchEvent } from "./api.js";
import { currentPods, diagnosePods, isUnschedulable, replicaFailure, type Diagnosis, type KEvent } from "./diagnose.js";
import { ApiError } from "./errors.js";
import { lastLines } from "./logs.js";
import { diagnoseGroups, groupState } from "./groups.js";
import { leaderWorkerSetName } from "../render/parallelism.js";
import { describeCurrent, describePhases, ProgressGate, type StartupReport } from "../startup/phases.js";
import { podTimeline, startupOf, StartupWatch, type PodStart } from "./startup.js";

/** A quota refusal within this long of a pod of the app going away is a rollout's, and passes. */
const QUOTA_SETTLE_MS = 20_000;

export interface Readiness {
  ready: number;
  desired: number;
}

type Dep = KObject & { spec?: any; status?: any };

/** Rollout complete, as `kubectl rollout status` decides; else the ready count so far. */
export function rolloutState(dep: Dep): Readiness & { done: boolean } {
  const desired = dep.spec?.replicas ?? 1;
  const s = dep.status ?? {};
  const done =
    (s.observedGeneration ?? 0) >= (dep.metadata.generation ?? 0) &&
    (s.updatedReplicas ?? 0) >= desired &&
    (s.replicas ?? 0) <= (s.updatedReplicas ?? 0) &&
    (s.availableReplicas ?? 0) >= (s.updatedReplicas ?? 0);
  return { ready: Math.min(s.readyReplicas ?? 0, desired), desired, done };
}

/** The nodes, to sharpen an unschedulable diagnosis; undefined when the user may not list them. */
export async function readNodes(api: KubeApi): Promise<KObject[] | undefined> {
  try {
    return (await api.request<{ items: KObject[] }>("GET", "/api/v1/nodes", { what: "list nodes" })).items;
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return undefined;
    throw e;
  }
}

export async function failureOf(api: KubeApi, app: string, namespace: string, d: Diagnosis): Promise<AppFailedError> {
  const lines = d.logsOf ? await lastLines(api, namespace, d.logsOf.pod, d.logsOf.container) : [];
  const tail = lines.length ? `\n  last log lines of ${d.logsOf!.pod}:\n${lines.map((l) => `    ${l}`).join("\n")}` : "";
  return new AppFailedError(`${app} failed: ${d.reason}${tail}`, d.hint);
}

export async function waitForApp(api: KubeApi, opts: { app: string; namespace: string; timeoutSeconds: number; ui: Ui }): Promise<Readiness & { startup: StartupReport | null; start: PodStart | undefined }> {
  const { app, namespace, ui } = opts;
  const spinner = await ui.spinner(`${app}: waiting for the rollout`);
  const ac = new AbortController();
  let dep: Dep | undefined;
  const replicaSets = new Map<string, KObject>();
  const pods = new Map<string, KObject>();
  const events: KEvent[] = [];
  let nodes: KObject[] | undefined;
  let nodesState: "unread" | "reading" | "read" = "unread";
  let last: { state: Readiness; diagnosis?: Diagnosis; why?: string } = { state: { ready: 0, desired: 0 } };
  // when a pod of the app last went away: its quota is freed some seconds later (a rollout's old pod)
  let podGoneAt = 0;
  // when the current ReplicaSet's pods were first seen refused by a ResourceQuota (0: they are not)
  let quotaRefusedSince = 0;
  // the first replica of the current revision: its start, phase by phase
  let watched: (KObject & { status?: any }) | undefined;
  let onLogLine = () => {};
  const startup = new StartupWatch(api, namespace, () => onLogLine());
  const step = ui.interactive ? 1 : 30;
  const gate = new ProgressGate(ui.interactive);
  let lastText = "";
  const startupNow = () => (watched ? startupOf(watched, events, startup.logs, Date.now()) : undefined);

  return new Promise<Readiness & { startup: StartupReport | null; start: PodStart | undefined }>((resolve, reject) => {
    let settled = false;
    let failing = false;
    const finish = (err: Error | undefined, value?: Readiness) => {
      if (settled) return;
      settled = true;
      ac.abort();
      startup.abort();
      clearTimeout(timer);
      clearInterval(ticker);
      stopListeningForInterrupt(onInterrupt);
      if (err) {
        spinner.stop();
        reject(err);
      } else {
        const report = startupNow() ?? null;
        spinner.succeed(`${app}: ${value!.ready}/${value!.desired} ready`);
        if (report) ui.info(`${app} startup (${watched!.metadata.name}): ${describePhases(report)}`);
        // a rollout that changed nothing has no start of its own to record; the pod is read once more, as
        // the Deployment's last event may come before the pod's Ready one
        const pod = watched && following ? api.get<KObject & { status?: any }>(`/api/v1/namespaces/${namespace}/pods/${watched.metadata.name}`, `read pod ${watched.metadata.name}`).then((p) => p ?? watched, () => watched) : Promise.resolve(undefined);
        void pod.then((p) => resolve({ ...value!, startup: report, start: p ? podTimeline(p, events, startup.logs, Date.now()) : undefined }));
      }
    };
    // the time in the current phase moves on between events too
    const ticker = setInterval(() => evaluate(), step * 1000);
    onLogLine = () => evaluate();
    const timer = setTimeout(() => {
      const d = last.diagnosis;
      finish(
        new ReadinessTimeoutError(
          `${app} is not ready after ${formatDuration(opts.timeoutSeconds)}: ${last.state.ready}/${last.state.desired} ready${last.why ? `; ${last.why}` : ""}`,
          d?.hint ?? `wait longer (--timeout), or look closer: vllmapp status ${app}; vllmapp logs ${app}`,
        ),
      );
    }, opts.timeoutSeconds * 1000);
    const onInterrupt = () => finish(new InterruptedError(`interrupted: stopped waiting for ${app}; what was applied stays (vllmapp status ${app})`));
    listenForInterrupt(onInterrupt);

    const evaluate = () => {
      if (settled || failing) return;
      if (!dep) return spinner.update(`${app}: waiting for the Deployment`);
      const state = rolloutState(dep);
      const mine = currentPods(dep, [...replicaSets.values()], [...pods.values()]);
      watched = [...mine].filter((p) => !p.metadata.deletionTimestamp).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))[0] ?? watched;
      if (state.done) return finish(undefined, state);
      if (isUnschedulable(mine) && nodesState !== "read") {
        if (nodesState === "unread") {
          nodesState = "reading";
          readNodes(api).then((n) => {
            nodes = n;
            nodesState = "read";
            evaluate();
          }, (e) => finish(e));
        }
        return;
      }
      // a ResourceQuota refusal is final only once it has stood QUOTA_SETTLE_MS: a rollout's old pod may go
      // away before its deletion is seen here, and the quota counts it out a few seconds later
      const quotaRefusal = replicaFailure(dep, [...replicaSets.values()], namespace, true)?.reason.includes("(ResourceQuota");
      if (!quotaRefusal) quotaRefusedSince = 0;
      else quotaRefusedSince ||= Date.now();
      const settling = Date.now() - podGoneAt < QUOTA_SETTLE_MS || (quotaRefusal && Date.now() - quotaRefusedSince < QUOTA_SETTLE_MS);
      const refused = replicaFailure(dep, [...replicaSets.values()], namespace, settling);
      const diagnosis = refused?.fatal ? refused : (diagnosePods(mine, events, nodes) ?? refused);
      if (watched) startup.follow(watched);
      const report = startupNow();
      // once the replica's start is under way, its phase says more than "loading the model"
      const starting = report && report.phase !== "ready" && !isUnschedulable(mine) && !diagnosis?.fatal ? report : undefined;
      last = { state, diagnosis, why: starting ? `${watched!.metadata.name}: ${describeCurrent(starting)}` : diagnosis?.reason };
      if (diagnosis?.fatal) {
        failing = true;
        failureOf(api, app, namespace, diagnosis).then(finish, finish);
        return;
      }
      const counts = `${app}: ${state.ready}/${state.desired} ready`;
      if (starting) {
        // without a terminal: a line when the phase changes (or the counts do), else every 30 s
        if (!gate.pass(starting, Date.now()) && lastText.startsWith(`${counts} — `)) return;
        lastText = `${counts} — ${watched!.metadata.name}: ${describeCurrent(starting)}, ${Math.round(starting.elapsedSeconds)} s in all`;
      } else if (report?.phase === "ready" && !diagnosis) {
        return; // the replica is ready; the Deployment's counts follow in a moment
      } else lastText = `${counts}${diagnosis ? ` — ${diagnosis.reason}` : ""}`;
      spinner.update(lastText);
    };
    const keep = (map: Map<string, KObject>) => (e: WatchEvent) => {
      if (e.type === "DELETED") map.delete(e.object.metadata.uid!);
      else map.set(e.object.metadata.uid!, e.object);
      evaluate();
    };
    const selector = { labelSelector: `${LABEL_APP}=${app}` };
    // the ReplicaSets, pods and events only once the rollout is seen to be under way: an unchanged app's
    // Deployment is complete at its first event, and 200 such apps need not each replay the namespace's events
    let following = false;
    const follow = () => {
      if (following) return;
      following = true;
      const watches = [
        api.watch(`/apis/apps/v1/namespaces/${namespace}/replicasets`, selector, ac.signal, `watch the ReplicaSets of ${app}`, keep(replicaSets), () => replicaSets.clear()),
        api.watch(`/api/v1/namespaces/${namespace}/pods`, selector, ac.signal, `watch the pods of ${app}`, (e) => {
          if (e.type === "DELETED" || e.object.metadata.deletionTimestamp) podGoneAt = Date.now();
          keep(pods)(e);
        }, () => pods.clear()),
        api.watch<KObject & KEvent>(`/api/v1/namespaces/${namespace}/events`, { fieldSelector: "involvedObject.kind=Pod" }, ac.signal, `watch the events of ${app}`, (e) => {
          if (e.type === "DELETED" || !e.object.involvedObject.name?.startsWith(`${app}-`)) return;
          events.push(e.object);
          if (events.length > 500) events.splice(0, events.length - 500);
          evaluate();
        }),
      ];
      for (const w of watches) w.catch((e) => finish(e));
    };
    api
      .watch<Dep>(`/apis/apps/v1/namespaces/${namespace}/deployments`, { fieldSelector: `metadata.name=${app}` }, ac.signal, `watch Deployment ${app}`, (e) => {
        dep = e.type === "DELETED" ? undefined : e.object;
        if (!dep || !rolloutState(dep).done) follow();
        evaluate();
      })
      .catch((e) => finish(e));
  });
}

/**
 * Waiting for a multi-node app: its LeaderWorkerSet and the pods of its groups, watched. Done when as many
 * groups as desired are ready (leader Ready, every worker running); a fatal reason of any pod (named by
 * role and rank) stops the wait as for a Deployment.
 */
export async function waitForGroups(api: KubeApi, opts: { app: string; namespace: string; timeoutSeconds: number; ui: Ui }): Promise<Readiness> {
  const { app, namespace, ui } = opts;
  const lwsName = leaderWorkerSetName(app);
  const spinner = await ui.spinner(`${app}: waiting for the groups of ${lwsName}`);
  const ac = new AbortController();
  let lws: Dep | undefined;
  const pods = new Map<string, KObject>();
  const events: KEvent[] = [];
  let nodes: KObject[] | undefined;
  let nodesState: "unread" | "reading" | "read" = "unread";
  let last: { state: Readiness; diagnosis?: Diagnosis } = { state: { ready: 0, desired: 0 } };
  return new Promise<Readiness>((resolve, reject) => {
    let settled = false;
    let failing = false;
    const finish = (err: Error | undefined, value?: Readiness) => {
      if (settled) return;
      settled = true;
      ac.abort();
      clearTimeout(timer);
      stopListeningForInterrupt(onInterrupt);
      if (err) {
        spinner.stop();
        reject(err);
      } else {
        spinner.succeed(`${app}: ${value!.ready}/${value!.desired} groups ready`);
        resolve(value!);
      }
    };
    const timer = setTimeout(() => {
      const d = last.diagnosis;
      finish(new ReadinessTimeoutError(`${app} is not ready after ${formatDuration(opts.timeoutSeconds)}: ${last.state.ready}/${last.state.desired} groups ready${d ? `; ${d.reason}` : ""}`, d?.hint ?? `wait longer (--timeout), or look closer: vllmapp status ${app}; vllmapp logs ${app}`));
    }, opts.timeoutSeconds * 1000);
    const onInterrupt = () => finish(new InterruptedError(`interrupted: stopped waiting for ${app}; what was applied stays (vllmapp status ${app})`));
    listenForInterrupt(onInterrupt);
    const evaluate = () => {
      if (settled || failing) return;
      if (!lws) return spinner.update(`${app}: waiting for LeaderWorkerSet ${lwsName}`);
      const g = groupState(lws, [...pods.values()]);
      const state = { ready: g.ready, desired: g.desired };
      if (g.done) return finish(undefined, state);
      if (isUnschedulable(g.pods) && nodesState !== "read") {
        if (nodesState === "unread") {
          nodesState = "reading";
          readNodes(api).then((n) => {
            nodes = n;
            nodesState = "read";
            evaluate();
          }, (e) => finish(e));
        }
        return;
      }
      const diagnosis = diagnoseGroups(lws, g.pods, events, nodes);
      last = { state, diagnosis };
      if (diagnosis?.fatal) {
        failing = true;
        failureOf(api, app, namespace, diagnosis).then(finish, finish);
        return;
      }
      spinner.update(`${app}: ${state.ready}/${state.desired} groups ready${diagnosis ? ` — ${diagnosis.reason}` : ""}`);
    };
    const watches = [
      api.watch<Dep>(`/apis/leaderworkerset.x-k8s.io/v1/namespaces/${namespace}/leaderworkersets`, { fieldSelector: `metadata.name=${lwsName}` }, ac.signal, `watch LeaderWorkerSet ${lwsName}`, (e) => {
        lws = e.type === "DELETED" ? undefined : e.object;
        evaluate();
      }),
      api.watch(`/api/v1/namespaces/${namespace}/pods`, { labelSelector: `${LABEL_APP}=${app}` }, ac.signal, `watch the pods of ${app}`, (e: WatchEvent) => {
        if (e.type === "DELETED") pods.delete(e.object.metadata.uid!);
        else pods.set(e.object.metadata.uid!, e.object);
        evaluate();
      }, () => pods.clear()),
      api.watch<KObject & KEvent>(`/api/v1/namespaces/${namespace}/events`, { fieldSelector: "involvedObject.kind=Pod" }, ac.signal, `watch the events of ${app}`, (e) => {
        if (e.type === "DELETED" || !e.object.involvedObject.name?.startsWith(`${lwsName}-`)) return;
        events.push(e.object);
        if (events.length > 500) events.splice(0, events.length - 500);
        evaluate();
      }),
    ];
    for (const w of watches) w.catch((e) => finish(e));
  });
}
