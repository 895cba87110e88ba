/**
 * Reads that `status`, `wait`, `logs`, `bench` and preflight share: the nodes, a container's last log
 * lines, a pod's log path, a Service's in-cluster URL, the app's LeaderWorkerSet. Each is one request (or
 * two) and knows nothing of the command that asks; the commands' modules import from here, not from each
 * other.
 */
import { LWS_API_VERSION } from "../render/leader-worker-set.js";
import { leaderWorkerSetName } from "../render/parallelism.js";
import type { KubeApi } from "./api.js";
import { ApiError } from "./errors.js";
import type { LeaderWorkerSet, Node, Service } from "./k8s-types.js";

/** The nodes, to sharpen an unschedulable diagnosis; undefined when the user may not list them. */
export async function readNodes(api: KubeApi): Promise<Node[] | undefined> {
  try {
    return (await api.request<{ items: Node[] }>("GET", "/api/v1/nodes", { what: "list nodes" })).items;
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return undefined;
    throw e;
  }
}

export function logPath(namespace: string, pod: string): string {
  return `/api/v1/namespaces/${namespace}/pods/${pod}/log`;
}

/** The last lines of a container's log: the previous (crashed) container's if there is one. */
export async function lastLines(
  api: KubeApi,
  namespace: string,
  pod: string,
  container: string,
  n = 10,
): Promise<string[]> {
  for (const previous of [true, false]) {
    const lines: string[] = [];
    try {
      await api.lines(
        logPath(namespace, pod),
        { query: { container, previous, tailLines: n }, what: `read the log of ${pod}` },
        (l) => {
          lines.push(l);
        },
      );
      if (lines.length) return lines;
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
    }
  }
  return [];
}

/** The in-cluster URL of a Service: http://NAME.NAMESPACE.svc.cluster.local:PORT. */
export function serviceUrl(svc: Pick<Service, "metadata" | "spec">, namespace: string): string {
  const port = svc.spec?.ports?.[0]?.port;
  return `http://${svc.metadata.name}.${svc.metadata.namespace ?? namespace}.svc.cluster.local${port ? `:${port}` : ""}`;
}

/** The app's LeaderWorkerSet (`<app>-lws`), or undefined when there is none or the cluster has no LWS CRD. */
export async function readLeaderWorkerSet(
  api: KubeApi,
  name: string,
  namespace: string,
): Promise<LeaderWorkerSet | undefined> {
  if (!(await api.resource(LWS_API_VERSION, "LeaderWorkerSet"))) return undefined;
  return api.get<LeaderWorkerSet>(
    `/apis/leaderworkerset.x-k8s.io/v1/namespaces/${namespace}/leaderworkersets/${leaderWorkerSetName(name)}`,
    `read LeaderWorkerSet ${leaderWorkerSetName(name)}`,
  );
}
