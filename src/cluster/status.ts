/**
 * `status` and `list`: what runs, read from the cluster. Endpoints are computed, never contacted.
 */
import {
  ANNOTATION_DESCRIPTION,
  ANNOTATION_LINKS,
  ANNOTATION_MODEL_ID,
  ANNOTATION_MODEL_SOURCE,
  ANNOTATION_MODEL_URI,
  LABEL_APP,
} from "../render/labels.js";
import type { AppStatus, AppSummary, ListResult } from "../target.js";
import { formatAge } from "../text.js";
import type { KubeApi } from "./api.js";
import { API_KEY } from "./apply.js";
import { adapterNamesOf } from "../render/lora.js";
import { currentPods, diagnosePods, isUnschedulable, type KEvent } from "./diagnose.js";
import { diagnoseGroups, groupState } from "./groups.js";
import { readRouteStatus } from "./route.js";
import { describeCurrent } from "../startup/phases.js";
import { readPodStartup } from "./startup.js";
import { readHistory } from "./starts.js";
import { currentAndPrevious } from "../startup/timeline.js";
import type { Deployment, Ingress, Pod, ReplicaSet, Service } from "./k8s-types.js";
import { readLeaderWorkerSet, readNodes, serviceUrl } from "./read.js";
import { rolloutState } from "./rollout.js";

function ingressUrls(ing: Ingress | undefined): string[] {
  if (!ing) return [];
  const tls = new Set<string>((ing.spec?.tls ?? []).flatMap((t) => t.hosts ?? []));
  return (ing.spec?.rules ?? []).flatMap((r) => (r.host ? [`${tls.has(r.host) ? "https" : "http"}://${r.host}`] : []));
}

function linksOf(dep: { metadata: { annotations?: Record<string, string> } }, base: string | null): AppStatus["links"] {
  const raw = dep.metadata.annotations?.[ANNOTATION_LINKS];
  if (!raw) return [];
  try {
    const links = JSON.parse(raw) as { path: string; title: string; is_relative?: boolean }[];
    return links.map((l) => ({
      title: l.title,
      url: l.is_relative === true && base ? `${base.replace(/\/$/, "")}/${l.path.replace(/^\//, "")}` : l.path,
    }));
  } catch {
    return [];
  }
}

/** Lists one `status` of many apps reads once per namespace (the pods' events), not once per app. */
export type NamespaceReads = Map<string, Promise<{ items: KEvent[] }>>;

function podEvents(api: KubeApi, namespace: string, reads: NamespaceReads): Promise<{ items: KEvent[] }> {
  let events = reads.get(namespace);
  if (!events) {
    events = api.request<{ items: KEvent[] }>("GET", `/api/v1/namespaces/${namespace}/events`, {
      query: { fieldSelector: "involvedObject.kind=Pod" },
      what: `list the events of namespace ${namespace}`,
    });
    reads.set(namespace, events);
  }
  return events;
}

export async function appStatus(
  api: KubeApi,
  name: string,
  namespace: string,
  showApiKey = false,
  reads: NamespaceReads = new Map(),
): Promise<AppStatus> {
  const ns = `/api/v1/namespaces/${namespace}`;
  const apps = `/apis/apps/v1/namespaces/${namespace}`;
  const selector = { labelSelector: `${LABEL_APP}=${name}` };
  const [dep, lws, svc, ing, rs, pods, events, route] = await Promise.all([
    api.get<Deployment>(`${apps}/deployments/${name}`, `read Deployment ${name}`),
    readLeaderWorkerSet(api, name, namespace),
    api.get<Service>(`${ns}/services/${name}`, `read Service ${name}`),
    api.get<Ingress>(`/apis/networking.k8s.io/v1/namespaces/${namespace}/ingresses/${name}`, `read Ingress ${name}`),
    api.request<{ items: ReplicaSet[] }>("GET", `${apps}/replicasets`, {
      query: selector,
      what: `list the ReplicaSets of ${name}`,
    }),
    api.request<{ items: Pod[] }>("GET", `${ns}/pods`, { query: selector, what: `list the pods of ${name}` }),
    podEvents(api, namespace, reads),
    readRouteStatus(api, name, namespace),
  ]);
  const none = {
    timeline: null,
    container: null,
    state: null,
    reason: null,
    hint: null,
    endpoint: null,
    ingress: [],
    route: null,
    startup: null,
    modelId: null,
    modelUri: null,
    modelSource: null,
    image: null,
    created: null,
    age: null,
    description: null,
    links: [],
    requiresApiKey: false,
    apiKey: null,
    groups: null,
    adapters: [],
  };
  const workload = dep ?? lws;
  if (!workload) return { name, namespace, deployed: false, ready: false, replicas: null, ...none };
  const group = !dep && lws ? groupState(lws, pods.items) : undefined;
  const { done, ready: readyCount, desired } = group ?? rolloutState(dep!);
  const replicas = { ready: readyCount, desired };
  const endpoint = svc ? serviceUrl(svc, namespace) : null;
  const a = workload.metadata.annotations ?? {};
  const podSpec = dep ? dep.spec?.template?.spec : lws?.spec?.leaderWorkerTemplate?.leaderTemplate?.spec;
  const server = (podSpec?.containers ?? []).find((c) => c.name === "vllm");
  const created: string | undefined = workload.metadata.creationTimestamp;
  const status: AppStatus = {
    ...none,
    name,
    namespace,
    deployed: true,
    ready: done,
    replicas,
    endpoint,
    ingress: ingressUrls(ing),
    route,
    modelId: a[ANNOTATION_MODEL_ID] ?? null,
    modelUri: a[ANNOTATION_MODEL_URI] ?? null,
    modelSource: a[ANNOTATION_MODEL_SOURCE] ?? null,
    image: server?.image ?? null,
    created: created ?? null,
    age: formatAge(created) ?? null,
    description: a[ANNOTATION_DESCRIPTION] ?? null,
    links: linksOf(workload, ingressUrls(ing)[0] ?? endpoint),
    requiresApiKey: (server?.env ?? []).some((e) => e.name === API_KEY && e.valueFrom?.secretKeyRef),
    groups: group?.groups ?? null,
    adapters: adapterNamesOf(server?.args ?? []),
  };
  const mine = dep ? currentPods(dep, rs.items, pods.items) : group!.pods;
  const first = [...(mine.length ? mine : pods.items)]
    .filter((p) => !p.metadata.deletionTimestamp)
    .sort((x, y) => x.metadata.name.localeCompare(y.metadata.name))[0];
  const [read, history] = await Promise.all([
    first ? readPodStartup(api, first, events.items) : undefined,
    readHistory(api, name, namespace),
  ]);
  status.startup = read?.report ?? null;
  status.timeline = currentAndPrevious(read?.start, history);
  if (!done) {
    const nodes = isUnschedulable(mine) ? await readNodes(api) : undefined;
    const d = dep ? diagnosePods(mine, events.items, nodes) : diagnoseGroups(lws!, mine, events.items, nodes);
    const phase =
      status.startup && status.startup.phase !== "ready" && !d?.fatal
        ? `${first!.metadata.name}: ${describeCurrent(status.startup)}`
        : undefined;
    status.reason = phase ?? d?.reason ?? `rollout in progress (${replicas.ready}/${replicas.desired} ready)`;
    if (d?.hint) status.hint = d.hint;
  }
  // the key's Secret is the one the pod reads (generated <app>-api-key, or the one requires_auth names)
  const keyRef = (server?.env ?? []).find((e) => e.name === API_KEY)?.valueFrom?.secretKeyRef as
    { name: string; key: string } | undefined;
  const keySecret =
    showApiKey && keyRef
      ? await api.get<{ data?: Record<string, string> }>(`${ns}/secrets/${keyRef.name}`, `read Secret ${keyRef.name}`)
      : undefined;
  const b64 = keySecret?.data?.[keyRef?.key ?? API_KEY];
  if (b64) status.apiKey = Buffer.from(b64, "base64").toString("utf8");
  return status;
}

export async function listApps(api: KubeApi, namespace: string): Promise<ListResult> {
  const list = await api.request<{ items: Deployment[] }>("GET", `/apis/apps/v1/namespaces/${namespace}/deployments`, {
    query: { labelSelector: "app.kubernetes.io/managed-by=vllmapp" },
    what: `list the apps in namespace ${namespace}`,
  });
  const apps = list.items
    .map((d): AppSummary => {
      const { done, ...replicas } = rolloutState(d);
      const server = (d.spec?.template?.spec?.containers ?? []).find((c: { name: string }) => c.name === "vllm");
      const created: string | undefined = d.metadata.creationTimestamp;
      return {
        name: d.metadata.labels?.[LABEL_APP] ?? d.metadata.name,
        namespace,
        ready: done,
        replicas,
        endpoint: null,
        modelId: d.metadata.annotations?.[ANNOTATION_MODEL_ID] ?? null,
        image: server?.image ?? null,
        age: formatAge(created) ?? null,
        state: null,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  return { namespace, apps };
}
