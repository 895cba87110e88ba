/**
 * `delete`: everything labelled as the app's and managed by vllmapp (the applyset parent included),
 * except the model cache PVC unless --purge-cache; then, unless --no-wait, watch until all of it and
 * the pods are gone.
 */
import { InterruptedError } from "../errors.js";
import { listenForInterrupt, stopListeningForInterrupt } from "../interrupt.js";
import { LABEL_APP } from "../render/labels.js";
import type { DeletedApp } from "../target.js";
import type { Ui } from "../ui/output.js";
import { describe, type KObject, type KubeApi } from "./api.js";
import { ANN_GROUP_KINDS, parentName, parseGroupKinds, splitGroupKind } from "./applyset.js";
import { ApiError } from "./errors.js";

/** What vllmapp may have created, beyond what the applyset parent lists. */
const KNOWN_GROUP_KINDS = [
  "Deployment.apps",
  "Service",
  "Secret",
  "ConfigMap",
  "PersistentVolumeClaim",
  "Ingress.networking.k8s.io",
  "ScaledObject.keda.sh",
  "HTTPScaledObject.http.keda.sh",
  "PodMonitor.monitoring.coreos.com",
  "LeaderWorkerSet.leaderworkerset.x-k8s.io",
];

/** Wait until nothing matches the query in the collection (or the signal aborts): a list, then a watch from its version. */
async function waitAllGone(
  api: KubeApi,
  path: string,
  query: Record<string, string>,
  what: string,
  signal: AbortSignal,
): Promise<void> {
  const list = await api.request<{ metadata: { resourceVersion: string }; items: KObject[] }>("GET", path, {
    query,
    what,
  });
  const left = new Set(list.items.map((o) => o.metadata.uid));
  if (!left.size) return;
  const ac = new AbortController();
  signal.addEventListener("abort", () => ac.abort());
  await api.watch(path, { ...query, resourceVersion: list.metadata.resourceVersion }, ac.signal, what, (e) => {
    if (e.type === "DELETED") left.delete(e.object.metadata.uid);
    if (!left.size) ac.abort();
  });
}

export async function deleteApp(
  api: KubeApi,
  name: string,
  namespace: string,
  opts: { purgeCache?: boolean; wait: boolean; ui: Ui },
): Promise<DeletedApp> {
  const selector = `${LABEL_APP}=${name},app.kubernetes.io/managed-by=vllmapp`;
  const parent = await api.get(
    `/api/v1/namespaces/${namespace}/secrets/${parentName(name)}`,
    `read the applyset of ${name}`,
  );
  const gks = [...new Set([...KNOWN_GROUP_KINDS, ...parseGroupKinds(parent?.metadata.annotations?.[ANN_GROUP_KINDS])])];
  const found = (
    await Promise.all(
      gks.map(async (gk) => {
        const { kind, group } = splitGroupKind(gk);
        const version = await api.preferredVersion(group);
        if (!version || !(await api.resource(version, kind))) return [];
        const path = await api.path(version, kind, namespace);
        const list = await api.request<{ items: KObject[] }>("GET", path, {
          query: { labelSelector: selector },
          what: `list ${gk} of ${name}`,
        });
        return list.items.map((o) => ({ ...o, apiVersion: version, kind, path }));
      }),
    )
  ).flat();
  const isCache = (o: KObject) => o.kind === "PersistentVolumeClaim" && o.metadata.name === `${name}-cache`;
  const doomed = found.filter((o) => opts.purgeCache || !isCache(o));
  await Promise.all(
    doomed.map(async (o) => {
      try {
        await api.request("DELETE", `${o.path}/${o.metadata.name}`, {
          query: { propagationPolicy: "Background" },
          what: `delete ${describe(o)}`,
        });
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 404)) throw e;
      }
    }),
  );
  const result: DeletedApp = {
    name,
    namespace,
    deleted: doomed.map(describe),
    kept: found.filter((o) => !doomed.includes(o)).map(describe),
    purgedCache: null,
  };
  if (opts.wait && doomed.length) {
    const spinner = await opts.ui.spinner(`${name}: waiting until its pods and objects are gone`);
    const interrupt = new AbortController();
    const stop = () => interrupt.abort();
    listenForInterrupt(stop);
    await Promise.all([
      waitAllGone(
        api,
        `/api/v1/namespaces/${namespace}/pods`,
        { labelSelector: `${LABEL_APP}=${name}` },
        `watch the pods of ${name}`,
        interrupt.signal,
      ),
      ...doomed.map((o) =>
        waitAllGone(
          api,
          o.path,
          { fieldSelector: `metadata.name=${o.metadata.name}` },
          `watch ${describe(o)}`,
          interrupt.signal,
        ),
      ),
    ]).finally(() => {
      spinner.stop();
      stopListeningForInterrupt(stop);
    });
    if (interrupt.signal.aborted)
      throw new InterruptedError("interrupted: stopped waiting; the cluster goes on deleting");
    opts.ui.success(`${name}: deleted from namespace ${namespace}`);
  }
  return result;
}
