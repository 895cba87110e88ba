/**
 * renderApp: config + model source + templates → serve argv, Kubernetes objects, docker argv.
 * PURE: every input (templates, include files, the host's home) is passed in. Same input, same bytes.
 */
import { createHash } from "node:crypto";
import type { AppConfig } from "../config/schema.js";
import { parseDuration } from "../config/units.js";
import { dockerSize } from "../config/units.js";
import {
  isObjectStore, servedModelName, sourceUri,
  type ModelSource,
} from "../models/source.js";
import { shellSplit } from "../text.js";
import { strategicMerge } from "./merge.js";
import { gpuRequest, sizeResources, type GpuRequest } from "./resources.js";
import { substituteParameters, validateExtraArgs, type ArgProblem, type ArgToken } from "./serve-args.js";
import { chooseCatalog } from "./vllm-catalog.js";

/** The newest vLLM release with a catalog (templates/vllm/catalogs/index.json), pinned. */
export const DEFAULT_IMAGE = "vllm/vllm-openai:v0.33.0";
export const FIELD_MANAGER = "vllmapp";
export const LABEL_APP = "vllmapp.dev/app";
export const CACHE_MOUNT = "/cache";
export const INCLUDE_MOUNT = "/app/include";
export const PVC_MOUNT = "/mnt/model";

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
};

export interface Templates {
  deployment: K8sObject;
  service: K8sObject;
  apiKeySecret: K8sObject;
  cachePvc: K8sObject;
  scaledObject: K8sObject;
  ingress: K8sObject;
  includeConfigMap: K8sObject;
  modelDownload: Record<string, unknown>;
}

export interface IncludeFile {
  /** the path as written in vllm-app.yaml */
  path: string;
  /** absolute path on this machine (Docker bind mount) */
  hostPath: string;
  /** file name inside /app/include */
  name: string;
  content: string;
}

export type Target = "kubernetes" | "docker";

export interface RenderInput {
  app: AppConfig;
  source: ModelSource;
  /** the source as written, when `source` is the result of resolving a run output or registry URI */
  resolvedFrom?: string;
  templates: Templates;
  includes: IncludeFile[];
  /** --param overrides */
  params: ReadonlyMap<string, string>;
  target: Target;
  namespace?: string;
  /** Docker only: the host's home (for the Hugging Face cache mount) */
  hostHome: string;
  /** Docker only: the host address the port is published on */
  dockerBind?: string;
  /** Docker only: override of --gpus ("all", "0" for none, "0,1") */
  dockerGpus?: string;
}

export interface Problem extends ArgProblem {}

export interface RenderedApp {
  name: string;
  target: Target;
  namespace?: string;
  model: { kind: ModelSource["kind"]; uri: string; servedAs: string; resolvedFrom?: string };
  serve: { command: string[]; args: string[] };
  objects?: K8sObject[];
  docker?: DockerPlan;
  problems: Problem[];
}

export interface DockerPlan {
  /** `docker run -d …` */
  argv: string[];
  container: string;
  port: number;
  /** names passed with `-e NAME`: their values come from the docker process's environment */
  envFromHost: string[];
  /** hash of the rendered spec, also in the label vllmapp.hash */
  hash: string;
  /** one-off steps before `docker run`: model copy, on_startup */
  before: { what: string; argv: string[]; envFromHost: string[] }[];
  /** `docker exec` before `docker stop` */
  onShutdown?: string[];
  requiresApiKey: boolean;
  image: string;
  modelCacheDir?: string;
}

export function imageOf(app: AppConfig): string {
  return app.image === "auto" ? DEFAULT_IMAGE : app.image;
}

export function labelsOf(app: AppConfig): Record<string, string> {
  return {
    "app.kubernetes.io/name": app.name,
    "app.kubernetes.io/instance": app.name,
    "app.kubernetes.io/component": "model-server",
    "app.kubernetes.io/managed-by": "vllmapp",
    [LABEL_APP]: app.name,
  };
}

export function selectorOf(app: AppConfig): Record<string, string> {
  return { [LABEL_APP]: app.name };
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

function paramEnvName(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
}

/** Parameter values after --param overrides. */
export function parameterValues(app: AppConfig, overrides: ReadonlyMap<string, string>): { values: Map<string, string>; problems: Problem[] } {
  const values = new Map<string, string>();
  for (const p of app.parameters ?? []) values.set(p.name, String(p.value));
  const problems: Problem[] = [];
  for (const [k, v] of overrides) {
    if (!values.has(k)) {
      problems.push({ path: ["parameters"], severity: "error", message: `--param ${k}=… names no parameter of app "${app.name}"`, hint: values.size ? `its parameters: ${[...values.keys()].join(", ")}` : "declare it under parameters: [{name, value}]" });
    } else values.set(k, v);
  }
  return { values, problems };
}

interface ServeResult {
  command: string[];
  args: string[];
  problems: Problem[];
  modelArg: string;
}

/** The model argument vLLM gets, for each kind of source and target. */
function modelArgument(app: AppConfig, src: ModelSource, target: Target): string {
  switch (src.kind) {
    case "hf":
      return src.repo;
    case "s3":
    case "gs":
    case "az":
      if (app.stream_model) return src.uri;
      return target === "kubernetes" ? `${CACHE_MOUNT}/models/${app.name}` : `/models/${app.name}`;
    case "pvc":
      return src.subPath ? `${PVC_MOUNT}/${src.subPath}` : PVC_MOUNT;
    case "path":
      return src.path;
    default:
      // unresolved run output / registry URI: shown symbolically until resolved
      return sourceUri(src);
  }
}

export function buildServeArgs(app: AppConfig, src: ModelSource, target: Target, gpu: GpuRequest, params: ReadonlyMap<string, string>): ServeResult {
  const problems: Problem[] = [];
  const modelArg = modelArgument(app, src, target);
  if (app.command !== undefined) {
    const cmd = typeof app.command === "string" ? shellSplit(app.command) : app.command;
    problems.push({ path: ["command"], severity: "warning", message: "command replaces the whole container command: vllmapp does not check its flags, and port, model_id and the model source are up to you" });
    return { command: cmd, args: [], problems, modelArg };
  }
  const loader: string[] = [];
  if (src.kind === "hf" && src.revision) loader.push("--revision", src.revision);
  if (isObjectStore(src) && app.stream_model) loader.push("--load-format", "runai_streamer");
  if ((src.kind === "hf" || src.kind === "pvc") && app.stream_model === false) {
    problems.push({ path: ["stream_model"], severity: "note", message: `stream_model applies to object-store sources only; ignored for a ${src.kind === "hf" ? "Hugging Face" : "PVC"} source` });
  }
  let tokens: ArgToken[] = [];
  if (typeof app.extra_args === "string") {
    try {
      tokens = shellSplit(app.extra_args).map((value) => ({ value, path: ["extra_args"] }));
    } catch (e) {
      problems.push({ path: ["extra_args"], severity: "error", message: `extra_args: ${(e as Error).message}`, hint: "close the quote, or write extra_args as a list" });
    }
  } else if (app.extra_args) {
    tokens = app.extra_args.map((value, i) => ({ value, path: ["extra_args", i] }));
  }
  const sub = substituteParameters(tokens, params);
  problems.push(...sub.problems);
  const release = chooseCatalog(app.image, app.vllm_version, DEFAULT_IMAGE);
  if (release.why && sub.tokens.length) problems.push({ path: [app.vllm_version !== undefined ? "vllm_version" : "image"], severity: "warning", message: release.why, hint: release.source === "default" ? 'set vllm_version: "X.Y.Z" to the release the image runs' : undefined });
  const checked = validateExtraArgs(sub.tokens, release.exact, { version: release.version, imageVersion: release.imageVersion ?? release.version });
  problems.push(...checked.problems);
  const args = [modelArg, "--served-model-name", servedModelName(app, src), "--port", String(app.port), ...loader, ...checked.args];
  if (gpu.count > 1 && !gpu.partition && !checked.flagsSet.has("--tensor-parallel-size")) {
    args.push("--tensor-parallel-size", String(gpu.count));
  }
  return { command: ["vllm", "serve"], args, problems, modelArg };
}

function annotationsOf(app: AppConfig, model: RenderedApp["model"]): Record<string, string> {
  const a: Record<string, string> = {
    "vllmapp.dev/model-uri": model.uri,
    "vllmapp.dev/model-id": model.servedAs,
  };
  if (model.resolvedFrom) a["vllmapp.dev/model-source"] = model.resolvedFrom;
  if (app.description) a["vllmapp.dev/description"] = app.description;
  if (app.links?.length) a["vllmapp.dev/links"] = JSON.stringify(app.links);
  return a;
}

type EnvVar = { name: string; value?: string; valueFrom?: unknown };

/**
 * The environment that is not secret, for both targets, in order: env_vars; for an S3-compatible
 * store (AWS_ENDPOINT_URL set) the Run:ai streamer's path-style addressing and no EC2 metadata lookups,
 * unless env_vars sets them; then parameters.
 */
function plainEnvOf(app: AppConfig, src: ModelSource, params: ReadonlyMap<string, string>): [string, string][] {
  const env: [string, string][] = Object.entries(app.env_vars ?? {}).map(([k, v]) => [k, String(v)]);
  if (src.kind === "s3" && app.env_vars?.AWS_ENDPOINT_URL !== undefined) {
    if (app.env_vars.RUNAI_STREAMER_S3_USE_VIRTUAL_ADDRESSING === undefined) env.push(["RUNAI_STREAMER_S3_USE_VIRTUAL_ADDRESSING", "0"]);
    if (app.env_vars.AWS_EC2_METADATA_DISABLED === undefined) env.push(["AWS_EC2_METADATA_DISABLED", "true"]);
  }
  for (const p of app.parameters ?? []) env.push([p.env_var ?? paramEnvName(p.name), params.get(p.name) ?? String(p.value)]);
  return env;
}

function envOf(app: AppConfig, src: ModelSource, params: ReadonlyMap<string, string>): { env: EnvVar[]; secretMounts: { volume: unknown; mount: unknown }[] } {
  const env: EnvVar[] = [];
  const add = (e: EnvVar) => {
    const i = env.findIndex((x) => x.name === e.name);
    if (i >= 0) env[i] = e;
    else env.push(e);
  };
  if (src.kind === "hf" || app.cache) add({ name: "HF_HOME", value: `${CACHE_MOUNT}/huggingface` });
  for (const [name, value] of plainEnvOf(app, src, params)) add({ name, value });
  const secretMounts: { volume: unknown; mount: unknown }[] = [];
  for (const s of app.secrets ?? []) {
    if (typeof s === "string") {
      add({ name: s, valueFrom: { secretKeyRef: { name: `${app.name}-secrets`, key: s } } });
    } else if (s.mount) {
      const secret = s.secret ?? `${app.name}-secrets`;
      const key = s.key ?? s.env_var!;
      const vol = `secret-${secret}-${key}`.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 63).replace(/-+$/, "");
      secretMounts.push({
        volume: { name: vol, secret: { secretName: secret, items: [{ key, path: key }] } },
        mount: { name: vol, mountPath: `${s.mount.replace(/\/+$/, "")}/${key}`, subPath: key, readOnly: true },
      });
    } else {
      add({ name: s.env_var!, valueFrom: { secretKeyRef: { name: s.secret ?? `${app.name}-secrets`, key: s.key ?? s.env_var! } } });
    }
  }
  if (app.requires_auth) add({ name: "VLLM_API_KEY", valueFrom: { secretKeyRef: { name: `${app.name}-api-key`, key: "VLLM_API_KEY" } } });
  return { env, secretMounts };
}

/** rclone source for an object-store URI, with the flags that make it use the standard credentials. */
function rcloneSource(src: Extract<ModelSource, { kind: "s3" | "gs" | "az" }>): string[] {
  const path = src.prefix ? `${src.bucket}/${src.prefix}` : src.bucket;
  switch (src.kind) {
    case "s3":
      return [`:s3:${path}`, "--s3-env-auth", "--s3-provider=Other"];
    case "gs":
      return [`:gcs:${path}`, "--gcs-env-auth"];
    case "az":
      return [`:azureblob:${path}`, "--azureblob-env-auth"];
  }
}

const DOWNLOAD_FILTER = ["--exclude", "original/**", "--exclude", "*.pth"];

function hashOf(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16);
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

function renderKubernetes(input: RenderInput, serve: ServeResult, model: RenderedApp["model"], gpu: GpuRequest): { objects: K8sObject[]; problems: Problem[] } {
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
  const { env, secretMounts } = envOf(app, src, input.params);

  // --- Deployment
  const dep = meta(clone(t.deployment), app.name, annotations) as any;
  const spec = (dep.spec ??= {});
  const reps = app.scaling?.replicas ?? 1;
  if (Array.isArray(reps)) delete spec.replicas;
  else spec.replicas = reps;
  spec.selector = { matchLabels: selectorOf(app) };
  const tpl = (spec.template ??= {});
  tpl.metadata = { ...(tpl.metadata ?? {}), labels: { ...(tpl.metadata?.labels ?? {}), ...labels } };
  const podAnn: Record<string, string> = { ...(tpl.metadata.annotations ?? {}) };
  if (input.includes.length) podAnn["vllmapp.dev/include-hash"] = hashOf(input.includes.map((f) => [f.name, f.content]));
  if (Object.keys(podAnn).length) tpl.metadata.annotations = podAnn;
  const pod = (tpl.spec ??= {});
  pod.containers ??= [];
  let c = pod.containers.find((x: any) => x.name === "vllm");
  if (!c) pod.containers.unshift((c = { name: "vllm" }));
  c.image = imageOf(app);
  c.command = serve.command;
  if (serve.args.length) c.args = serve.args;
  else delete c.args;
  c.env = [...(c.env ?? []).filter((e: EnvVar) => !env.some((x) => x.name === e.name)), ...env];
  c.resources = { requests: sizing.requests, limits: sizing.limits };
  c.ports = [{ ...(c.ports?.find((p: any) => p.name === "http") ?? {}), name: "http", containerPort: app.port, protocol: "TCP" }];
  const budget = parseDuration(app.startup_timeout) ?? 1800;
  if (c.startupProbe) {
    const period = c.startupProbe.periodSeconds ?? 10;
    c.startupProbe.failureThreshold = Math.max(1, Math.ceil(budget / period));
  }
  if (app.on_shutdown) {
    c.lifecycle = { ...(c.lifecycle ?? {}), preStop: { exec: { command: ["/bin/sh", "-c", '"$@"; sleep 10', "vllmapp-on-shutdown", ...app.on_shutdown] } } };
  }
  const mounts: any[] = [...(c.volumeMounts ?? [])];
  const volumes: any[] = [...(pod.volumes ?? [])];
  const setVolume = (v: any) => {
    const i = volumes.findIndex((x) => x.name === v.name);
    if (i >= 0) volumes[i] = v;
    else volumes.push(v);
  };
  const setMount = (m: any) => {
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
    setVolume({ name: "include", configMap: { name: `${app.name}-include` } });
    setMount({ name: "include", mountPath: INCLUDE_MOUNT, readOnly: true });
  }
  for (const s of secretMounts) {
    setVolume(s.volume);
    setMount(s.mount);
  }
  c.volumeMounts = mounts;
  pod.volumes = volumes;
  // init containers: model copy, then on_startup
  const inits: any[] = [...(pod.initContainers ?? [])];
  if (isObjectStore(src) && !app.stream_model) {
    const dl: any = clone(t.modelDownload);
    dl.name ??= "model-download";
    dl.args = ["copy", ...rcloneSource(src), `${CACHE_MOUNT}/models/${app.name}`, ...DOWNLOAD_FILTER, "--transfers=16", "--checkers=16", "--stats=30s", "--stats-one-line", "-v"];
    const dlEnv = env.filter((e) => e.name !== "VLLM_API_KEY" && e.name !== "HF_HOME");
    if (src.kind === "s3" && app.env_vars?.AWS_ENDPOINT_URL !== undefined) dlEnv.push({ name: "RCLONE_S3_ENDPOINT", value: String(app.env_vars.AWS_ENDPOINT_URL) });
    if (dlEnv.length) dl.env = dlEnv;
    dl.volumeMounts = [{ name: "cache", mountPath: CACHE_MOUNT }];
    dl.resources ??= { requests: { cpu: "1", memory: "1Gi" }, limits: { memory: "4Gi" } };
    inits.push(dl);
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
  tpl.spec.containers = tpl.spec.containers.map((x: Record<string, unknown>) => orderKeys(x, CONTAINER_KEY_ORDER));
  spec.template = orderKeys(tpl, ["metadata", "spec"]);
  objects.push(dep);

  // --- Service
  const svc = meta(clone(t.service), app.name) as any;
  svc.spec ??= {};
  svc.spec.selector = selectorOf(app);
  svc.spec.ports = (svc.spec.ports?.length ? svc.spec.ports : [{ name: "http", targetPort: "http", protocol: "TCP" }]).map((p: any, i: number) =>
    i === 0 ? { ...p, port: app.port } : p,
  );
  objects.push(svc);

  // --- API key Secret (no data: deploy fills it once)
  if (app.requires_auth) objects.push(meta(clone(t.apiKeySecret), `${app.name}-api-key`));

  // --- include ConfigMap
  if (input.includes.length) {
    const cm = meta(clone(t.includeConfigMap), `${app.name}-include`) as any;
    cm.data = Object.fromEntries(input.includes.map((f) => [f.name, f.content]));
    objects.push(cm);
  }

  // --- cache PVC
  if (app.cache) {
    const pvc = meta(clone(t.cachePvc), `${app.name}-cache`) as any;
    pvc.spec ??= {};
    pvc.spec.accessModes = [app.cache.access_mode];
    pvc.spec.resources = { requests: { storage: String(app.cache.size) } };
    if (app.cache.storage_class) pvc.spec.storageClassName = app.cache.storage_class;
    if (app.cache.access_mode === "ReadWriteOnce" && (Array.isArray(reps) ? reps[1] > 1 : reps > 1)) {
      problems.push({ path: ["cache", "access_mode"], severity: "warning", message: "a ReadWriteOnce cache volume attaches to one node: replicas on other nodes stay Pending", hint: "use access_mode: ReadWriteMany with a storage class that supports it, or one replica" });
    }
    objects.push(pvc);
  }

  // --- autoscaler
  if (Array.isArray(reps)) {
    const so = meta(clone(t.scaledObject), app.name) as any;
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
    objects.push(so);
  }

  // --- Ingress
  if (app.domain) {
    const host = app.domain.custom_domain ?? `${app.domain.subdomain}.${app.domain.base_domain}`;
    const ing = meta(clone(t.ingress), app.name) as any;
    ing.spec ??= {};
    if (app.domain.ingress_class) ing.spec.ingressClassName = app.domain.ingress_class;
    ing.spec.rules = [
      { host, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: app.name, port: { name: "http" } } } }] } },
    ];
    if (app.domain.tls_secret) ing.spec.tls = [{ hosts: [host], secretName: app.domain.tls_secret }];
    objects.push(ing);
  }
  if (typeof app.pod_template === "string") {
    problems.push({ path: ["pod_template"], severity: "note", message: `pod_template "${app.pod_template}" names a PodTemplate in the cluster: \`deploy\` fetches it and merges the pod into it (\`render\` shows the pod without it)` });
  }
  return { objects: sortObjects(objects), problems };
}

const CONTAINER_KEY_ORDER = ["name", "image", "command", "args", "env", "ports", "resources", "volumeMounts", "startupProbe", "readinessProbe", "livenessProbe", "lifecycle"];

/** The same object with the named keys first, in that order (for readable, stable output). */
function orderKeys<T extends Record<string, unknown>>(obj: T, first: readonly string[]): T {
  const out: Record<string, unknown> = {};
  for (const k of first) if (k in obj) out[k] = obj[k];
  for (const [k, v] of Object.entries(obj)) if (!(k in out)) out[k] = v;
  return out as T;
}

const KIND_ORDER = ["Namespace", "Secret", "ConfigMap", "PersistentVolumeClaim", "Service", "Deployment", "ScaledObject", "HorizontalPodAutoscaler", "Ingress"];

export function sortObjects(objs: K8sObject[]): K8sObject[] {
  return [...objs].sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || a.metadata.name.localeCompare(b.metadata.name));
}

function renderDocker(input: RenderInput, serve: ServeResult, gpu: GpuRequest): { docker: DockerPlan; problems: Problem[] } {
  const { app, source: src } = input;
  const problems: Problem[] = [];
  const container = `vllmapp-${app.name}`;
  const image = imageOf(app);
  const bind = input.dockerBind ?? "127.0.0.1";
  const sizing = sizeResources(app, gpu);
  const envFromHost: string[] = [];
  const flags: string[] = [];
  // GPUs: the count becomes devices 0..N-1; --gpus overrides it ("0" or "none": no GPUs)
  const devices = Array.from({ length: gpu.count }, (_, i) => i).join(",");
  const gpus = input.dockerGpus === undefined ? devices : input.dockerGpus === "0" || input.dockerGpus === "none" ? "" : input.dockerGpus;
  if (gpus === "all") flags.push("--gpus", "all");
  else if (gpus !== "") flags.push("--gpus", `"device=${gpus}"`);
  if (gpu.partition) problems.push({ path: ["resources", "gpu", "partition"], severity: "note", message: "MIG partitions are a Kubernetes scheduling concept; Docker gets whole devices" });
  if (sizing.shmAuto) flags.push("--ipc=host");
  else flags.push("--shm-size", dockerSize(sizing.shm));
  flags.push("-p", `${bind}:${app.port}:${app.port}`);
  const hfCache = `${input.hostHome}/.cache/huggingface`;
  flags.push("-v", `${hfCache}:/root/.cache/huggingface`);
  let modelCacheDir: string | undefined;
  const before: DockerPlan["before"] = [];
  const plainEnv: string[] = [];
  for (const [name, value] of plainEnvOf(app, src, input.params)) plainEnv.push("-e", `${name}=${value}`);
  const secretEnv: string[] = [];
  for (const s of app.secrets ?? []) {
    if (typeof s === "string") {
      secretEnv.push("-e", s);
      envFromHost.push(s);
    } else if (s.mount) {
      problems.push({ path: ["secrets"], severity: "warning", message: `secret ${s.secret ?? `${app.name}-secrets`}/${s.key ?? s.env_var} is mounted as a file on Kubernetes only; the local container does not get it`, hint: `for Docker, add a bind mount through command or pass it as an env_var secret` });
    } else {
      secretEnv.push("-e", s.env_var!);
      envFromHost.push(s.env_var!);
    }
  }
  // one-off steps get the secrets, not the API key (filtering "-e VLLM_API_KEY" pairwise would leave a dangling "-e")
  const stepSecretEnv = [...secretEnv];
  if (app.requires_auth) {
    secretEnv.push("-e", "VLLM_API_KEY");
    envFromHost.push("VLLM_API_KEY");
  }
  const includeMounts: string[] = [];
  for (const f of input.includes) includeMounts.push("-v", `${f.hostPath}:${INCLUDE_MOUNT}/${f.name}:ro`);
  if (src.kind === "pvc") {
    problems.push({ path: ["model_path"], severity: "error", message: `pvc://${src.claim} is a Kubernetes volume: it is not available with --target docker`, hint: "copy the model to an object store or a local path for local runs, or deploy to Kubernetes" });
  }
  if (isObjectStore(src) && !app.stream_model) {
    modelCacheDir = `${input.hostHome}/.cache/vllmapp/models/${app.name}`;
    flags.push("-v", `${modelCacheDir}:/models/${app.name}:ro`);
    const endpoint = src.kind === "s3" && app.env_vars?.AWS_ENDPOINT_URL !== undefined ? ["-e", `RCLONE_S3_ENDPOINT=${String(app.env_vars.AWS_ENDPOINT_URL)}`] : [];
    before.push({
      what: `copy ${src.uri} into ${modelCacheDir}`,
      argv: ["docker", "run", "--rm", "--network", "host", ...plainEnv, ...endpoint, ...stepSecretEnv, "-v", `${modelCacheDir}:/data`, String(input.templates.modelDownload.image ?? "rclone/rclone:1.71.1"), "copy", ...rcloneSource(src), "/data", ...DOWNLOAD_FILTER, "--transfers=16", "--stats=30s", "--stats-one-line", "-v"],
      envFromHost: envFromHost.filter((n) => n !== "VLLM_API_KEY"),
    });
  }
  if (app.on_startup) {
    before.push({
      what: `on_startup: ${app.on_startup.join(" ")}`,
      argv: ["docker", "run", "--rm", ...plainEnv, ...stepSecretEnv, "-v", `${hfCache}:/root/.cache/huggingface`, ...includeMounts, "--entrypoint", app.on_startup[0]!, image, ...app.on_startup.slice(1)],
      envFromHost: envFromHost.filter((n) => n !== "VLLM_API_KEY"),
    });
  }
  const [entry, ...rest] = serve.command;
  const body = [...flags, ...plainEnv, ...secretEnv, ...includeMounts, "--entrypoint", entry!, image, ...rest, ...serve.args];
  const hash = hashOf({ body, before: before.map((b) => b.argv), onShutdown: app.on_shutdown });
  const labels = ["--label", `vllmapp.app=${app.name}`, "--label", `vllmapp.hash=${hash}`, "--label", `vllmapp.port=${app.port}`, "--label", `vllmapp.model-id=${servedModelName(app, src)}`, "--label", `vllmapp.model-uri=${sourceUri(src)}`];
  // delete and redeploy run the container's own on_shutdown, whatever the file says by then
  if (app.on_shutdown) labels.push("--label", `vllmapp.on-shutdown=${JSON.stringify(app.on_shutdown)}`);
  const argv = ["docker", "run", "-d", "--name", container, ...labels, ...body];
  return {
    docker: { argv, container, port: app.port, envFromHost, hash, before, onShutdown: app.on_shutdown ? ["docker", "exec", container, ...app.on_shutdown] : undefined, requiresApiKey: app.requires_auth, image, modelCacheDir },
    problems,
  };
}

/** Render one app for its target. Problems (errors included) are returned, not thrown. */
export function renderApp(input: RenderInput): RenderedApp {
  const { app, source } = input;
  const gpu = gpuRequest(app);
  const params = parameterValues(app, input.params);
  const serve = buildServeArgs(app, source, input.target, gpu, params.values);
  const model: RenderedApp["model"] = { kind: source.kind, uri: sourceUri(source), servedAs: servedModelName(app, source) };
  if (input.resolvedFrom) model.resolvedFrom = input.resolvedFrom;
  const problems: Problem[] = [...params.problems, ...serve.problems];
  if (!/@sha256:[0-9a-f]{64}$/.test(app.image) && !/:[\w][\w.-]{0,127}$/.test(app.image.replace(/^[^/]+:\d+\//, ""))) {
    if (app.image !== "auto") problems.push({ path: ["image"], severity: "warning", message: `image "${app.image}" has no tag, so every node may pull a different build`, hint: `pin a tag or digest, e.g. ${app.image}:${DEFAULT_IMAGE.split(":").pop()}` });
  } else if (/:latest$/.test(app.image)) {
    problems.push({ path: ["image"], severity: "warning", message: `image "${app.image}" uses :latest, so every node may pull a different build`, hint: "pin a release tag or a digest" });
  }
  if (source.kind === "run_output" || source.kind === "mlflow_model") {
    problems.push({ path: ["model_path"], severity: "note", message: `${model.uri} is resolved at deploy time (\`vllmapp check\` resolves it now)` });
  }
  const base = { name: app.name, target: input.target, ...(input.namespace ? { namespace: input.namespace } : {}), model, serve: { command: serve.command, args: serve.args } };
  if (input.target === "docker") {
    const d = renderDocker({ ...input, params: params.values }, serve, gpu);
    return { ...base, docker: d.docker, problems: [...problems, ...d.problems] };
  }
  const k = renderKubernetes({ ...input, params: params.values }, serve, model, gpu);
  return { ...base, objects: k.objects, problems: [...problems, ...k.problems] };
}
