/**
 * The Kubernetes objects of one app: Deployment, Service, API key Secret, include ConfigMap, cache PVC,
 * the autoscaler (autoscale.ts), the PodMonitor and monitoring objects (monitoring.ts), Ingress, filled into the templates;
 * the route (route.ts), built in code. Typed with client-node's models through
 * type-only imports (nothing of client-node loads at run time). Pure.
 */
import type {
  V1ConfigMap, V1Container, V1Deployment, V1DeploymentSpec, V1EnvVar, V1Ingress, V1ObjectMeta,
  V1PersistentVolumeClaim, V1PodTemplateSpec, V1Service, V1ServicePort, V1Volume, V1VolumeMount,
} from "@kubernetes/client-node";
import { DEFAULT_POOL_LABEL, gpuNodeMatches, SCHEME_TOLERATIONS } from "../config/gpus.js";
import type { AppConfig } from "../config/schema.js";
import { isObjectStore } from "../models/source.js";
import { renderAutoscaling } from "./autoscale.js";
import { kubernetesEnvOf } from "./env.js";
import { ANNOTATION_DESCRIPTION, ANNOTATION_INCLUDE_HASH, ANNOTATION_LINKS, ANNOTATION_MODEL_ID, ANNOTATION_MODEL_SOURCE, ANNOTATION_MODEL_URI, apiKeyRef, appVersionOf, CACHE_MOUNT, hookArgv, imageOf, INCLUDE_MOUNT, labelsOf, PVC_MOUNT, selectorOf, versionLabelsOf } from "./labels.js";
import { LABEL_ROLE, LWS_API_VERSION, renderLeaderWorkerSet } from "./leader-worker-set.js";
import { ADAPTER_MOUNT } from "./lora.js";
import { wantsPodMonitor } from "./monitoring.js";
import { DRAFT_PVC_MOUNT } from "./speculative.js";
import { strategicMerge } from "./merge.js";
import { leaderWorkerSetName } from "./parallelism.js";
import { renderMonitoring } from "./monitoring.js";
import { DOWNLOAD_FILTER, hashOf, rcloneSource } from "./model-copy.js";
import { quantityValue } from "../config/units.js";
import { sizeResources, type GpuRequest } from "./resources.js";
import { kubeVersionWarning, NEWEST_SUPPORTED_MINOR, OLDEST_SUPPORTED_MINOR, podForKubeMinor } from "./kube-version.js";
import { renderRoute } from "./route.js";
import { podSecurityLevelOf, RUN_AS_ID, securePod, securityProfileOf } from "./security.js";
import { includeKey, type ServeResult } from "./serve.js";
import type { K8sObject, Problem, RenderedModel, RenderInput } from "./types.js";

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
    [ANNOTATION_MODEL_URI]: model.uri,
    [ANNOTATION_MODEL_ID]: model.servedAs,
  };
  if (model.resolvedFrom) a[ANNOTATION_MODEL_SOURCE] = model.resolvedFrom;
  if (app.description) a[ANNOTATION_DESCRIPTION] = app.description;
  if (app.links?.length) a[ANNOTATION_LINKS] = JSON.stringify(app.links);
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
      labels: { ...(obj.metadata.labels ?? {}), ...labels },
      annotations: { ...(obj.metadata.annotations ?? {}), ...extra },
    };
    if (Object.keys(obj.metadata.annotations!).length === 0) delete obj.metadata.annotations;
    return obj;
  };
  const objects: K8sObject[] = [];
  const sizing = sizeResources(app, gpu);
  const onNodeDisk = weightsOnNodeDisk(input, sizing.requests);
  problems.push(...onNodeDisk.problems);
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
  if (input.includes.length) podAnn[ANNOTATION_INCLUDE_HASH] = hashOf(input.includes.map((f) => [f.name, f.content]));
  if (Object.keys(podAnn).length) tpl.metadata.annotations = podAnn;
  const pod = (tpl.spec ??= { containers: [] });
  pod.containers ??= [];
  let c = pod.containers.find((x) => x.name === "vllm");
  if (!c) pod.containers.unshift((c = { name: "vllm" }));
  c.image = imageOf(app);
  c.command = serve.command;
  if (serve.args.length) c.args = serve.args;
  else delete c.args;
  for (const [name, value] of serve.lora?.env ?? []) env.push({ name, value });
  c.env = [...(c.env ?? []).filter((e) => !env.some((x) => x.name === e.name)), ...env];
  c.resources = { requests: sizing.requests, limits: sizing.limits };
  c.ports = [{ ...(c.ports?.find((p) => p.name === "http") ?? {}), name: "http", containerPort: app.port, protocol: "TCP" }];
  const budget = app.startup_timeout;
  if (c.startupProbe) {
    const period = c.startupProbe.periodSeconds ?? 10;
    c.startupProbe.failureThreshold = Math.max(1, Math.ceil(budget / period));
  }
  if (app.on_shutdown) {
    c.lifecycle = { ...(c.lifecycle ?? {}), preStop: { exec: { command: ["/bin/sh", "-c", '"$@"; sleep 10', "vllmapp-on-shutdown", ...hookArgv(app.on_shutdown)] } } };
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
  setVolume(app.cache ? { name: "cache", persistentVolumeClaim: { claimName: `${app.name}-cache` } } : { name: "cache", emptyDir: onNodeDisk.sizeLimit ? { sizeLimit: onNodeDisk.sizeLimit } : {} });
  if (!mounts.some((m) => m.name === "cache")) setMount({ name: "cache", mountPath: CACHE_MOUNT });
  if (src.kind === "pvc") {
    setVolume({ name: "model", persistentVolumeClaim: { claimName: src.claim, readOnly: true } });
    setMount({ name: "model", mountPath: PVC_MOUNT, readOnly: true });
  }
  const draft = serve.speculative?.draft;
  if (draft?.kind === "pvc") {
    setVolume({ name: "draft-model", persistentVolumeClaim: { claimName: draft.claim, readOnly: true } });
    setMount({ name: "draft-model", mountPath: DRAFT_PVC_MOUNT, readOnly: true });
  }
  for (const a of serve.lora?.adapters ?? []) {
    if (a.source.kind !== "pvc") continue;
    const vol = `lora-${a.name}`.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 63).replace(/-+$/, "");
    setVolume({ name: vol, persistentVolumeClaim: { claimName: a.source.claim, readOnly: true } });
    setMount({ name: vol, mountPath: `${ADAPTER_MOUNT}/${a.name}`, readOnly: true });
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
    const dlEnv: V1EnvVar[] = env.filter((e) => e.name !== "VLLM_API_KEY" && e.name !== "HF_HOME" && e.name !== "VLLM_CACHE_ROOT");
    if (src.kind === "s3" && app.env_vars?.AWS_ENDPOINT_URL !== undefined) dlEnv.push({ name: "RCLONE_S3_ENDPOINT", value: String(app.env_vars.AWS_ENDPOINT_URL) });
    if (dlEnv.length) dl.env = dlEnv;
    dl.volumeMounts = [{ name: "cache", mountPath: CACHE_MOUNT }];
    dl.resources ??= { ...INIT_RESOURCES };
    inits.push({ ...dl, name: dl.name });
  }
  // the model-download template is a container spec: the draft model and each object-store adapter get a copy of it
  const copyStep = (name: string, from: Extract<typeof src, { kind: "s3" | "gs" | "az" }>, to: string, extra: string[]): V1Container => {
    const dl = clone(t.modelDownload) as Partial<V1Container>;
    dl.args = ["copy", ...rcloneSource(from), to, ...extra, "--stats=30s", "--stats-one-line", "-v"];
    const dlEnv: V1EnvVar[] = env.filter((e) => e.name !== "VLLM_API_KEY" && e.name !== "HF_HOME");
    if (from.kind === "s3" && app.env_vars?.AWS_ENDPOINT_URL !== undefined) dlEnv.push({ name: "RCLONE_S3_ENDPOINT", value: String(app.env_vars.AWS_ENDPOINT_URL) });
    if (dlEnv.length) dl.env = dlEnv;
    dl.volumeMounts = [{ name: "cache", mountPath: CACHE_MOUNT }];
    dl.resources ??= { ...INIT_RESOURCES };
    return { ...dl, name: name.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 63).replace(/-+$/, "") };
  };
  if (draft && isObjectStore(draft)) inits.push(copyStep("draft-download", draft, serve.speculative!.draftPath!, [...DOWNLOAD_FILTER, "--transfers=16"]));
  for (const a of serve.lora?.adapters ?? []) {
    if (isObjectStore(a.source)) inits.push(copyStep(`adapter-${a.name}`, a.source, a.path, ["--transfers=8"]));
  }
  if (app.on_startup) {
    inits.push({
      name: "on-startup",
      image: imageOf(app),
      command: hookArgv(app.on_startup),
      env: env.filter((e) => e.name !== "VLLM_API_KEY"),
      resources: { ...INIT_RESOURCES },
      volumeMounts: mounts.filter((m) => m.name !== "dshm"),
    });
  }
  if (inits.length) pod.initContainers = inits;
  // Pod Security: the profile's securityContexts, HOME and /tmp; the token only for a pod that names its account
  const profile = securityProfileOf(app);
  securePod(pod, profile);
  if (!app.service_account) pod.automountServiceAccountToken = false;
  // scheduling
  if (gpu.count > 0) {
    pod.tolerations = [...(pod.tolerations ?? []), { key: gpu.resource.startsWith("amd.com") ? "amd.com/gpu" : "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }];
  }
  const poolLabel = app.node_labels?.pool ?? DEFAULT_POOL_LABEL;
  if (gpu.type && gpu.count > 0) {
    const scheme = app.node_labels?.scheme ?? "gfd";
    const m = gpuNodeMatches(gpu.type, scheme, app.node_labels?.gpu_product);
    if ("problem" in m) {
      problems.push({ path: ["node_labels", "scheme"], severity: "error", message: m.problem, hint: m.hint });
    } else {
      pod.affinity ??= {};
      pod.affinity.nodeAffinity ??= {};
      pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = {
        nodeSelectorTerms: [{ matchExpressions: m.matches.map((x) => ({ key: x.key, operator: "In", values: x.values })) }],
      };
      if (typeof scheme === "string" && SCHEME_TOLERATIONS[scheme]) pod.tolerations = [...(pod.tolerations ?? []), ...SCHEME_TOLERATIONS[scheme]];
    }
  }
  if (app.service_account) pod.serviceAccountName = app.service_account;
  // two replicas or more: spread them over nodes and zones (preferred: one node or zone still schedules them all)
  const maxReplicas = Array.isArray(reps) ? reps[1] : reps;
  if (maxReplicas >= 2) pod.topologySpreadConstraints = [...(pod.topologySpreadConstraints ?? []), ...spreadOf(selectorOf(app))];
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
  if (profile === "restricted" && gpu.resource.startsWith("amd.com") && gpu.count > 0 && !tpl.spec.securityContext?.supplementalGroups) {
    problems.push({
      path: ["resources", "gpu"], severity: "warning",
      message: `AMD GPUs: /dev/kfd and /dev/dri/renderD* on the node belong to its video and render groups, and under security.profile restricted vLLM runs as UID ${RUN_AS_ID}, outside them: it cannot open the GPUs`,
      hint: "add the node's GIDs (getent group video render, on a GPU node) as pod_template: {spec: {securityContext: {supplementalGroups: [VIDEO, RENDER]}}}, or set security: {profile: privileged} as vLLM's ROCm docs run it",
    });
  }
  const minor = input.kubeMinor ?? NEWEST_SUPPORTED_MINOR;
  podForKubeMinor(tpl.spec, minor);
  const old = kubeVersionWarning(minor);
  if (old) problems.push({ path: [], severity: "warning", message: old, hint: `Kubernetes 1.${minor} is out of its providers' support; upgrade to 1.${OLDEST_SUPPORTED_MINOR} or newer` });
  tpl.spec.containers = tpl.spec.containers.map((x) => orderKeys(x, CONTAINER_KEY_ORDER));
  spec.template = orderKeys(tpl, ["metadata", "spec"]);
  // nodes > 1: a LeaderWorkerSet whose leader is this pod
  const multiNode = serve.parallel && serve.parallel.nodes > 1 ? serve.parallel : undefined;
  const server = multiNode ? renderLeaderWorkerSet(app, dep, multiNode, imageOf(app), budget, profile) : generic(dep);
  objects.push(server);
  problems.push(...podSecurityProblems(server, profile));

  // --- Service
  const svc = typed<V1Service>(meta(clone(t.service), app.name));
  svc.spec ??= {};
  svc.spec.selector = multiNode ? { ...selectorOf(app), [LABEL_ROLE]: "leader" } : selectorOf(app);
  const ports: Partial<V1ServicePort>[] = svc.spec.ports?.length ? svc.spec.ports : [{ name: "http", targetPort: "http", protocol: "TCP" }];
  // the first port gets the app's port; the others are the template's, whole
  svc.spec.ports = ports.map((p, i) => (i === 0 ? { ...p, port: app.port } : p) as V1ServicePort);
  objects.push(generic(svc));

  // --- PodDisruptionBudget: a drain evicts one replica (or group) at a time, never the last ready ones together.
  // A pod that is not ready serves nothing, so it may always be evicted (AlwaysAllow): with the default
  // (IfHealthyBudget) replicas stuck loading or crash-looping would block every drain of their nodes.
  if (maxReplicas >= 2) {
    const spec = { maxUnavailable: 1, selector: { matchLabels: selectorOf(app) }, unhealthyPodEvictionPolicy: "AlwaysAllow" };
    objects.push(meta({ apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name: app.name }, spec }, app.name));
  }

  // --- NetworkPolicy: the pod's ports from anywhere (Service, Ingress, Gateway, Prometheus, KEDA's
  // interceptor); a multi-node group's other ports (torch.distributed, NCCL) only from the app's own pods
  if (app.network_policy) {
    const ports = tpl.spec.containers.flatMap((x) => x.ports ?? []).map((p) => ({ port: p.containerPort, protocol: p.protocol ?? "TCP" }));
    const ingress: object[] = ports.length ? [{ ports }] : [];
    if (multiNode) ingress.push({ from: [{ podSelector: { matchLabels: selectorOf(app) } }] });
    objects.push(meta({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: app.name }, spec: { podSelector: { matchLabels: selectorOf(app) }, policyTypes: ["Ingress"], ingress } }, app.name));
  }

  // --- API key Secret (no data: deploy fills it once); a Secret the user manages is only referenced
  if (apiKeyRef(app)?.generated) objects.push(meta(clone(t.apiKeySecret), `${app.name}-api-key`));

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
    else if (app.cache.access_mode === "ReadWriteMany") {
      problems.push({ path: ["cache", "access_mode"], severity: "warning", message: "a ReadWriteMany cache without cache.storage_class gets the cluster's default StorageClass, and the clouds' defaults (GKE standard-rwo, EKS gp2/gp3, AKS managed-csi) cannot bind ReadWriteMany: the claim and the pods stay Pending", hint: "name a class that provides ReadWriteMany: cache.storage_class (e.g. GKE Filestore standard-rwx, EFS efs-sc, Azure Files azurefile-csi)" });
    }
    if (app.cache.access_mode === "ReadWriteOnce" && (Array.isArray(reps) ? reps[1] > 1 : reps > 1)) {
      problems.push({ path: ["cache", "access_mode"], severity: "warning", message: "a ReadWriteOnce cache volume attaches to one node: replicas on other nodes stay Pending", hint: "use access_mode: ReadWriteMany with a storage class that supports it, or one replica" });
    }
    objects.push(generic(pvc));
  }

  // --- autoscaler and the scrape object it reads
  const host = app.domain ? app.domain.custom_domain ?? `${app.domain.subdomain}.${app.domain.base_domain}` : undefined;
  let ingressBackend: { name: string; port: number } | undefined;
  const autoscaled = Array.isArray(reps);
  if (autoscaled) {
    const scaling = renderAutoscaling({
      app, namespace: input.namespace, scaledObject: meta(clone(t.scaledObject), app.name), meta,
      scaleTarget: multiNode ? { apiVersion: LWS_API_VERSION, kind: "LeaderWorkerSet", name: leaderWorkerSetName(app.name) } : { apiVersion: "apps/v1", kind: "Deployment", name: app.name },
      ingressHost: host, podMonitor: wantsPodMonitor(app, true),
    });
    objects.push(...scaling.objects);
    problems.push(...scaling.problems);
    ingressBackend = scaling.ingressBackend;
  }

  // --- Ingress
  if (app.domain && host) {
    const ing = typed<V1Ingress>(meta(clone(t.ingress), app.name));
    ing.spec ??= {};
    if (app.domain.ingress_class) ing.spec.ingressClassName = app.domain.ingress_class;
    ing.spec.rules = [
      { host, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: ingressBackend ? { name: ingressBackend.name, port: { number: ingressBackend.port } } : { name: app.name, port: { name: "http" } } } }] } },
    ];
    if (app.domain.tls_secret) ing.spec.tls = [{ hosts: [host], secretName: app.domain.tls_secret }];
    objects.push(generic(ing));
  }
  // --- route (HTTPRoute, InferencePool) and monitoring (PodMonitor, dashboard, PrometheusRule)
  for (const part of [renderRoute(app, input.namespace), renderMonitoring(app, model.servedAs, input.namespace, { autoscaledOnMetrics: autoscaled, leaders: multiNode ? { roleLabel: LABEL_ROLE } : undefined })]) {
    objects.push(...part.objects);
    problems.push(...part.problems);
  }
  if (typeof app.pod_template === "string") {
    problems.push({ path: ["pod_template"], severity: "note", message: `pod_template "${app.pod_template}" names a PodTemplate in the cluster: \`deploy\` fetches it and merges the pod into it (\`render\` shows the pod without it)` });
  }
  // every object, however it was built: the app's version and the vllmapp that rendered it
  const versions = versionLabelsOf(app);
  for (const o of objects) o.metadata.labels = { ...o.metadata.labels, ...versions };
  return { objects: sortObjects(objects), problems };
}

/** Preferred spread of the app's pods over nodes and zones (ScheduleAnyway: never a reason to stay Pending). */
function spreadOf(selector: Record<string, string>) {
  return ["kubernetes.io/hostname", "topology.kubernetes.io/zone"].map((topologyKey) => ({ maxSkew: 1, topologyKey, whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } }));
}

/** The init steps' size (model copy, on_startup): rclone and a hook are light next to the server. */
const INIT_RESOURCES = { requests: { cpu: "1", memory: "1Gi" }, limits: { memory: "4Gi" } };

/** The level the rendered pods meet, as a note when it is below restricted (the profile asked for less, or pod_template/templates took it away). */
function podSecurityProblems(server: K8sObject, profile: string): Problem[] {
  const spec = server.spec as { template?: V1PodTemplateSpec; leaderWorkerTemplate?: { leaderTemplate: V1PodTemplateSpec; workerTemplate: V1PodTemplateSpec } };
  const pods = spec.leaderWorkerTemplate ? [spec.leaderWorkerTemplate.leaderTemplate, spec.leaderWorkerTemplate.workerTemplate] : [spec.template!];
  const verdicts = pods.map((p) => podSecurityLevelOf(p.spec!));
  const order = ["privileged", "baseline", "restricted"];
  const worst = verdicts.reduce((a, b) => (order.indexOf(b.level) < order.indexOf(a.level) ? b : a));
  if (worst.level === "restricted") return [];
  const asked = profile === worst.level ? `security.profile ${profile}` : `security.profile ${profile}, with pod_template or --templates`;
  return [{
    path: ["security", "profile"],
    severity: profile === "restricted" ? "warning" : "note",
    message: `the pod meets Pod Security "${worst.level}" (${asked}), not "restricted": ${[...new Set(verdicts.flatMap((v) => v.reasons))].join("; ")}`,
    hint: `a namespace labelled pod-security.kubernetes.io/enforce=restricted refuses it; ${worst.level === "privileged" ? "only enforce=privileged admits it" : "enforce=baseline admits it"}`,
  }];
}

const CONTAINER_KEY_ORDER = ["name", "image", "command", "args", "env", "ports", "resources", "volumeMounts", "startupProbe", "readinessProbe", "livenessProbe", "lifecycle", "securityContext"];

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

const KIND_ORDER = ["Namespace", "Secret", "ConfigMap", "PersistentVolumeClaim", "Service", "Deployment", "LeaderWorkerSet", "PodDisruptionBudget", "NetworkPolicy", "ScaledObject", "HTTPScaledObject", "HorizontalPodAutoscaler", "Ingress", "InferencePool", "HTTPRoute", "PodMonitor", "PrometheusRule"];

const GiB = 2 ** 30;
/** Above this, weights in an emptyDir fill common nodes' root disks (EKS' default 20 GiB, GKE's 100 GB) and the kubelet evicts the pod. */
export const EMPTYDIR_WARN_BYTES = 50 * GiB;

/**
 * Weights that land in the `cache` emptyDir (no `cache:`; a Hugging Face download or an object-store copy)
 * live on the node's disk: request that much ephemeral storage when the model's size is known, and warn
 * when it is large enough to evict pods on common nodes.
 */
function weightsOnNodeDisk(input: RenderInput, requests: Record<string, string>): { problems: Problem[]; sizeLimit?: string } {
  const { app, source: src, modelBytes } = input;
  const onDisk = !app.cache && (src.kind === "hf" || (isObjectStore(src) && !app.stream_model));
  if (!onDisk) return { problems: [] };
  const where = app.model_hf_path !== undefined ? "model_hf_path" : "model_path";
  if (modelBytes === undefined) {
    if (app.resources?.disk !== undefined) return { problems: [], sizeLimit: requests["ephemeral-storage"] };
    return {
      problems: [{
        path: [where], severity: "warning",
        message: "the weights download into an emptyDir on the node's disk, and their size is not known here: the pod requests no ephemeral storage for them, so the scheduler may place it on a node whose disk they fill (the kubelet then evicts it)",
        hint: "add cache: {size: …} for a volume of their own, or resources.disk; `render --resolve` and `deploy` size it from the source",
      }],
    };
  }
  const need = Math.ceil((modelBytes * 1.1) / GiB) + 1;
  const problems: Problem[] = [];
  if (app.resources?.disk === undefined) requests["ephemeral-storage"] = `${need}Gi`;
  else if (quantityValue(app.resources.disk) < modelBytes) {
    problems.push({ path: ["resources", "disk"], severity: "warning", message: `resources.disk ${app.resources.disk} is smaller than the model's weights (${(modelBytes / 1e9).toFixed(1)} GB), which are downloaded into an emptyDir on the node`, hint: `give at least ${need}Gi, or add cache: {size: ${need}Gi} for a volume of its own` });
  }
  if (modelBytes * 1.1 > EMPTYDIR_WARN_BYTES) {
    problems.push({ path: [where], severity: "warning", message: `${(modelBytes / 1e9).toFixed(1)} GB of weights land in an emptyDir on the node's disk (no cache:); nodes with small root disks (EKS' default 20 GiB, GKE's 100 GB) run out and evict the pod`, hint: `add cache: {size: ${need}Gi} to keep the weights on a volume of their own` });
  }
  return { problems, sizeLimit: requests["ephemeral-storage"] ?? `${need}Gi` };
}

export function sortObjects(objs: K8sObject[]): K8sObject[] {
  return [...objs].sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || a.metadata.name.localeCompare(b.metadata.name));
}
