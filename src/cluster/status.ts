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
import type { AppStatus, AppSummary, GroupStatus, ListResult, RouteStatus } from "../target.js";
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
import type { Container, Deployment, Ingress, LeaderWorkerSet, Pod, ReplicaSet, Service } from "./k8s-types.js";
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

/** What `status` reads of one app: its workload, Service, Ingress, ReplicaSets, pods, the pods' events, its route. */
export interface AppObjects {
  dep: Deployment | undefined;
  /** the LeaderWorkerSet of a multi-node app (which has no Deployment) */
  lws: LeaderWorkerSet | undefined;
  svc: Service | undefined;
  ing: Ingress | undefined;
  replicaSets: ReplicaSet[];
  pods: Pod[];
  events: KEvent[];
  route: RouteStatus | null;
}

/** One app's objects, read at once (the namespace's events once per `reads`). */
async function readAppObjects(
  api: KubeApi,
  name: string,
  namespace: string,
  reads: NamespaceReads,
): Promise<AppObjects> {
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
  return { dep, lws, svc, ing, replicaSets: rs.items, pods: pods.items, events: events.items, route };
}

/** The fields of a status that only a deployed app fills. */
function notDeployed(): Omit<AppStatus, "name" | "namespace" | "deployed" | "ready" | "replicas"> {
  return {
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
}

/** The server container of the app's pod template (the leader's, for a LeaderWorkerSet). */
function serverContainer(o: AppObjects): Container | undefined {
  const podSpec = o.dep ? o.dep.spec?.template?.spec : o.lws?.spec?.leaderWorkerTemplate?.leaderTemplate?.spec;
  return (podSpec?.containers ?? []).find((c) => c.name === "vllm");
}

/**
 * A deployed app's status from its objects: replicas (or groups), endpoints, the model and image, links,
 * whether it needs an API key. The start-up, the timeline, a not-ready reason and the key itself are
 * read afterwards. Pure.
 */
export function describeApp(
  name: string,
  namespace: string,
  o: AppObjects,
  workload: Deployment | LeaderWorkerSet,
  rollout: { done: boolean; ready: number; desired: number; groups?: GroupStatus[] },
): AppStatus {
  const endpoint = o.svc ? serviceUrl(o.svc, namespace) : null;
  const a = workload.metadata.annotations ?? {};
  const server = serverContainer(o);
  const created: string | undefined = workload.metadata.creationTimestamp;
  return {
    ...notDeployed(),
    name,
    namespace,
    deployed: true,
    ready: rollout.done,
    replicas: { ready: rollout.ready, desired: rollout.desired },
    endpoint,
    ingress: ingressUrls(o.ing),
    route: o.route,
    modelId: a[ANNOTATION_MODEL_ID] ?? null,
    modelUri: a[ANNOTATION_MODEL_URI] ?? null,
    modelSource: a[ANNOTATION_MODEL_SOURCE] ?? null,
    image: server?.image ?? null,
    created: created ?? null,
    age: formatAge(created) ?? null,
    description: a[ANNOTATION_DESCRIPTION] ?? null,
    links: linksOf(workload, ingressUrls(o.ing)[0] ?? endpoint),
    requiresApiKey: (server?.env ?? []).some((e) => e.name === API_KEY && e.valueFrom?.secretKeyRef),
    groups: rollout.groups ?? null,
    adapters: adapterNamesOf(server?.args ?? []),
  };
}

/** Why a rollout is not done: the start-up phase of a pod that is on its way, else the pods' diagnosis. */
async function whyNotReady(
  api: KubeApi,
  o: AppObjects,
  mine: readonly Pod[],
  first: Pod | undefined,
  status: AppStatus,
): Promise<Pick<AppStatus, "reason"> & Partial<Pick<AppStatus, "hint">>> {
  const nodes = isUnschedulable(mine) ? await readNodes(api) : undefined;
  const d = o.dep ? diagnosePods(mine, o.events, nodes) : diagnoseGroups(o.lws!, mine, o.events, nodes);
  const phase =
    status.startup && status.startup.phase !== "ready" && !d?.fatal
      ? `${first!.metadata.name}: ${describeCurrent(status.startup)}`
      : undefined;
  const replicas = status.replicas!;
  return {
    reason: phase ?? d?.reason ?? `rollout in progress (${replicas.ready}/${replicas.desired} ready)`,
    ...(d?.hint ? { hint: d.hint } : {}),
  };
}

/** The API key from the Secret the server reads it from (generated <app>-api-key, or the one requires_auth names). */
async function readApiKey(api: KubeApi, namespace: string, server: Container | undefined): Promise<string | null> {
  const keyRef = (server?.env ?? []).find((e) => e.name === API_KEY)?.valueFrom?.secretKeyRef as
    { name: string; key: string } | undefined;
  if (!keyRef) return null;
  const secret = await api.get<{ data?: Record<string, string> }>(
    `/api/v1/namespaces/${namespace}/secrets/${keyRef.name}`,
    `read Secret ${keyRef.name}`,
  );
  const b64 = secret?.data?.[keyRef.key ?? API_KEY];
  return b64 ? Buffer.from(b64, "base64").toString("utf8") : null;
}

export async function appStatus(
  api: KubeApi,
  name: string,
  namespace: string,
  showApiKey = false,
  reads: NamespaceReads = new Map(),
): Promise<AppStatus> {
  const o = await readAppObjects(api, name, namespace, reads);
  const workload = o.dep ?? o.lws;
  if (!workload) return { name, namespace, deployed: false, ready: false, replicas: null, ...notDeployed() };
  const group = !o.dep && o.lws ? groupState(o.lws, o.pods) : undefined;
  const status = describeApp(name, namespace, o, workload, group ?? rolloutState(o.dep!));
  const mine = o.dep ? currentPods(o.dep, o.replicaSets, o.pods) : group!.pods;
  const first = [...(mine.length ? mine : o.pods)]
    .filter((p) => !p.metadata.deletionTimestamp)
    .sort((x, y) => x.metadata.name.localeCompare(y.metadata.name))[0];
  const [read, history] = await Promise.all([
    first ? readPodStartup(api, first, o.events) : undefined,
    readHistory(api, name, namespace),
  ]);
  status.startup = read?.report ?? null;
  status.timeline = currentAndPrevious(read?.start, history);
  if (!status.ready) Object.assign(status, await whyNotReady(api, o, mine, first, status));
  if (showApiKey) status.apiKey = await readApiKey(api, namespace, serverContainer(o));
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
