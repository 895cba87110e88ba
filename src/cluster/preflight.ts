/**
 * What `deploy` checks before it writes anything, for every app at once: the namespace exists (or
 * --create-namespace), the PodTemplate a `pod_template` string names exists (the plan read and merged it), the
 * cluster serves every kind the render has (CRDs such as KEDA's), and every Secret, ConfigMap and PVC
 * the pod references exists with the keys it needs (or --create-secrets fills `<app>-secrets` from the
 * local environment). All problems are reported together.
 * Then what the cluster would refuse or never run, each a user error (exit 2) naming the fix: GPU nodes
 * labelled another way than the pod asks (gpu-nodes.ts; where the file has no node_labels the plan chose
 * the nodes' labelling already), a node driver too old for the image's CUDA, a cache claim no StorageClass binds
 * (storage.ts), and a pod the namespace's rules refuse (admission.ts: a server-side dry run of the pod).
 */
import type { AppConfig } from "../config/schema.js";
import { ClusterError, UsageError } from "../errors.js";
import { apiKeyRef, createApiKeyCommand, FIELD_MANAGER, labelsOf } from "../render/labels.js";
import type { K8sObject } from "../render/types.js";
import { groupOf, type KObject, type KubeApi } from "./api.js";
import { ApiError } from "./errors.js";
import { checkMonitoring } from "./monitoring.js";
import { checkRoute } from "./route.js";
import { podRefusal } from "./admission.js";
import { checkGpuNodes, cudaFloorOf, podSpecsOf } from "./gpu-nodes.js";
import type { Node, PodSpec } from "./k8s-types.js";
import type { LabelScheme } from "../config/gpus.js";
import { claimProblems, readStorageClasses, readVolumes } from "./storage.js";
import { readNodes } from "./read.js";
import { gpuRequest } from "../render/resources.js";

export interface PreflightInput {
  app: AppConfig;
  namespace: string;
  /** the plan's objects */
  objects: K8sObject[];
  /** why the PodTemplate `pod_template` names could not be merged (the plan read it) */
  podTemplateProblem?: string;
  /** the file the app came from, for messages */
  file?: string;
  /** the labelling of GPU nodes the plan chose when the file names no node_labels (its objects have it) */
  gpuScheme?: LabelScheme;
}

/** A Secret vllmapp writes from the local environment. Values stay in memory, never in results. */
export interface SecretWrite {
  name: string;
  namespace: string;
  exists: boolean;
  labels: Record<string, string>;
  /** key → base64 value */
  data: Record<string, string>;
}

export interface Prepared {
  app: AppConfig;
  namespace: string;
  /** the plan's objects, as they are applied */
  objects: K8sObject[];
  secretWrites: SecretWrite[];
}

export interface PreflightResult {
  /** by app name */
  apps: Map<string, Prepared>;
  /** what will not stop the deploy but keeps part of it from working (a missing Gateway, a Prometheus that selects no monitor) */
  warnings: string[];
  /** namespaces to create (--create-namespace) */
  namespaces: string[];
  /** what vllmapp could not check (a GPU node's unknown driver, nodes it may not list) */
  notes: string[];
}

interface Problem {
  message: string;
  /** a problem of the local environment (exit 2) rather than of the cluster (exit 3) */
  local?: boolean;
}

type Kind = "Secret" | "ConfigMap" | "PersistentVolumeClaim";

/** What a pod needs from its namespace: per object, the keys and the env var each key would come from. */
interface Ref {
  kind: Kind;
  name: string;
  keys: Map<string, string | undefined>;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** What a pod spec references: Secrets and ConfigMaps (with the keys it reads) and claims, optional ones left out. */
export function podRefs(pod: PodSpec | undefined): Ref[] {
  const refs = new Map<string, Ref>();
  const need = (kind: Kind, name: string | undefined, key?: string, env?: string, optional?: boolean) => {
    if (!name || optional) return;
    const id = `${kind}/${name}`;
    const r = refs.get(id) ?? { kind, name, keys: new Map() };
    refs.set(id, r);
    if (key !== undefined) r.keys.set(key, env ?? (ENV_NAME.test(key) ? key : undefined));
  };
  for (const c of [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])]) {
    for (const e of c.env ?? []) {
      const s = e.valueFrom?.secretKeyRef;
      if (s) need("Secret", s.name, s.key, e.name, s.optional);
      const m = e.valueFrom?.configMapKeyRef;
      if (m) need("ConfigMap", m.name, m.key, undefined, m.optional);
    }
    for (const f of c.envFrom ?? []) {
      need("Secret", f.secretRef?.name, undefined, undefined, f.secretRef?.optional);
      need("ConfigMap", f.configMapRef?.name, undefined, undefined, f.configMapRef?.optional);
    }
  }
  for (const v of pod?.volumes ?? []) {
    if (v.secret) {
      need("Secret", v.secret.secretName, undefined, undefined, v.secret.optional);
      for (const i of v.secret.items ?? []) need("Secret", v.secret.secretName, i.key, undefined, v.secret.optional);
    }
    if (v.configMap) {
      need("ConfigMap", v.configMap.name, undefined, undefined, v.configMap.optional);
      for (const i of v.configMap.items ?? [])
        need("ConfigMap", v.configMap.name, i.key, undefined, v.configMap.optional);
    }
    need("PersistentVolumeClaim", v.persistentVolumeClaim?.claimName);
  }
  for (const s of pod?.imagePullSecrets ?? []) need("Secret", s.name);
  return [...refs.values()];
}

const CRD_HINTS: Record<string, string> = {
  "keda.sh": "install KEDA (https://keda.sh/docs/latest/deploy/), or give scaling.replicas a fixed number",
  "leaderworkerset.x-k8s.io":
    "parallelism.nodes > 1 runs on a LeaderWorkerSet: install LWS (v0.7 or newer; its controller and pod webhook), e.g. `helm install lws oci://registry.k8s.io/lws/charts/lws --version=0.10.0 -n lws-system --create-namespace` (https://lws.sigs.k8s.io/docs/installation/), or fit the model on one node (nodes: 1)",
  "http.keda.sh":
    "install KEDA's HTTP add-on (https://kedacore.github.io/http-add-on/), or drop scaling.wake and keep min ≥ 1",
  "gateway.networking.k8s.io":
    "install Gateway API (kubectl apply --server-side -f https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.6.1/standard-install.yaml) and a Gateway controller, or drop route: (domain: renders an Ingress instead)",
  "inference.networking.k8s.io":
    "install the Inference Extension's InferencePool CRD (kubectl apply -f https://github.com/kubernetes-sigs/gateway-api-inference-extension/releases/download/v1.6.0/manifests.yaml), or set route.inference_pool: false",
  "monitoring.coreos.com":
    "install prometheus-operator (its CRDs: kubectl apply --server-side -f https://github.com/prometheus-operator/prometheus-operator/releases/download/v0.93.0/stripped-down-crds.yaml; or the kube-prometheus-stack chart), or set monitoring.pod_monitor: false (and drop dashboard/alerts) and scrape vLLM yourself",
};

async function exists(api: KubeApi, path: string, what: string): Promise<KObject | undefined | "forbidden"> {
  try {
    return await api.get(path, what);
  } catch (e) {
    // many users may not read namespaces (or other objects) and still deploy into them
    if (e instanceof ApiError && e.status === 403) return "forbidden";
    throw e;
  }
}

export async function preflight(
  api: KubeApi,
  inputs: readonly PreflightInput[],
  opts: PreflightOptions,
): Promise<PreflightResult> {
  const facts = await readClusterFacts(api, inputs);
  const found: Found = { report: [], warnings: [], notes: [...facts.notes] };
  const apps = await Promise.all(inputs.map((input) => checkApp(api, input, facts, opts, found)));
  throwProblems(found.report);
  return {
    apps: new Map(apps.map((a) => [a.app.name, a])),
    warnings: found.warnings,
    notes: found.notes,
    namespaces: opts.createNamespace ? [...facts.missingNs] : [],
  };
}

interface PreflightOptions {
  createNamespace?: boolean;
  createSecrets?: boolean;
  env: NodeJS.ProcessEnv;
}

/** One app's problems, and the hints that fix them. */
interface AppReport {
  app: string;
  namespace: string;
  problems: Problem[];
  hints: Set<string>;
}

/** What the apps' checks find, gathered as they run: each app's report (in the order of the inputs), warnings, notes. */
interface Found {
  report: AppReport[];
  warnings: string[];
  notes: string[];
}

type StorageClasses = NonNullable<Awaited<ReturnType<typeof readStorageClasses>>>;

/** What the preflight reads once for all the apps. */
interface ClusterFacts {
  /** the apps' namespaces that do not exist */
  missingNs: Set<string>;
  /** undefined: no app asks for GPUs, or this user may not list nodes (a note says so) */
  nodes?: Node[];
  /** the StorageClasses, when an app has a claim (undefined: none, or they may not be listed) */
  claims?: StorageClasses;
  volumes?: Awaited<ReturnType<typeof readVolumes>>;
  notes: string[];
}

/** Read once for all the apps: which namespaces exist, the nodes (when an app asks for GPUs), the storage (when one has a claim). */
async function readClusterFacts(api: KubeApi, inputs: readonly PreflightInput[]): Promise<ClusterFacts> {
  const missingNs = new Set<string>();
  await Promise.all(
    [...new Set(inputs.map((i) => i.namespace))].map(async (ns) => {
      if (!(await exists(api, `/api/v1/namespaces/${ns}`, `read namespace ${ns}`))) missingNs.add(ns);
    }),
  );
  const notes: string[] = [];
  const withGpus = inputs.some((i) => gpuRequest(i.app).count > 0);
  const nodes = withGpus ? await readNodes(api) : undefined;
  if (withGpus && !nodes) notes.push("this user may not list nodes: the GPU nodes' labels and drivers are not checked");
  const withClaims = inputs.some((i) => i.objects.some((o) => o.kind === "PersistentVolumeClaim"));
  const claims = withClaims ? await readStorageClasses(api) : undefined;
  const volumes = withClaims && claims ? await readVolumes(api) : undefined;
  return { missingNs, nodes, claims, volumes, notes };
}

/**
 * One app against the cluster: its namespace, the PodTemplate the plan could not merge, the kinds served,
 * its Route and monitoring, the GPU nodes, the claims, the admission rules (only when nothing else is wrong),
 * and the objects its pods reference. Its problems go into `found.report`; the Secret writes are returned.
 */
async function checkApp(
  api: KubeApi,
  { app, namespace, objects, podTemplateProblem, gpuScheme, file = "vllm-app.yaml" }: PreflightInput,
  facts: ClusterFacts,
  opts: PreflightOptions,
  found: Found,
): Promise<Prepared> {
  const r: AppReport = { app: app.name, namespace, problems: [], hints: new Set() };
  found.report.push(r);
  const nsMissing = facts.missingNs.has(namespace);
  if (nsMissing && !opts.createNamespace) {
    r.problems.push({ message: `namespace ${namespace} does not exist` });
    r.hints.add("pass --create-namespace to create it, or pick another with --namespace");
  }
  if (podTemplateProblem) r.problems.push({ message: podTemplateProblem });
  const served = await servedObjects(api, objects, r);
  if (!nsMissing || opts.createNamespace)
    found.warnings.push(
      ...(await checkRoute(api, app, namespace, served)),
      ...(await checkMonitoring(api, app, namespace, served)),
    );
  if (facts.nodes) {
    const gpu = checkGpuNodes(app, file, objects, facts.nodes, cudaFloorOf(app), gpuScheme);
    found.notes.push(...gpu.notes);
    addLocal(r, gpu.problems);
  }
  if (facts.claims) {
    const existing = nsMissing ? new Set<string>() : await existingClaims(api, namespace, objects);
    addLocal(r, claimProblems(objects, facts.claims, existing, `${app.name}-cache`, facts.volumes));
  }
  if (!nsMissing && !r.problems.length) {
    const refused = await podRefusal(api, app.name, namespace, objects);
    if (refused) addLocal(r, [{ message: `${refused.message} (${refused.rule})`, hint: refused.hint }]);
  }
  const secretWrites = await checkReferences(api, { app, namespace, objects, nsMissing }, opts, r.problems, r.hints);
  return { app, namespace, objects, secretWrites };
}

/** Problems of the local environment or the file (exit 2), each with its hint. */
function addLocal(r: AppReport, problems: readonly { message: string; hint: string }[]): void {
  for (const p of problems) {
    r.problems.push({ message: p.message, local: true });
    r.hints.add(p.hint);
  }
}

/** The objects whose kind the cluster serves; a problem (with how to install it) for each CRD missing. */
async function servedObjects(api: KubeApi, objects: readonly K8sObject[], r: AppReport): Promise<K8sObject[]> {
  const served: K8sObject[] = [];
  for (const o of objects) {
    if (await api.resource(o.apiVersion, o.kind)) {
      served.push(o);
      continue;
    }
    const group = groupOf(o.apiVersion);
    r.problems.push({
      message: `the cluster serves no ${o.kind} (${o.apiVersion}): the CRD ${o.kind.toLowerCase()}s.${group} is not installed`,
    });
    if (CRD_HINTS[group]) r.hints.add(CRD_HINTS[group]!);
  }
  return served;
}

/** The app's claims that exist already in the namespace (left alone by the storage check). */
async function existingClaims(api: KubeApi, namespace: string, objects: readonly K8sObject[]): Promise<Set<string>> {
  const existing = new Set<string>();
  for (const o of objects.filter((x) => x.kind === "PersistentVolumeClaim")) {
    const path = `/api/v1/namespaces/${namespace}/persistentvolumeclaims/${o.metadata.name}`;
    if (await exists(api, path, `read PersistentVolumeClaim ${o.metadata.name}`)) existing.add(o.metadata.name);
  }
  return existing;
}

/** Every app's problems at once: a usage error (exit 2) when one of them is local, else a cluster error (exit 3). */
function throwProblems(report: readonly AppReport[]): void {
  const failing = report.filter((r) => r.problems.length);
  if (!failing.length) return;
  const message = failing
    .map(
      (r) =>
        `${r.app} (namespace ${r.namespace}) cannot be deployed:\n${r.problems.map((p) => `  - ${p.message}`).join("\n")}`,
    )
    .join("\n");
  const hint = [...new Set(failing.flatMap((r) => [...r.hints]))].join("\n  hint: ") || undefined;
  throw failing.some((r) => r.problems.some((p) => p.local))
    ? new UsageError(message, hint)
    : new ClusterError(message, hint);
}

/**
 * Every Secret, ConfigMap and PVC the pods reference and the app does not bring exists with the keys the
 * pods read; with --create-secrets, what `<app>-secrets` lacks is filled from `opts.env` (the writes returned).
 */
async function checkReferences(
  api: KubeApi,
  {
    app,
    namespace,
    objects: out,
    nsMissing,
  }: { app: AppConfig; namespace: string; objects: readonly K8sObject[]; nsMissing: boolean },
  opts: { createSecrets?: boolean; env: NodeJS.ProcessEnv },
  problems: Problem[],
  hints: Set<string>,
): Promise<SecretWrite[]> {
  const ours = new Set(out.map((o) => `${o.kind}/${o.metadata.name}`));
  const refs = new Map<string, Ref>();
  for (const pod of out.flatMap(podSpecsOf)) {
    for (const r of podRefs(pod)) {
      const seen = refs.get(`${r.kind}/${r.name}`);
      if (seen) for (const [k, v] of r.keys) seen.keys.set(k, v);
      else refs.set(`${r.kind}/${r.name}`, r);
    }
  }
  const ownSecret = `${app.name}-secrets`;
  const apiKey = apiKeyRef(app);
  const secretWrites: SecretWrite[] = [];
  for (const ref of [...refs.values()].filter((r) => !ours.has(`${r.kind}/${r.name}`))) {
    const path = `/api/v1/namespaces/${namespace}/${ref.kind === "PersistentVolumeClaim" ? "persistentvolumeclaims" : ref.kind === "Secret" ? "secrets" : "configmaps"}/${ref.name}`;
    const live = nsMissing ? undefined : await exists(api, path, `read ${ref.kind} ${ref.name}`);
    if (live === "forbidden") continue;
    const have = new Set(
      Object.keys((live as { data?: object } | undefined)?.data ?? {}).concat(
        Object.keys((live as { binaryData?: object } | undefined)?.binaryData ?? {}),
      ),
    );
    const missing = [...ref.keys.keys()].filter((k) => !have.has(k));
    if (live && !missing.length) continue;
    if (ref.kind === "Secret" && ref.name === ownSecret && opts.createSecrets) {
      const data: Record<string, string> = {};
      for (const key of missing) {
        const env = ref.keys.get(key);
        const value = env === undefined ? undefined : opts.env[env];
        if (value === undefined) {
          problems.push({
            local: true,
            message: env
              ? `${env} is not set in this environment (--create-secrets: Secret ${ownSecret} key ${key})`
              : `key ${key} of Secret ${ownSecret} is not a variable name, so --create-secrets cannot fill it`,
          });
          if (!env)
            hints.add(
              `create it with \`kubectl create secret generic ${ownSecret} -n ${namespace} --from-file=${key}=PATH\``,
            );
        } else data[key] = Buffer.from(value, "utf8").toString("base64");
      }
      secretWrites.push({ name: ownSecret, namespace, exists: Boolean(live), labels: labelsOf(app), data });
      continue;
    }
    const keys = missing.length ? ` (needs key${missing.length > 1 ? "s" : ""} ${missing.join(", ")})` : "";
    problems.push({
      message: live
        ? `${ref.kind} ${ref.name} has no key${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`
        : `${ref.kind} ${ref.name} does not exist in namespace ${namespace}${keys}`,
    });
    if (ref.kind === "Secret" && ref.name === ownSecret) {
      hints.add(
        `pass --create-secrets to ${live ? "add the keys to" : "create"} ${ownSecret} from your environment (${missing.map((k) => ref.keys.get(k) ?? k).join(", ")})`,
      );
    } else if (ref.kind === "Secret" && apiKey && !apiKey.generated && ref.name === apiKey.secret) {
      // requires_auth names a Secret the user manages: vllmapp never fills it, but says how to make one
      hints.add(
        `Secret ${ref.name} holds the API key (requires_auth); create it with your secrets tool (External Secrets, Sealed Secrets), or generate one: ${createApiKeyCommand(ref.name, apiKey.key, namespace)}`,
      );
    } else if (ref.kind === "Secret") {
      hints.add(
        `create it: kubectl create secret generic ${ref.name} -n ${namespace}${(missing.length ? missing : ["KEY"]).map((k) => ` --from-literal=${k}=…`).join("")}`,
      );
    }
  }
  return secretWrites;
}

/** Create the namespaces and Secrets preflight found missing. */
export async function writePrerequisites(api: KubeApi, pre: PreflightResult, dryRun?: "All"): Promise<string[]> {
  const done: string[] = [];
  for (const ns of pre.namespaces) {
    await api.request("POST", "/api/v1/namespaces", {
      query: { fieldManager: FIELD_MANAGER, dryRun },
      body: { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
      what: `create namespace ${ns}`,
    });
    done.push(`Namespace/${ns}`);
  }
  for (const s of [...pre.apps.values()].flatMap((a) => a.secretWrites)) {
    const what = `${s.exists ? "add keys to" : "create"} Secret ${s.name}`;
    if (s.exists) {
      await api.request("PATCH", `/api/v1/namespaces/${s.namespace}/secrets/${s.name}`, {
        query: { fieldManager: FIELD_MANAGER, dryRun },
        body: { data: s.data },
        contentType: "application/merge-patch+json",
        what,
      });
    } else {
      await api.request("POST", `/api/v1/namespaces/${s.namespace}/secrets`, {
        query: { fieldManager: FIELD_MANAGER, dryRun },
        body: {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: s.name, namespace: s.namespace, labels: s.labels },
          type: "Opaque",
          data: s.data,
        },
        what,
      });
    }
    done.push(`Secret/${s.name} (keys ${Object.keys(s.data).join(", ")})`);
  }
  return done;
}
