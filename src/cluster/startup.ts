/**
 * A replica's start, phase by phase (src/startup/phases.ts), on Kubernetes: the image pull from the
 * pod's events, the model download from the model-download init container, the server's own log lines
 * (read with timestamps), and Ready from the pod's condition. startupOf is pure; StartupWatch follows
 * one pod's logs while deploy waits; readPodStartup reads it once for `status`.
 */
import { splitTimestamp, StartupTracker, type StartupReport } from "../startup/phases.js";
import {
  buildTimeline,
  downloadedBytes,
  parsePulled,
  weightBytes,
  type Pull,
  type StartFacts,
  type TimelineEntry,
} from "../startup/timeline.js";
import type { KubeApi } from "./api.js";
import { ApiError } from "./errors.js";
import type { ContainerStatus, Pod } from "./k8s-types.js";

/** An event as the API serves it, with the times the pull phase needs. */
export interface TimedEvent {
  involvedObject: { kind?: string; name?: string; uid?: string; fieldPath?: string };
  reason?: string;
  message?: string;
  eventTime?: string | null;
  firstTimestamp?: string | null;
  lastTimestamp?: string | null;
  metadata?: { creationTimestamp?: string };
}

export interface LogRecord {
  container: string;
  /** the raw line, "TIMESTAMP text" */
  raw: string;
}

const SERVER = "vllm";
const DOWNLOAD = "model-download";

const t = (s: string | null | undefined) => (s ? Date.parse(s) : NaN);
const timeOfEvent = (e: TimedEvent) =>
  [t(e.eventTime), t(e.firstTimestamp), t(e.lastTimestamp), t(e.metadata?.creationTimestamp)].find(
    (x) => !Number.isNaN(x),
  );

function stateStart(s: ContainerStatus | undefined): number | undefined {
  const at = t(s?.state?.running?.startedAt ?? s?.state?.terminated?.startedAt);
  return Number.isNaN(at) ? undefined : at;
}

/** The start of one pod's server so far. undefined while the server container has not started and nothing else is known. */
export function startupOf(
  pod: Pod,
  events: readonly TimedEvent[],
  logs: readonly LogRecord[],
  now: number,
): StartupReport | undefined {
  const main = (pod.status?.containerStatuses ?? []).find((s) => s.name === SERVER);
  const download = (pod.status?.initContainerStatuses ?? []).find((s) => s.name === DOWNLOAD);
  const mine = events.filter(
    (e) =>
      e.involvedObject.name === pod.metadata.name &&
      (!e.involvedObject.uid || e.involvedObject.uid === pod.metadata.uid),
  );
  const pulls = mine.filter(
    (e) =>
      e.reason === "Pulling" && /spec\.containers\{vllm\}/.test(e.involvedObject.fieldPath ?? "spec.containers{vllm}"),
  );
  const mainStart = stateStart(main);
  const downloadStart = stateStart(download);
  if (mainStart === undefined && downloadStart === undefined && !pulls.length) return undefined;
  // until the server runs, the phases run up to now from the pull or the download
  const tracker = new StartupTracker(mainStart ?? now);
  const pullAt = pulls
    .map(timeOfEvent)
    .filter((x): x is number => x !== undefined)
    .sort((a, b) => a - b)[0];
  if (pullAt !== undefined) tracker.mark("pulling", pullAt);
  if (downloadStart !== undefined) {
    tracker.mark("downloading", downloadStart);
    for (const l of logs.filter((x) => x.container === DOWNLOAD)) tracker.rawLine(l.raw, now);
  }
  for (const l of logs.filter((x) => x.container === SERVER)) tracker.rawLine(l.raw, now);
  const ready = (pod.status?.conditions ?? []).find((c) => c.type === "Ready" && c.status === "True");
  if (ready && mainStart !== undefined) tracker.mark("ready", Math.max(mainStart, t(ready.lastTransitionTime) || now));
  return tracker.report(now);
}

/**
 * Follows the logs of one pod's download and server containers (timestamps on) while deploy waits, so
 * startupOf can say where the start is. Streams begin when a container runs; abort() ends them.
 */
export class StartupWatch {
  readonly logs: LogRecord[] = [];
  private readonly streamed = new Set<string>();
  private pod: string | undefined;
  private readonly ac = new AbortController();

  constructor(
    private readonly api: KubeApi,
    private readonly namespace: string,
    private readonly onLine: () => void,
  ) {}

  /** Look at the pod (the first of the current revision): start the streams its running containers need. */
  follow(pod: Pod): void {
    if (this.pod !== pod.metadata.name) {
      this.pod = pod.metadata.name;
      this.logs.length = 0;
      this.streamed.clear();
    }
    const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].filter(
      (s) => s.name === SERVER || s.name === DOWNLOAD,
    );
    for (const s of statuses) {
      if (!s.state?.running && !s.state?.terminated) continue;
      const key = `${pod.metadata.name}/${s.name}#${s.restartCount ?? 0}`;
      if (this.streamed.has(key)) continue;
      this.streamed.add(key);
      const path = `/api/v1/namespaces/${this.namespace}/pods/${pod.metadata.name}/log`;
      this.api
        .lines(
          path,
          {
            query: { container: s.name, follow: Boolean(s.state?.running), timestamps: true },
            signal: this.ac.signal,
            what: `read the log of ${pod.metadata.name}`,
          },
          (raw) => {
            if (this.pod !== pod.metadata.name) return;
            this.logs.push({ container: s.name, raw });
            if (this.logs.length > 5000) this.logs.splice(0, this.logs.length - 5000);
            this.onLine();
          },
        )
        // a log that cannot be read (yet), or whose stream broke, only leaves the phases less precise
        // until it is read again, from its start
        .catch(() => {
          this.streamed.delete(key);
          for (let i = this.logs.length - 1; i >= 0; i--)
            if (this.logs[i]!.container === s.name) this.logs.splice(i, 1);
        });
    }
  }

  abort(): void {
    this.ac.abort();
  }
}

/** The start of a pod's server as `status` shows it, and its timeline: its log read once (the first MiB, where the start is). */
export async function readPodStartup(
  api: KubeApi,
  pod: Pod,
  events: readonly TimedEvent[],
): Promise<{ report: StartupReport | null; start: PodStart | undefined }> {
  const logs: LogRecord[] = [];
  const read = async (container: string) => {
    try {
      await api.lines(
        `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/log`,
        { query: { container, timestamps: true, limitBytes: 1 << 20 }, what: `read the log of ${pod.metadata.name}` },
        (raw) => {
          logs.push({ container, raw });
        },
      );
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
    }
  };
  const has = (list: ContainerStatus[] | undefined, name: string) =>
    (list ?? []).some((s) => s.name === name && (s.state?.running || s.state?.terminated));
  await Promise.all([
    has(pod.status?.containerStatuses, SERVER) ? read(SERVER) : undefined,
    has(pod.status?.initContainerStatuses, DOWNLOAD) ? read(DOWNLOAD) : undefined,
  ]);
  const now = Date.now();
  return { report: startupOf(pod, events, logs, now) ?? null, start: podTimeline(pod, events, logs, now) };
}

/** A start as the timeline has it: its id, when it began, its entries, and the server's own seconds to ready. */
export interface PodStart {
  id: string;
  at: number;
  entries: TimelineEntry[];
  serverSeconds: number | null;
}

const PROVISIONING: Record<string, string> = { TriggeredScaleUp: "cluster-autoscaler", Nominated: "Karpenter" };

/**
 * The timeline of a pod's current start: scheduling (with the wait for a new node) from the PodScheduled
 * condition and the autoscalers' events, the image pulls from the kubelet's Pulled events, the model
 * download from its init container, and the server's phases from its log. A server container that was
 * restarted in place is a start of its own: only its process's phases then.
 */
export function podTimeline(
  pod: Pod,
  events: readonly TimedEvent[],
  logs: readonly LogRecord[],
  now: number,
): PodStart | undefined {
  const created = t(pod.metadata.creationTimestamp);
  if (Number.isNaN(created)) return undefined;
  const main = (pod.status?.containerStatuses ?? []).find((s) => s.name === SERVER);
  const restarts: number = main?.restartCount ?? 0;
  const mine = events.filter(
    (e) =>
      e.involvedObject.name === pod.metadata.name &&
      (!e.involvedObject.uid || e.involvedObject.uid === pod.metadata.uid),
  );
  const at = (e: TimedEvent) => timeOfEvent(e) ?? now;
  const mainStart = stateStart(main);
  const serverLines = logs.filter((l) => l.container === SERVER);
  const server = new StartupTracker(mainStart ?? now);
  if (mainStart !== undefined) for (const l of serverLines) server.rawLine(l.raw, now);
  const readyCond = (pod.status?.conditions ?? []).find((c) => c.type === "Ready" && c.status === "True");
  const readyAt =
    readyCond && mainStart !== undefined ? Math.max(mainStart, t(readyCond.lastTransitionTime) || now) : undefined;
  if (readyAt !== undefined) server.mark("ready", readyAt);
  const facts: StartFacts = {
    createdAt: restarts > 0 && mainStart !== undefined ? mainStart : created,
    pulls: [],
    weightBytes: weightBytes(serverLines.map((l) => splitTimestamp(l.raw)?.[1] ?? l.raw)),
    ...(mainStart !== undefined ? { server: server.report(readyAt ?? now), serverStartedAt: mainStart } : {}),
    ...(readyAt !== undefined ? { readyAt } : {}),
  };
  if (restarts === 0) {
    const scheduled = (pod.status?.conditions ?? []).find((c) => c.type === "PodScheduled" && c.status === "True");
    if (scheduled) facts.scheduledAt = t(scheduled.lastTransitionTime) || undefined;
    const prov = mine.filter((e) => e.reason && PROVISIONING[e.reason]).sort((a, b) => at(a) - at(b))[0];
    if (prov)
      facts.provisioning = {
        at: at(prov),
        by: PROVISIONING[prov.reason!]!,
        message: (prov.message ?? prov.reason!).slice(0, 200),
      };
    const pulled = mine
      .filter((e) => e.reason === "Pulled")
      .map((e) => parsePulled(e.message ?? ""))
      .filter((p): p is Pull => typeof p === "object");
    facts.pulls = [...new Map(pulled.map((p) => [p.image, p])).values()];
    const pulling = mine
      .filter((e) => e.reason === "Pulling")
      .map(at)
      .sort((a, b) => a - b);
    const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
    // still pulling: a Pulling event, and a container still waiting to be created
    if (
      pulling.length > pulled.length &&
      statuses.some(
        (s) => s.state?.waiting?.reason === "ContainerCreating" || s.state?.waiting?.reason === "PodInitializing",
      )
    )
      facts.pulling = pulling.at(-1)!;
    const download = (pod.status?.initContainerStatuses ?? []).find((s) => s.name === DOWNLOAD);
    const dlStart = stateStart(download);
    if (dlStart !== undefined) {
      const end = t(download?.state?.terminated?.finishedAt);
      facts.download = {
        from: dlStart,
        ...(Number.isNaN(end) ? {} : { to: end }),
        bytes: downloadedBytes(logs.filter((l) => l.container === DOWNLOAD).map((l) => l.raw)),
      };
    }
  }
  const entries = buildTimeline(facts, now);
  return {
    id: `${pod.metadata.name}#${restarts}`,
    at: facts.createdAt,
    entries,
    serverSeconds:
      readyAt !== undefined && mainStart !== undefined ? Math.round((readyAt - mainStart) / 100) / 10 : null,
  };
}
