/**
 * What planning reads from the cluster (app/cluster-reads.ts), through one API client: deploy's session,
 * or, for `render --resolve`, a connection opened when the first read needs it.
 */
import type { ClusterReads, PodTemplateRead } from "../app/cluster-reads.js";
import { learnedBudget, PROBE_PERIOD_SECONDS } from "../startup/timeline.js";
import { KubeApi, type KObject } from "./api.js";
import { connect, namespaceFor, type ConnectionOptions } from "./connection.js";
import { VllmappError } from "../errors.js";
import { ApiError } from "./errors.js";
import { jobOutputOf, lookupFailure } from "./job-output.js";
import { readHistory } from "./starts.js";
import { chooseGpuScheme } from "./gpu-nodes.js";
import { readNodes } from "./read.js";
import type { Node } from "./k8s-types.js";

type Probe = { failureThreshold?: number; periodSeconds?: number };
type LiveDeployment = KObject & {
  spec?: { template?: { spec?: { containers?: { name: string; startupProbe?: Probe }[] } } };
};

/** The reads over `open()`'s client (opened once, on first use). */
export function clusterReads(open: () => Promise<KubeApi>): ClusterReads {
  let opened: Promise<KubeApi> | undefined;
  const api = () => (opened ??= open());
  // the nodes, listed once for all the apps of the plan; undefined when they cannot be read
  let nodes: Promise<Node[] | undefined> | undefined;
  const readGpuNodes = () =>
    (nodes ??= api()
      .then(readNodes)
      .catch(() => undefined));
  return {
    defaultNamespace: () =>
      api().then(
        (a) => namespaceFor(a.conn),
        () => undefined,
      ),
    podTemplate: async (namespace, name) => podTemplateIn(await api(), namespace, name),
    async learnedBudget(app, namespace) {
      const a = await api().catch(() => undefined);
      if (!a) return undefined;
      const [history, live] = await Promise.all([
        readHistory(a, app, namespace).catch(() => []),
        a
          .get<LiveDeployment>(`/apis/apps/v1/namespaces/${namespace}/deployments/${app}`, `read Deployment ${app}`)
          .catch(() => undefined),
      ]);
      const probe = live?.spec?.template?.spec?.containers?.find((c) => c.name === "vllm")?.startupProbe;
      return learnedBudget(
        history,
        probe ? (probe.failureThreshold ?? 3) * (probe.periodSeconds ?? PROBE_PERIOD_SECONDS) : undefined,
      )?.seconds;
    },
    async gpuScheme(app, file, objects) {
      const listed = await readGpuNodes();
      return listed && chooseGpuScheme(app, file, objects, listed);
    },
    async serverMinor() {
      // "30" or, on some managed services, "30+"
      const v = await api()
        .then((a) => a.get<{ major?: string; minor?: string }>("/version", "read the API server's version"))
        .catch(() => undefined);
      const minor = Number.parseInt(v?.minor ?? "", 10);
      return v?.major === "1" && Number.isFinite(minor) ? minor : undefined;
    },
    async jobOutput(ref, namespace) {
      const a = await api().catch((e: unknown) => Promise.reject(lookupFailure(e)));
      return jobOutputOf(a, ref, namespaceFor(a.conn, namespace));
    },
  };
}

/**
 * For render --resolve: the kubeconfig is read when a read first needs it. No kubeconfig means no default
 * namespace and no history; a PodTemplate that cannot be read is said (render warns and shows the pod without it).
 */
export function lazyClusterReads(opts: ConnectionOptions): ClusterReads {
  const reads = clusterReads(async () => new KubeApi(await connect(opts)));
  const unread = (name: string, e: unknown): PodTemplateRead => {
    if (!(e instanceof VllmappError)) throw e;
    return { problem: `PodTemplate ${name} (pod_template) cannot be read: ${e.message.split("\n")[0]}` };
  };
  return {
    ...reads,
    podTemplate: (namespace, name) => reads.podTemplate(namespace, name).catch((e: unknown) => unread(name, e)),
  };
}

async function podTemplateIn(api: KubeApi, namespace: string, name: string): Promise<PodTemplateRead> {
  try {
    const pt = await api.get<
      KObject & { template?: { metadata?: Record<string, unknown>; spec?: Record<string, unknown> } }
    >(`/api/v1/namespaces/${namespace}/podtemplates/${name}`, `read PodTemplate ${name}`);
    return pt
      ? { template: pt.template ?? {} }
      : { problem: `PodTemplate ${name} (pod_template) does not exist in namespace ${namespace}` };
  } catch (e) {
    // many users may not read PodTemplates and still deploy
    if (e instanceof ApiError && e.status === 403)
      return { problem: `PodTemplate ${name} (pod_template) cannot be read (forbidden)` };
    throw e;
  }
}
