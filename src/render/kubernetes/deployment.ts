/**
 * The server's Deployment (or, nodes > 1, the LeaderWorkerSet whose leader is its pod): the template's
 * pod with the vllm container filled in, its volumes and init steps (pod.ts, artifacts.ts), Pod
 * Security, scheduling, the app's pod_template merged last. Pure.
 */
import type {
  V1Container,
  V1Deployment,
  V1DeploymentSpec,
  V1EnvVar,
  V1PodSpec,
  V1PodTemplateSpec,
} from "@kubernetes/client-node";
import { DEFAULT_POOL_LABEL, gpuNodeMatches, SCHEME_TOLERATIONS } from "../../config/gpus.js";
import type { AppConfig } from "../../config/schema.js";
import type { SecretMount } from "../env.js";
import {
  kubeVersionWarning,
  NEWEST_SUPPORTED_MINOR,
  OLDEST_SUPPORTED_MINOR,
  podForKubeMinor,
} from "../kube-version.js";
import {
  ANNOTATION_INCLUDE_HASH,
  appVersionOf,
  CACHE_MOUNT,
  hookArgv,
  imageOf,
  INCLUDE_MOUNT,
  selectorOf,
} from "../labels.js";
import { renderLeaderWorkerSet } from "../leader-worker-set.js";
import { strategicMerge } from "../merge.js";
import { hashOf } from "../model-copy.js";
import type { GpuRequest, Sizing } from "../resources.js";
import { podSecurityLevelOf, RUN_AS_ID, securePod, securityProfileOf, type SecurityProfile } from "../security.js";
import { includeKey, type ServeResult } from "../serve.js";
import type { K8sObject, RenderInput } from "../types.js";
import type { Finding } from "../../errors.js";
import { artifactsOf, copySteps, mountArtifacts, type Artifacts } from "./artifacts.js";
import { clone, generic, INIT_RESOURCES, typed, type Meta } from "./common.js";
import { PodBuilder } from "./pod.js";

/** What the server's pod is made of, decided before it is built. */
export interface ServerParts {
  input: RenderInput;
  serve: ServeResult;
  gpu: GpuRequest;
  sizing: Sizing;
  /** the cache emptyDir's size limit, when the weights land on the node's disk */
  cacheSizeLimit?: string;
  env: V1EnvVar[];
  secretMounts: SecretMount[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  meta: Meta;
}

export interface RenderedServer {
  server: K8sObject;
  /** the pod as rendered (the NetworkPolicy admits its ports) */
  pod: V1PodSpec;
  multiNode: boolean;
  problems: Finding[];
}

export function renderServer(p: ServerParts): RenderedServer {
  const { app } = p.input;
  const dep = typed<V1Deployment>(p.meta(clone(p.input.templates.deployment), app.name, p.annotations));
  // selector and template are set right below
  const spec = (dep.spec ??= {} as V1DeploymentSpec);
  const reps = app.scaling?.replicas ?? 1;
  if (Array.isArray(reps)) delete spec.replicas;
  else spec.replicas = reps;
  spec.selector = { matchLabels: selectorOf(app) };
  const tpl = (spec.template ??= {});
  const appVersion = appVersionOf(app);
  tpl.metadata = {
    ...(tpl.metadata ?? {}),
    labels: {
      ...(tpl.metadata?.labels ?? {}),
      ...p.labels,
      ...(appVersion ? { "app.kubernetes.io/version": appVersion } : {}),
    },
  };
  const podAnn: Record<string, string> = { ...(tpl.metadata.annotations ?? {}) };
  if (p.input.includes.length)
    podAnn[ANNOTATION_INCLUDE_HASH] = hashOf(p.input.includes.map((f) => [f.name, f.content]));
  if (Object.keys(podAnn).length) tpl.metadata.annotations = podAnn;
  const pod = (tpl.spec ??= { containers: [] });
  pod.containers ??= [];
  let c = pod.containers.find((x) => x.name === "vllm");
  if (!c) pod.containers.unshift((c = { name: "vllm" }));
  fillServer(c, p);
  const builder = new PodBuilder(pod, c);
  const artifacts = artifactsOf(app, p.input.source, p.serve);
  addStorage(builder, p, artifacts);
  addInits(builder, p, artifacts);
  builder.finish();
  // Pod Security: the profile's securityContexts, HOME and /tmp; the token only for a pod that names its account
  const profile = securityProfileOf(app);
  securePod(pod, profile);
  if (!app.service_account) pod.automountServiceAccountToken = false;
  const problems = schedule(builder, app, p.gpu);
  problems.push(...finishTemplate(tpl, pod, app, p.gpu, profile, p.input.kubeMinor));
  spec.template = orderKeys(tpl, ["metadata", "spec"]);
  // nodes > 1: a LeaderWorkerSet whose leader is this pod
  const multiNode = p.serve.parallel && p.serve.parallel.nodes > 1 ? p.serve.parallel : undefined;
  const server = multiNode
    ? renderLeaderWorkerSet(app, dep, multiNode, imageOf(app), app.startup_timeout, profile)
    : generic(dep);
  problems.push(...podSecurityProblems(server, profile));
  return { server, pod: spec.template.spec!, multiNode: multiNode !== undefined, problems };
}

/** The vllm container: image, `vllm serve`, environment, resources, port, the startup probe's budget, on_shutdown. */
function fillServer(c: V1Container, p: ServerParts): void {
  const { app } = p.input;
  c.image = imageOf(app);
  c.command = p.serve.command;
  if (p.serve.args.length) c.args = p.serve.args;
  else delete c.args;
  for (const [name, value] of p.serve.lora?.env ?? []) p.env.push({ name, value });
  c.env = [...(c.env ?? []).filter((e) => !p.env.some((x) => x.name === e.name)), ...p.env];
  c.resources = { requests: p.sizing.requests, limits: p.sizing.limits };
  c.ports = [
    { ...(c.ports?.find((x) => x.name === "http") ?? {}), name: "http", containerPort: app.port, protocol: "TCP" },
  ];
  if (c.startupProbe) {
    const period = c.startupProbe.periodSeconds ?? 10;
    c.startupProbe.failureThreshold = Math.max(1, Math.ceil(app.startup_timeout / period));
  }
  if (app.on_shutdown) {
    c.lifecycle = {
      ...(c.lifecycle ?? {}),
      preStop: {
        exec: { command: ["/bin/sh", "-c", '"$@"; sleep 10', "vllmapp-on-shutdown", ...hookArgv(app.on_shutdown)] },
      },
    };
  }
}

/** /dev/shm, the cache, the models' claims, the included files and the mounted secrets. */
function addStorage(pod: PodBuilder, p: ServerParts, artifacts: Artifacts): void {
  const { app, includes } = p.input;
  pod.addVolume({ name: "dshm", emptyDir: { medium: "Memory", sizeLimit: p.sizing.shm } });
  pod.addVolume(
    app.cache
      ? { name: "cache", persistentVolumeClaim: { claimName: `${app.name}-cache` } }
      : { name: "cache", emptyDir: p.cacheSizeLimit ? { sizeLimit: p.cacheSizeLimit } : {} },
  );
  if (!pod.hasMount("cache")) pod.addMount({ name: "cache", mountPath: CACHE_MOUNT });
  mountArtifacts(pod, artifacts);
  if (includes.length) {
    pod.addVolume({
      name: "include",
      configMap: { name: `${app.name}-include`, items: includes.map((f) => ({ key: includeKey(f), path: f.name })) },
    });
    pod.addMount({ name: "include", mountPath: INCLUDE_MOUNT, readOnly: true });
  }
  for (const s of p.secretMounts) pod.addVolume(s.volume).addMount(s.mount);
}

/** Init steps: the models' copies, then on_startup (with what the server mounts, /dev/shm aside). */
function addInits(pod: PodBuilder, p: ServerParts, artifacts: Artifacts): void {
  const { app } = p.input;
  for (const step of copySteps(app, p.input.templates.modelDownload, p.env, artifacts)) pod.addInit(step);
  if (app.on_startup) {
    pod.addInit({
      name: "on-startup",
      image: imageOf(app),
      command: hookArgv(app.on_startup),
      env: p.env.filter((e) => e.name !== "VLLM_API_KEY"),
      resources: { ...INIT_RESOURCES },
      volumeMounts: pod.serverMounts().filter((m) => m.name !== "dshm"),
    });
  }
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

/** GPU nodes (tolerated and required by the node_labels scheme), the account, the spread of replicas, the pool, spot nodes. */
function schedule(pod: PodBuilder, app: AppConfig, gpu: GpuRequest): Finding[] {
  const problems: Finding[] = [];
  if (gpu.count > 0)
    pod.tolerate([
      {
        key: gpu.resource.startsWith("amd.com") ? "amd.com/gpu" : "nvidia.com/gpu",
        operator: "Exists",
        effect: "NoSchedule",
      },
    ]);
  if (gpu.type && gpu.count > 0) {
    const scheme = app.node_labels?.scheme ?? "gfd";
    const m = gpuNodeMatches(gpu.type, scheme, app.node_labels?.gpu_product);
    if ("problem" in m) {
      problems.push({ path: ["node_labels", "scheme"], severity: "error", message: m.problem, hint: m.hint });
    } else {
      pod.requireNodes(m.matches.map((x) => ({ key: x.key, operator: "In", values: x.values })));
      if (typeof scheme === "string" && SCHEME_TOLERATIONS[scheme]) pod.tolerate(SCHEME_TOLERATIONS[scheme]);
    }
  }
  if (app.service_account) pod.pod.serviceAccountName = app.service_account;
  // two replicas or more: spread them over nodes and zones (preferred: one node or zone still schedules them all)
  const reps = app.scaling?.replicas ?? 1;
  if ((Array.isArray(reps) ? reps[1] : reps) >= 2)
    pod.pod.topologySpreadConstraints = [...(pod.pod.topologySpreadConstraints ?? []), ...spreadOf(selectorOf(app))];
  if (app.cluster_pool !== "default")
    pod.selectNodes({ [app.node_labels?.pool ?? DEFAULT_POOL_LABEL]: app.cluster_pool });
  if (app.interruptible) {
    pod.tolerate(SPOT_TOLERATIONS);
    pod.preferNodes(
      SPOT_PREFERENCES.map((x) => ({ key: x.key, operator: "In", values: x.values })),
      50,
    );
  }
  return problems;
}

/** Preferred spread of the app's pods over nodes and zones (ScheduleAnyway: never a reason to stay Pending). */
function spreadOf(selector: Record<string, string>) {
  return ["kubernetes.io/hostname", "topology.kubernetes.io/zone"].map((topologyKey) => ({
    maxSkew: 1,
    topologyKey,
    whenUnsatisfiable: "ScheduleAnyway",
    labelSelector: { matchLabels: selector },
  }));
}

/** The app's pod_template merged last, what the merged pod lacks for AMD GPUs, the Kubernetes minor's fields, readable key order. */
function finishTemplate(
  tpl: V1PodTemplateSpec,
  built: V1PodSpec,
  app: AppConfig,
  gpu: GpuRequest,
  profile: SecurityProfile,
  kubeMinor: number | undefined,
): Finding[] {
  const problems: Finding[] = [];
  let pod = built;
  if (typeof app.pod_template === "object") {
    tpl.metadata = strategicMerge(tpl.metadata, app.pod_template.metadata ?? {});
    pod = tpl.spec = strategicMerge(pod, app.pod_template.spec ?? {});
  }
  if (
    profile === "restricted" &&
    gpu.resource.startsWith("amd.com") &&
    gpu.count > 0 &&
    !pod.securityContext?.supplementalGroups
  ) {
    problems.push({
      path: ["resources", "gpu"],
      severity: "warning",
      message: `AMD GPUs: /dev/kfd and /dev/dri/renderD* on the node belong to its video and render groups, and under security.profile restricted vLLM runs as UID ${RUN_AS_ID}, outside them: it cannot open the GPUs`,
      hint: "add the node's GIDs (getent group video render, on a GPU node) as pod_template: {spec: {securityContext: {supplementalGroups: [VIDEO, RENDER]}}}, or set security: {profile: privileged} as vLLM's ROCm docs run it",
    });
  }
  const minor = kubeMinor ?? NEWEST_SUPPORTED_MINOR;
  podForKubeMinor(pod, minor);
  const old = kubeVersionWarning(minor);
  if (old)
    problems.push({
      path: [],
      severity: "warning",
      message: old,
      hint: `Kubernetes 1.${minor} is out of its providers' support; upgrade to 1.${OLDEST_SUPPORTED_MINOR} or newer`,
    });
  pod.containers = pod.containers.map((x) => orderKeys(x, CONTAINER_KEY_ORDER));
  return problems;
}

/** The level the rendered pods meet, as a note when it is below restricted (the profile asked for less, or pod_template/templates took it away). */
function podSecurityProblems(server: K8sObject, profile: string): Finding[] {
  const spec = server.spec as {
    template?: V1PodTemplateSpec;
    leaderWorkerTemplate?: { leaderTemplate: V1PodTemplateSpec; workerTemplate: V1PodTemplateSpec };
  };
  const pods = spec.leaderWorkerTemplate
    ? [spec.leaderWorkerTemplate.leaderTemplate, spec.leaderWorkerTemplate.workerTemplate]
    : [spec.template!];
  const verdicts = pods.map((p) => podSecurityLevelOf(p.spec!));
  const order = ["privileged", "baseline", "restricted"];
  const worst = verdicts.reduce((a, b) => (order.indexOf(b.level) < order.indexOf(a.level) ? b : a));
  if (worst.level === "restricted") return [];
  const asked =
    profile === worst.level
      ? `security.profile ${profile}`
      : `security.profile ${profile}, with pod_template or --templates`;
  return [
    {
      path: ["security", "profile"],
      severity: profile === "restricted" ? "warning" : "note",
      message: `the pod meets Pod Security "${worst.level}" (${asked}), not "restricted": ${[...new Set(verdicts.flatMap((v) => v.reasons))].join("; ")}`,
      hint: `a namespace labelled pod-security.kubernetes.io/enforce=restricted refuses it; ${worst.level === "privileged" ? "only enforce=privileged admits it" : "enforce=baseline admits it"}`,
    },
  ];
}

const CONTAINER_KEY_ORDER = [
  "name",
  "image",
  "command",
  "args",
  "env",
  "ports",
  "resources",
  "volumeMounts",
  "startupProbe",
  "readinessProbe",
  "livenessProbe",
  "lifecycle",
  "securityContext",
];

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
