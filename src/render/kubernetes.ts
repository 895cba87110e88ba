/**
 * The Kubernetes objects of one app: Deployment, Service, API key Secret, include ConfigMap, cache PVC,
 * KEDA ScaledObject, Ingress, filled into the templates. Typed with client-node's models through
 * type-only imports (nothing of client-node loads at run time). Pure.
 */
import type {
  V1ConfigMap, V1Container, V1Deployment, V1DeploymentSpec, V1EnvVar, V1Ingress, V1ObjectMeta,
  V1PersistentVolumeClaim, V1Service, V1ServicePort, V1Volume, V1VolumeMount,
} from "@kubernetes/client-node";
import type { AppConfig } from "../config/schema.js";
import { parseDuration } from "../config/units.js";
import { isObjectStore } from "../models/source.js";
import { kubernetesEnvOf } from "./env.js";
import { appVersionOf, CACHE_MOUNT, imageOf, INCLUDE_MOUNT, labelsOf, PVC_MOUNT, selectorOf, versionLabelsOf } from "./labels.js";
import { strategicMerge } from "./merge.js";
import { DOWNLOAD_FILTER, hashOf, rcloneSource } from "./model-copy.js";
import { sizeResources, type GpuRequest } from "./resources.js";
import { includeKey, type ServeResult } from "./serve.js";
import type { K8sObject, Problem, RenderedModel, RenderInput } from "./types.js";

/** KEDA's ScaledObject: a custom resource, so client-node has no model for it; the fields vllmapp sets. */
interface ScaledObject {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
  spec?: {
    scaleTargetRef?: { apiVersion: string; kind: string; name: string };
    minReplicaCount?: number;
    maxReplicaCount?: number;
    cooldownPeriod?: number;
    advanced?: { horizontalPodAutoscalerConfig?: { behavior?: { scaleDown?: Record<string, unknown> } } };
    triggers?: { type: string; metadata: Record<string, string> }[];
  };
}

type Typed = { apiVersion?: string; kind?: string; metadata?: V1ObjectMeta };

/**
 * A template object as its client-node type. The templates are YAML that vllmapp ships (or a copy the
 * user edits), checked to be mappings when loaded; their shape is the Kubernetes API's.
 */
function typed<T extends Typed>(obj: K8sObject): T {
  return obj as unknown as T;
}

/** A typed object back in the generic shape; meta() set its apiVersion-kind-name from the template. */
function generic(obj: Typed): K8sObject {
  return obj as unknown as K8sObject;
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

function annotationsOf(app: AppConfig, model: RenderedModel): Record<string, string> {
  const a: Record<string, string> = {
    "vllmapp.dev/model-uri": model.uri,
    "vllmapp.dev/model-id": model.servedAs,
  };
  if (model.resolvedFrom) a["vllmapp.dev/model-source"] = model.resolvedFrom;
  if (app.description) a["vllmapp.dev/description"] = app.description;
  if (app.links?.length) a["vllmapp.dev/links"] = JSON.stringify(app.links);
  return a;
}

const SPOT_TOLERATIONS = [
  { key: "cloud.google.com/gke-spot", operator: "Equal", value: "true", effect: "NoSchedule" },
  { key: "cloud.google.com/gke-preemptible", operator: "Equal", value: "true", effect: "NoSchedule" },
  { key: "kubernetes.azure.com/scalesetpriority", operator: "Equal", value: "spot", effect: "NoSchedule" },
  { key: "karpenter.sh/capacity-type", operator: "Equal", value: "spot", effect: "NoSchedule" },
];
const SPOT_PREFERENCES = [
  { key: "cloud.google.com/gke-spot", values: ["true"] },
  { key: "cloud.google.com/gke-preemptible", values: ["true"] },
  { key: "karpenter.sh/capacity-type", values: ["spot"] },
  { key: "eks.amazonaws.com/capacityType", values: ["SPOT"] },
  { key: "kubernetes.azure.com/scalesetpriority", values: ["spot"] },
];

export function renderKubernetes(input: RenderInput, serve: ServeResult, model: RenderedModel, gpu: GpuRequest): { objects: K8sObject[]; problems: Problem[] } {
  const { app, source: src, templates: t } = input;
  const problems: Problem[] = [];
  const labels = labelsOf(app);
  const annotations = annotationsOf(app, model);
  const meta = (obj: K8sObject, name: string, extra: Record<string, string> = {}) => {
    obj.metadata = {
      ...obj.metadata,
      name,
      ...(input.namespace ? { namespace: input.namespace } : {}),
      labels: { ...(obj.metadata.labels ?? {}), ...labels, ...versionLabelsOf(app) },
      annotations: { ...(obj.metadata.annotations ?? {}), ...extra },
    };
    if (Object.keys(obj.metadata.annotations!).length === 0) delete obj.metadata.annotations;
    return obj;
  };
  const objects: K8sObject[] = [];
  const sizing = sizeResources(app, gpu);
  const { env, secretMounts } = kubernetesEnvOf(app, src, input.params);

  // --- Deployment
  const dep = typed<V1Deployment>(meta(clone(t.deployment), app.name, annotations));
  // selector and template are set right below
  const spec = (dep.spec ??= {} as V1DeploymentSpec);
  const reps = app.scaling?.replicas ?? 1;
  if (Array.isArray(reps)) delete spec.replicas;
  else spec.replicas = reps;
  spec.selector = { matchLabels: selectorOf(app) };
  const tpl = (spec.template ??= {});
  const appVersion = appVersionOf(app);
  tpl.metadata = { ...(tpl.metadata ?? {}), labels: { ...(tpl.metadata?.labels ?? {}), ...labels, ...(appVersion ? { "app.kubernetes.io/version": appVersion } : {}) } };
  const podAnn: Record<string, string> = { ...(tpl.metadata.annotations ?? {}) };
  if (input.includes.length) podAnn["vllmapp.dev/include-hash"] = hashOf(input.includes.map((f) => [f.name, f.content]));
  if (Object.keys(podAnn).length) tpl.metadata.annotations = podAnn;
  const pod = (tpl.spec ??= { containers: [] });
  pod.containers ??= [];
  let c = pod.containers.find((x) => x.name === "vllm");
  if (!c) pod.containers.unshift((c = { name: "vllm" }));
  c.image = imageOf(app);
  c.command = serve.command;
  if (serve.args.length) c.args = serve.args;
  else delete c.args;
  c.env = [...(c.env ?? []).filter((e) => !env.some((x) => x.name === e.name)), ...env];
  c.resources = { requests: sizing.requests, limits: sizing.limits };
  c.ports = [{ ...(c.ports?.find((p) => p.name === "http") ?? {}), name: "http", containerPort: app.port, protocol: "TCP" }];
  const budget = parseDuration(app.startup_timeout) ?? 1800;
  if (c.startupProbe) {
    const period = c.startupProbe.periodSeconds ?? 10;
    c.startupProbe.failureThreshold = Math.max(1, Math.ceil(budget / period));
  }
  if (app.on_shutdown) {
    c.lifecycle = { ...(c.lifecycle ?? {}), preStop: { exec: { command: ["/bin/sh", "-c", '"$@"; sleep 10', "vllmapp-on-shutdown", ...app.on_shutdown] } } };
  }
  const mounts: V1VolumeMount[] = [...(c.volumeMounts ?? [])];
  const volumes: V1Volume[] = [...(pod.volumes ?? [])];
  const setVolume = (v: V1Volume) => {
    const i = volumes.findIndex((x) => x.name === v.name);
    if (i >= 0) volumes[i] = v;
    else volumes.push(v);
  };
  const setMount = (m: V1VolumeMount) => {
    const i = mounts.findIndex((x) => x.mountPath === m.mountPath);
    if (i >= 0) mounts[i] = m;
    else mounts.push(m);
  };
  setVolume({ name: "dshm", emptyDir: { medium: "Memory", sizeLimit: sizing.shm } });
  setVolume(app.cache ? { name: "cache", persistentVolumeClaim: { claimName: `${app.name}-cache` } } : { name: "cache", emptyDir: {} });
  if (!mounts.some((m) => m.name === "cache")) setMount({ name: "cache", mountPath: CACHE_MOUNT });
  if (src.kind === "pvc") {
    setVolume({ name: "model", persistentVolumeClaim: { claimName: src.claim, readOnly: true } });
    setMount({ name: "model", mountPath: PVC_MOUNT, readOnly: true });
  }
  if (input.includes.length) {
    setVolume({ name: "include", configMap: { name: `${app.name}-include`, items: input.includes.map((f) => ({ key: includeKey(f), path: f.name })) } });
    setMount({ name: "include", mountPath: INCLUDE_MOUNT, readOnly: true });
  }
  for (const s of secretMounts) {
    setVolume(s.volume);
    setMount(s.mount);
  }
  c.volumeMounts = mounts;
  pod.volumes = volumes;
  // init containers: model copy, then on_startup
  const inits: V1Container[] = [...(pod.initContainers ?? [])];
  if (isObjectStore(src) && !app.stream_model) {
    // the model-download template is a container spec; its name defaults below
    const dl = clone(t.modelDownload) as Partial<V1Container>;
    dl.name ??= "model-download";
    dl.args = ["copy", ...rcloneSource(src), `${CACHE_MOUNT}/models/${app.name}`, ...DOWNLOAD_FILTER, "--transfers=16", "--checkers=16", "--stats=30s", "--stats-one-line", "-v"];
    const dlEnv: V1EnvVar[] = env.filter((e) => e.name !== "VLLM_API_KEY" && e.name !== "HF_HOME");
    if (src.kind === "s3" && app.env_vars?.AWS_ENDPOINT_URL !== undefined) dlEnv.push({ name: "RCLONE_S3_ENDPOINT", value: String(app.env_vars.AWS_ENDPOINT_URL) });
    if (dlEnv.length) dl.env = dlEnv;
    dl.volumeMounts = [{ name: "cache", mountPath: CACHE_MOUNT }];
    dl.resources ??= { requests: { cpu: "1", memory: "1Gi" }, limits: { memory: "4Gi" } };
    inits.push({ ...dl, name: dl.name });
  }
  if (app.on_startup) {
    inits.push({
      name: "on-startup",
      image: imageOf(app),
      command: app.on_startup,
      env: env.filter((e) => e.name !== "VLLM_API_KEY"),
      volumeMounts: mounts.filter((m) => m.name !== "dshm"),
    });
  }
  if (inits.length) pod.initContainers = inits;
  // scheduling
  if (gpu.count > 0) {
    pod.tolerations = [...(pod.tolerations ?? []), { key: gpu.resource.startsWith("amd.com") ? "amd.com/gpu" : "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }];
  }
  const gpuLabel = app.node_labels?.gpu_product ?? "nvidia.com/gpu.product";
  const poolLabel = app.node_labels?.pool ?? "vllmapp.dev/pool";
  if (gpu.type) {
    pod.affinity ??= {};
    pod.affinity.nodeAffinity ??= {};
    pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = {
      nodeSelectorTerms: [{ matchExpressions: [{ key: gpuLabel, operator: "In", values: gpu.type.products }] }],
    };
  }
  if (app.cluster_pool !== "default") pod.nodeSelector = { ...(pod.nodeSelector ?? {}), [poolLabel]: app.cluster_pool };
  if (app.interruptible) {
    pod.tolerations = [...(pod.tolerations ?? []), ...SPOT_TOLERATIONS];
    pod.affinity ??= {};
    pod.affinity.nodeAffinity ??= {};
    pod.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution = SPOT_PREFERENCES.map((p) => ({
      weight: 50,
      preference: { matchExpressions: [{ key: p.key, operator: "In", values: p.values }] },
    }));
  }
  if (typeof app.pod_template === "object") {
    tpl.metadata = strategicMerge(tpl.metadata, app.pod_template.metadata ?? {});
    tpl.spec = strategicMerge(tpl.spec, app.pod_template.spec ?? {});
  }
  tpl.spec.containers = tpl.spec.containers.map((x) => orderKeys(x, CONTAINER_KEY_ORDER));
  spec.template = orderKeys(tpl, ["metadata", "spec"]);
  objects.push(generic(dep));

  // --- Service
  const svc = typed<V1Service>(meta(clone(t.service), app.name));
  svc.spec ??= {};
  svc.spec.selector = selectorOf(app);
  const ports: Partial<V1ServicePort>[] = svc.spec.ports?.length ? svc.spec.ports : [{ name: "http", targetPort: "http", protocol: "TCP" }];
  // the first port gets the app's port; the others are the template's, whole
  svc.spec.ports = ports.map((p, i) => (i === 0 ? { ...p, port: app.port } : p) as V1ServicePort);
  objects.push(generic(svc));

  // --- API key Secret (no data: deploy fills it once)
  if (app.requires_auth) objects.push(meta(clone(t.apiKeySecret), `${app.name}-api-key`));

  // --- include ConfigMap
  if (input.includes.length) {
    const cm = typed<V1ConfigMap>(meta(clone(t.includeConfigMap), `${app.name}-include`));
    cm.data = Object.fromEntries(input.includes.map((f) => [includeKey(f), f.content]));
    objects.push(generic(cm));
  }

  // --- cache PVC
  if (app.cache) {
    const pvc = typed<V1PersistentVolumeClaim>(meta(clone(t.cachePvc), `${app.name}-cache`));
    pvc.spec ??= {};
    pvc.spec.accessModes = [app.cache.access_mode];
    pvc.spec.resources = { requests: { storage: String(app.cache.size) } };
    if (app.cache.storage_class) pvc.spec.storageClassName = app.cache.storage_class;
    if (app.cache.access_mode === "ReadWriteOnce" && (Array.isArray(reps) ? reps[1] > 1 : reps > 1)) {
      problems.push({ path: ["cache", "access_mode"], severity: "warning", message: "a ReadWriteOnce cache volume attaches to one node: replicas on other nodes stay Pending", hint: "use access_mode: ReadWriteMany with a storage class that supports it, or one replica" });
    }
    objects.push(generic(pvc));
  }

  // --- autoscaler
  if (Array.isArray(reps)) {
    const so = typed<ScaledObject>(meta(clone(t.scaledObject), app.name));
    so.spec ??= {};
    so.spec.scaleTargetRef = { apiVersion: "apps/v1", kind: "Deployment", name: app.name };
    so.spec.minReplicaCount = reps[0];
    so.spec.maxReplicaCount = reps[1];
    const after = app.scaling?.scaledown_after === undefined ? undefined : parseDuration(app.scaling.scaledown_after);
    if (after !== undefined) {
      so.spec.cooldownPeriod = Math.round(after);
      so.spec.advanced ??= {};
      so.spec.advanced.horizontalPodAutoscalerConfig ??= {};
      so.spec.advanced.horizontalPodAutoscalerConfig.behavior ??= {};
      so.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown = {
        ...(so.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown ?? {}),
        stabilizationWindowSeconds: Math.round(after),
      };
    }
    const sel = `model_name="${model.servedAs}"${input.namespace ? `,namespace="${input.namespace}"` : ""}`;
    const metric = app.scaling?.metric ?? { concurrency: 32 };
    const query =
      "concurrency" in metric
        ? `sum(vllm:num_requests_running{${sel}}) + sum(vllm:num_requests_waiting{${sel}})`
        : `sum(rate(vllm:request_success_total{${sel}}[1m]))`;
    const threshold = "concurrency" in metric ? metric.concurrency : metric.request_rate;
    so.spec.triggers = [
      {
        type: "prometheus",
        metadata: {
          serverAddress: app.scaling?.prometheus_url ?? "http://prometheus-operated.monitoring.svc:9090",
          query,
          threshold: String(threshold),
          ...(reps[0] === 0 ? { activationThreshold: "0" } : {}),
        },
      },
    ];
    objects.push(generic(so));
  }

  // --- Ingress
  if (app.domain) {
    const host = app.domain.custom_domain ?? `${app.domain.subdomain}.${app.domain.base_domain}`;
    const ing = typed<V1Ingress>(meta(clone(t.ingress), app.name));
    ing.spec ??= {};
    if (app.domain.ingress_class) ing.spec.ingressClassName = app.domain.ingress_class;
    ing.spec.rules = [
      { host, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: app.name, port: { name: "http" } } } }] } },
    ];
    if (app.domain.tls_secret) ing.spec.tls = [{ hosts: [host], secretName: app.domain.tls_secret }];
    objects.push(generic(ing));
  }
  if (typeof app.pod_template === "string") {
    problems.push({ path: ["pod_template"], severity: "note", message: `pod_template "${app.pod_template}" names a PodTemplate in the cluster: \`deploy\` fetches it and merges the pod into it (\`render\` shows the pod without it)` });
  }
  return { objects: sortObjects(objects), problems };
}

const CONTAINER_KEY_ORDER = ["name", "image", "command", "args", "env", "ports", "resources", "volumeMounts", "startupProbe", "readinessProbe", "livenessProbe", "lifecycle"];

/** The same object with the named keys first, in that order (for readable, stable output). */
function orderKeys<T extends object>(obj: T, first: readonly string[]): T {
  const entries = Object.entries(obj);
  const out: Record<string, unknown> = {};
  for (const k of first) {
    const e = entries.find(([key]) => key === k);
    if (e) out[k] = e[1];
  }
  for (const [k, v] of entries) if (!(k in out)) out[k] = v;
  // the same keys and values as obj, in another order
  return out as T;
}

const KIND_ORDER = ["Namespace", "Secret", "ConfigMap", "PersistentVolumeClaim", "Service", "Deployment", "ScaledObject", "HorizontalPodAutoscaler", "Ingress"];

export function sortObjects(objs: K8sObject[]): K8sObject[] {
  return [...objs].sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || a.metadata.name.localeCompare(b.metadata.name));
}
