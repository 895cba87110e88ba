/**
 * Waiting for an app to be ready: ONE watch loop for every kind. It watches the workload (a Deployment
 * or a LeaderWorkerSet), its ReplicaSets, its pods and the pods' events, feeds what it sees to the kind's
 * pure viewer (rollout.ts), and acts on the view: a progress line (`1/2 ready` with the current reason or
 * the first replica's start phase: pull, download, the server's log lines), done, a stop with a diagnosis
 * as soon as it cannot succeed (exit 6: a pod's fatal state, or the ReplicaSet refused pods by the
 * namespace's rules), the timeout (exit 5), or Ctrl-C (exit 130, the cluster stays as applied). An API
 * server outage is ridden out inside the watches (api.ts).
 */
import { formatDuration } from "../config/units.js";
import { AppFailedError, InterruptedError, ReadinessTimeoutError } from "../errors.js";
import { listenForInterrupt, stopListeningForInterrupt } from "../interrupt.js";
import { LABEL_APP } from "../render/labels.js";
import { leaderWorkerSetName } from "../render/parallelism.js";
import { describePhases, ProgressGate, type StartupReport } from "../startup/phases.js";
import type { Ui } from "../ui/output.js";
import type { KubeApi } from "./api.js";
import type { Diagnosis } from "./diagnose.js";
import type { Deployment, LeaderWorkerSet, Pod, ReplicaSet } from "./k8s-types.js";
import { lastLines, readNodes } from "./read.js";
import { deploymentViewer, emptySeen, leaderWorkerSetViewer, rolloutState, see, type Progress, type Readiness, type Seeing, type Seen, type View, type Viewer, type WatchedEvent } from "./rollout.js";
import { podTimeline, startupOf, StartupWatch, type PodStart } from "./startup.js";

export type { Readiness } from "./rollout.js";

export async function failureOf(api: KubeApi, app: string, namespace: string, d: Diagnosis): Promise<AppFailedError> {
  const lines = d.logsOf ? await lastLines(api, namespace, d.logsOf.pod, d.logsOf.container) : [];
  const tail = lines.length ? `\n  last log lines of ${d.logsOf!.pod}:\n${lines.map((l) => `    ${l}`).join("\n")}` : "";
  return new AppFailedError(`${app} failed: ${d.reason}${tail}`, d.hint);
}

export interface WaitOptions {
  app: string;
  namespace: string;
  timeoutSeconds: number;
  ui: Ui;
}

/** Which workload a wait watches. */
interface Workload<W> {
  path: string;
  name: string;
  what: string;
  /** open the other watches only once the workload is seen not complete (an unchanged app's Deployment is complete at its first event) */
  followUnless?: (w: W) => boolean;
  replicaSets: boolean;
}

type Waited = Readiness & { startup: StartupReport | null; start: PodStart | undefined };

export async function waitForApp(api: KubeApi, opts: WaitOptions): Promise<Waited> {
  const workload: Workload<Deployment> = {
    path: `/apis/apps/v1/namespaces/${opts.namespace}/deployments`,
    name: opts.app,
    what: `Deployment ${opts.app}`,
    followUnless: (dep) => rolloutState(dep).done,
    replicaSets: true,
  };
  return watchUntilReady(api, opts, workload, deploymentViewer(opts.app, opts.namespace));
}

/** A multi-node app: its LeaderWorkerSet and the pods of its groups. */
export async function waitForGroups(api: KubeApi, opts: WaitOptions): Promise<Readiness> {
  const name = leaderWorkerSetName(opts.app);
  const workload: Workload<LeaderWorkerSet> = { path: `/apis/leaderworkerset.x-k8s.io/v1/namespaces/${opts.namespace}/leaderworkersets`, name, what: `LeaderWorkerSet ${name}`, replicaSets: false };
  const { ready, desired } = await watchUntilReady(api, opts, workload, leaderWorkerSetViewer(opts.app));
  return { ready, desired };
}

/** The one watch loop: feeds the watches to the viewer and acts on its view. */
async function watchUntilReady<W extends { metadata: { name: string; resourceVersion?: string } }, M>(api: KubeApi, opts: WaitOptions, workload: Workload<W>, viewer: Viewer<W, M>): Promise<Waited> {
  const { app, namespace, ui } = opts;
  const spinner = await ui.spinner(viewer.waiting);
  const ac = new AbortController();
  let onLogLine = () => {};
  const startup = new StartupWatch(api, namespace, () => onLogLine());
  let seen: Seen<W> = emptySeen<W>(startup.logs);
  let memo = viewer.memo;
  let last: Progress | undefined;
  let watched: Pod | undefined;
  let nodesAsked = false;
  let following = false;
  const gate = new ProgressGate(ui.interactive);
  let lastText = "";
  const startupNow = () => (watched ? startupOf(watched, seen.events, startup.logs, Date.now()) : undefined);

  return new Promise<Waited>((resolve, reject) => {
    let settled = false;
    let failing = false;
    const finish = (err: Error | undefined, done?: Readiness) => {
      if (settled) return;
      settled = true;
      ac.abort();
      startup.abort();
      clearTimeout(timer);
      clearInterval(ticker);
      stopListeningForInterrupt(onInterrupt);
      if (err) {
        spinner.stop();
        return reject(err);
      }
      const report = startupNow() ?? null;
      spinner.succeed(`${app}: ${done!.ready}/${done!.desired} ${viewer.unit}`);
      if (report) ui.info(`${app} startup (${watched!.metadata.name}): ${describePhases(report)}`);
      // a rollout that changed nothing has no start of its own to record; the pod is read once more, as
      // the Deployment's last event may come before the pod's Ready one
      const pod = watched && following ? api.get<Pod>(`/api/v1/namespaces/${namespace}/pods/${watched.metadata.name}`, `read pod ${watched.metadata.name}`).then((p) => p ?? watched, () => watched) : Promise.resolve(undefined);
      void pod.then((p) => resolve({ ready: done!.ready, desired: done!.desired, startup: report, start: p ? podTimeline(p, seen.events, startup.logs, Date.now()) : undefined }));
    };
    // the time in the current phase moves on between events too
    const ticker = setInterval(() => evaluate(), (ui.interactive ? 1 : 30) * 1000);
    onLogLine = () => evaluate();
    const timer = setTimeout(() => {
      const why = last?.why;
      const message = `${app} is not ready after ${formatDuration(opts.timeoutSeconds)}: ${last?.summary ?? `0/0 ${viewer.unit}`}${why ? `; ${why}` : ""}`;
      finish(new ReadinessTimeoutError(message, last?.diagnosis?.hint ?? `wait longer (--timeout), or look closer: vllmapp status ${app}; vllmapp logs ${app}`));
    }, opts.timeoutSeconds * 1000);
    const onInterrupt = () => finish(new InterruptedError(`interrupted: stopped waiting for ${app}; what was applied stays (vllmapp status ${app})`));
    listenForInterrupt(onInterrupt);

    const act = (view: View) => {
      if (view.kind === "absent") return spinner.update(view.line);
      if (view.kind === "done") return finish(undefined, view);
      if (view.kind === "nodes") {
        if (!nodesAsked) {
          nodesAsked = true;
          readNodes(api).then((nodes) => feed({ at: Date.now(), kind: "nodes", nodes }), (e) => finish(e));
        }
        return;
      }
      last = view;
      if (view.diagnosis?.fatal) {
        failing = true;
        failureOf(api, app, namespace, view.diagnosis).then(finish, finish);
        return;
      }
      if (watched) startup.follow(watched);
      if (view.line === undefined) return;
      // without a terminal: a line when the phase changes (or the counts do), else every 30 s
      if (view.starting && !gate.pass(view.starting, Date.now()) && lastText.startsWith(`${view.counts} — `)) return;
      lastText = view.line;
      spinner.update(lastText);
    };
    const evaluate = () => {
      if (settled || failing) return;
      const looked = viewer.look(seen, memo, Date.now());
      memo = looked.memo;
      if (looked.view.kind !== "absent" && looked.view.watched) watched = looked.view.watched;
      act(looked.view);
    };
    const feed = (s: Seeing<W>) => {
      const next = see(seen, s, viewer.eventPrefix);
      if (next === seen) return;
      seen = next;
      evaluate();
    };
    const selector = { labelSelector: `${LABEL_APP}=${app}` };
    const follow = () => {
      if (following) return;
      following = true;
      const watches = [
        workload.replicaSets
          ? api.watch<ReplicaSet>(`/apis/apps/v1/namespaces/${namespace}/replicasets`, selector, ac.signal, `watch the ReplicaSets of ${app}`, (e) => feed({ at: Date.now(), kind: "replicaset", ...e }), () => feed({ at: Date.now(), kind: "relist", of: "replicaset" }))
          : undefined,
        api.watch<Pod>(`/api/v1/namespaces/${namespace}/pods`, selector, ac.signal, `watch the pods of ${app}`, (e) => feed({ at: Date.now(), kind: "pod", ...e }), () => feed({ at: Date.now(), kind: "relist", of: "pod" })),
        api.watch<WatchedEvent & { metadata: { resourceVersion?: string } }>(`/api/v1/namespaces/${namespace}/events`, { fieldSelector: "involvedObject.kind=Pod" }, ac.signal, `watch the events of ${app}`, (e) => feed({ at: Date.now(), kind: "event", ...e })),
      ];
      for (const w of watches) w?.catch((e) => finish(e));
    };
    if (!workload.followUnless) follow();
    api
      .watch<W>(workload.path, { fieldSelector: `metadata.name=${workload.name}` }, ac.signal, `watch ${workload.what}`, (e) => {
        if (workload.followUnless && (e.type === "DELETED" || !workload.followUnless(e.object))) follow();
        feed({ at: Date.now(), kind: "workload", ...e });
      })
      .catch((e) => finish(e));
  });
}
