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
import { describePhases, type StartupReport } from "../startup/phases.js";
import type { Spinner, Ui } from "../ui/output.js";
import type { KubeApi } from "./api.js";
import type { Diagnosis } from "./diagnose.js";
import type { Deployment, LeaderWorkerSet, Pod, ReplicaSet } from "./k8s-types.js";
import { lastLines, readNodes } from "./read.js";
import {
  deploymentViewer,
  emptySeen,
  leaderWorkerSetViewer,
  ProgressLines,
  rolloutState,
  see,
  type Progress,
  type Readiness,
  type Seeing,
  type Seen,
  type View,
  type Viewer,
  type WatchedEvent,
} from "./rollout.js";
import { podTimeline, startupOf, StartupWatch, type PodStart } from "./startup.js";

async function failureOf(api: KubeApi, app: string, namespace: string, d: Diagnosis): Promise<AppFailedError> {
  const lines = d.logsOf ? await lastLines(api, namespace, d.logsOf.pod, d.logsOf.container) : [];
  const tail = lines.length
    ? `\n  last log lines of ${d.logsOf!.pod}:\n${lines.map((l) => `    ${l}`).join("\n")}`
    : "";
  return new AppFailedError(`${app} failed: ${d.reason}${tail}`, d.hint);
}

export interface WaitOptions {
  app: string;
  namespace: string;
  timeoutSeconds: number;
  ui: Ui;
  /** everything the loop sees, as it sees it (test/fixtures/watch/record.ts records watch sequences with it) */
  tap?: (s: Seeing<unknown>) => void;
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
  const workload: Workload<LeaderWorkerSet> = {
    path: `/apis/leaderworkerset.x-k8s.io/v1/namespaces/${opts.namespace}/leaderworkersets`,
    name,
    what: `LeaderWorkerSet ${name}`,
    replicaSets: false,
  };
  const { ready, desired } = await watchUntilReady(api, opts, workload, leaderWorkerSetViewer(opts.app));
  return { ready, desired };
}

/** The one watch loop: feeds the watches to the viewer and acts on its view. */
async function watchUntilReady<W extends { metadata: { name: string; resourceVersion?: string } }, M>(
  api: KubeApi,
  opts: WaitOptions,
  workload: Workload<W>,
  viewer: Viewer<W, M>,
): Promise<Waited> {
  const spinner = await opts.ui.spinner(viewer.waiting);
  return new Promise<Waited>((resolve, reject) =>
    new ReadinessWatch(api, opts, workload, viewer, spinner, resolve, reject).start(),
  );
}

class ReadinessWatch<W extends { metadata: { name: string; resourceVersion?: string } }, M> {
  private readonly ac = new AbortController();
  private readonly startup: StartupWatch;
  private readonly lines: ProgressLines;
  private seen: Seen<W>;
  private memo: M;
  private last: Progress | undefined;
  private watched: Pod | undefined;
  private nodesAsked = false;
  private following = false;
  private settled = false;
  private failing = false;
  private ticker: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly onInterrupt = () =>
    this.finish(
      new InterruptedError(
        `interrupted: stopped waiting for ${this.opts.app}; what was applied stays (vllmapp status ${this.opts.app})`,
      ),
    );

  constructor(
    private readonly api: KubeApi,
    private readonly opts: WaitOptions,
    private readonly workload: Workload<W>,
    private readonly viewer: Viewer<W, M>,
    private readonly spinner: Spinner,
    private readonly resolve: (w: Waited) => void,
    private readonly reject: (e: Error) => void,
  ) {
    this.startup = new StartupWatch(api, opts.namespace, () => {
      const line = this.startup.logs.at(-1);
      if (line && opts.tap) opts.tap({ at: Date.now(), kind: "log", line });
      this.evaluate();
    });
    this.lines = new ProgressLines(opts.ui.interactive);
    this.seen = emptySeen<W>(this.startup.logs);
    this.memo = viewer.memo;
  }

  start(): void {
    const { app } = this.opts;
    // the time in the current phase moves on between events too
    this.ticker = setInterval(() => this.evaluate(), (this.opts.ui.interactive ? 1 : 30) * 1000);
    this.timer = setTimeout(() => {
      const why = this.last?.why;
      const message = `${app} is not ready after ${formatDuration(this.opts.timeoutSeconds)}: ${this.last?.summary ?? `0/0 ${this.viewer.unit}`}${why ? `; ${why}` : ""}`;
      this.finish(
        new ReadinessTimeoutError(
          message,
          this.last?.diagnosis?.hint ??
            `wait longer (--timeout), or look closer: vllmapp status ${app}; vllmapp logs ${app}`,
        ),
      );
    }, this.opts.timeoutSeconds * 1000);
    listenForInterrupt(this.onInterrupt);
    const { path, name, what, followUnless } = this.workload;
    if (!followUnless) this.follow();
    this.api
      .watch<W>(path, { fieldSelector: `metadata.name=${name}` }, this.ac.signal, `watch ${what}`, (e) => {
        if (followUnless && (e.type === "DELETED" || !followUnless(e.object))) this.follow();
        this.feed({ at: Date.now(), kind: "workload", ...e });
      })
      .catch((e) => this.finish(e));
  }

  /** The ReplicaSets, pods and events; for a Deployment only once its rollout is seen under way: 200 unchanged apps need not each replay the namespace's events. */
  private follow(): void {
    if (this.following) return;
    this.following = true;
    const { app, namespace } = this.opts;
    const selector = { labelSelector: `${LABEL_APP}=${app}` };
    const signal = this.ac.signal;
    const watches = [
      this.workload.replicaSets
        ? this.api.watch<ReplicaSet>(
            `/apis/apps/v1/namespaces/${namespace}/replicasets`,
            selector,
            signal,
            `watch the ReplicaSets of ${app}`,
            (e) => this.feed({ at: Date.now(), kind: "replicaset", ...e }),
            () => this.feed({ at: Date.now(), kind: "relist", of: "replicaset" }),
          )
        : undefined,
      this.api.watch<Pod>(
        `/api/v1/namespaces/${namespace}/pods`,
        selector,
        signal,
        `watch the pods of ${app}`,
        (e) => this.feed({ at: Date.now(), kind: "pod", ...e }),
        () => this.feed({ at: Date.now(), kind: "relist", of: "pod" }),
      ),
      this.api.watch<WatchedEvent & { metadata: { resourceVersion?: string } }>(
        `/api/v1/namespaces/${namespace}/events`,
        { fieldSelector: "involvedObject.kind=Pod" },
        signal,
        `watch the events of ${app}`,
        (e) => this.feed({ at: Date.now(), kind: "event", ...e }),
      ),
    ];
    for (const w of watches) w?.catch((e) => this.finish(e));
  }

  private feed(s: Seeing<W>): void {
    this.opts.tap?.(s);
    const next = see(this.seen, s, this.viewer.eventPrefix);
    if (next === this.seen) return;
    this.seen = next;
    // a relist clears what it replaces: the objects it brings are looked at as they come
    if (s.kind !== "relist") this.evaluate();
  }

  private evaluate(): void {
    if (this.settled || this.failing) return;
    const { view, memo } = this.viewer.look(this.seen, this.memo, Date.now());
    this.memo = memo;
    if (view.kind !== "absent" && view.watched) this.watched = view.watched;
    this.act(view);
  }

  private act(view: View): void {
    if (view.kind === "absent") return this.spinner.update(view.line);
    if (view.kind === "done") return this.finish(undefined, view);
    if (view.kind === "nodes") {
      if (this.nodesAsked) return;
      this.nodesAsked = true;
      readNodes(this.api).then(
        (nodes) => this.feed({ at: Date.now(), kind: "nodes", nodes }),
        (e) => this.finish(e),
      );
      return;
    }
    this.last = view;
    if (view.diagnosis?.fatal) {
      this.failing = true;
      failureOf(this.api, this.opts.app, this.opts.namespace, view.diagnosis).then(
        (e) => this.finish(e),
        (e) => this.finish(e),
      );
      return;
    }
    if (this.watched) this.startup.follow(this.watched);
    const line = this.lines.next(view, Date.now());
    if (line !== undefined) this.spinner.update(line);
  }

  private finish(err: Error | undefined, done?: Readiness): void {
    if (this.settled) return;
    this.settled = true;
    this.ac.abort();
    this.startup.abort();
    clearTimeout(this.timer);
    clearInterval(this.ticker);
    stopListeningForInterrupt(this.onInterrupt);
    if (err) {
      this.spinner.stop();
      return this.reject(err);
    }
    const { app, namespace } = this.opts;
    const watched = this.watched;
    const report = (watched ? startupOf(watched, this.seen.events, this.startup.logs, Date.now()) : undefined) ?? null;
    this.spinner.succeed(`${app}: ${done!.ready}/${done!.desired} ${this.viewer.unit}`);
    if (report) this.opts.ui.info(`${app} startup (${watched!.metadata.name}): ${describePhases(report)}`);
    // a rollout that changed nothing has no start of its own to record; the pod is read once more, as
    // the Deployment's last event may come before the pod's Ready one
    const pod =
      watched && this.following
        ? this.api
            .get<Pod>(
              `/api/v1/namespaces/${namespace}/pods/${watched.metadata.name}`,
              `read pod ${watched.metadata.name}`,
            )
            .then(
              (p) => p ?? watched,
              () => watched,
            )
        : Promise.resolve(undefined);
    void pod.then((p) =>
      this.resolve({
        ready: done!.ready,
        desired: done!.desired,
        startup: report,
        start: p ? podTimeline(p, this.seen.events, this.startup.logs, Date.now()) : undefined,
      }),
    );
  }
}
