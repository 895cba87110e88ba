/**
 * Pod logs through the API server (/pods/NAME/log), streamed line by line: every replica, each line
 * handed to `write` as a LogLine (the command prints it); with --follow, replicas that start later and
 * restarted containers are picked up by watching the pods.
 */
import { setMaxListeners } from "node:events";
import { InterruptedError, UsageError } from "../errors.js";
import { listenForInterrupt, stopListeningForInterrupt } from "../interrupt.js";
import { LABEL_APP } from "../render/labels.js";
import { logLine, type LogLine, type LogsRequest } from "../target.js";
import type { Ui } from "../ui/output.js";
import type { KubeApi, Query } from "./api.js";
import { ApiError } from "./errors.js";
import { isGroupPod, LWS_LABEL_WORKER } from "./groups.js";
import type { Pod } from "./k8s-types.js";
import { logPath } from "./read.js";

const SERVER_CONTAINER = "vllm";

function containerOf(pod: Pod): string {
  const names = (pod.spec?.containers ?? []).map((c) => c.name);
  return names.includes(SERVER_CONTAINER) ? SERVER_CONTAINER : (names[0] ?? SERVER_CONTAINER);
}

export async function streamLogs(
  api: KubeApi,
  apps: { name: string; namespace: string }[],
  req: LogsRequest,
  ui: Ui,
  writeLine: (l: LogLine) => Promise<void>,
): Promise<void> {
  const { sinceSeconds } = req;
  const ac = new AbortController();
  // one abort for every replica's stream (and each app's pod watch): twenty replicas are not a leak
  setMaxListeners(Infinity, ac.signal);
  const write = (replica: string, raw: string) => writeLine(logLine(replica, raw, req.timestamps));
  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
    ac.abort();
  };
  listenForInterrupt(onInterrupt);
  const query = (first: boolean): Query => ({
    follow: req.follow,
    previous: req.previous,
    timestamps: req.timestamps,
    tailLines: first ? req.tail : undefined,
    sinceSeconds: sinceSeconds === undefined ? undefined : Math.max(1, Math.ceil(sinceSeconds)),
  });
  const stream = async (namespace: string, pod: Pod, first: boolean) => {
    const name = pod.metadata.name;
    // a LeaderWorkerSet pod is shown with its role and rank: "<pod> leader", "<pod> worker 1"
    const role = isGroupPod(pod)
      ? ` ${pod.metadata.labels![LWS_LABEL_WORKER] === "0" ? "leader" : `worker ${pod.metadata.labels![LWS_LABEL_WORKER]}`}`
      : "";
    try {
      await api.lines(
        logPath(namespace, name),
        { query: { ...query(first), container: containerOf(pod) }, signal: ac.signal, what: `read the log of ${name}` },
        (l) => write(name + role, l),
      );
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 400) throw e;
      ui.warn(`[${name}] ${e.body.message ?? e.message}`);
    }
  };
  try {
    const found = await Promise.all(
      apps.map(async (a) => {
        const list = await api.request<{ items: Pod[] }>("GET", `/api/v1/namespaces/${a.namespace}/pods`, {
          query: { labelSelector: `${LABEL_APP}=${a.name}` },
          what: `list the pods of ${a.name}`,
        });
        return { ...a, pods: list.items.sort((x, y) => x.metadata.name.localeCompare(y.metadata.name)) };
      }),
    );
    if (req.replica && !found.some((a) => a.pods.some((p) => p.metadata.name === req.replica))) {
      throw new UsageError(
        `no replica named ${req.replica}`,
        `replicas: ${found.flatMap((a) => a.pods.map((p) => p.metadata.name)).join(", ") || "(none running)"}`,
      );
    }
    const wanted = (p: Pod) => !req.replica || p.metadata.name === req.replica;
    if (!req.follow) {
      for (const a of found) {
        if (!a.pods.length) ui.warn(`${a.name} has no replicas in namespace ${a.namespace}`);
        for (const p of a.pods.filter(wanted)) await stream(a.namespace, p, true);
        if (ac.signal.aborted) break;
      }
    } else {
      await Promise.all(
        found.map((a) => followApp(api, a, new Set(a.pods.map((p) => p.metadata.name)), wanted, stream, ac)),
      );
    }
  } finally {
    stopListeningForInterrupt(onInterrupt);
  }
  if (interrupted) throw new InterruptedError("interrupted: stopped streaming logs");
}

/**
 * Stream each replica's server container whenever a new one runs, until aborted. --tail applies to
 * the replicas running at the start; later ones (and restarted containers) stream from their beginning.
 */
async function followApp(
  api: KubeApi,
  app: { name: string; namespace: string },
  running: Set<string>,
  wanted: (p: Pod) => boolean,
  stream: (namespace: string, pod: Pod, first: boolean) => Promise<void>,
  ac: AbortController,
): Promise<void> {
  const streamed = new Map<string, string>();
  const streams: Promise<void>[] = [];
  let failure: unknown;
  await api.watch<Pod>(
    `/api/v1/namespaces/${app.namespace}/pods`,
    { labelSelector: `${LABEL_APP}=${app.name}` },
    ac.signal,
    `watch the pods of ${app.name}`,
    (e) => {
      const pod = e.object;
      if (e.type === "DELETED" || !wanted(pod)) return;
      const status = (pod.status?.containerStatuses ?? []).find((s) => s.name === containerOf(pod));
      if (!status || !(status.state?.running || status.state?.terminated)) return;
      // a container instance: its id where the runtime reports one, and its restart count
      const id = `${status.containerID ?? ""}#${status.restartCount ?? 0}`;
      if (streamed.get(pod.metadata.name) === id) return;
      const first = running.has(pod.metadata.name) && !streamed.has(pod.metadata.name);
      streamed.set(pod.metadata.name, id);
      streams.push(
        stream(app.namespace, pod, first).catch((err) => {
          failure ??= err;
          ac.abort();
        }),
      );
    },
  );
  await Promise.all(streams);
  if (failure) throw failure;
}
