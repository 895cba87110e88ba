/**
 * Why an app's pods are not ready, in one line with a hint, from the pods, their events and (when the
 * scheduler refuses them) the nodes: unschedulable (not enough GPUs, no node of that GPU type or pool,
 * untolerated taints), image pull errors, crash loops, OOM kills, an exhausted startup probe, and a
 * ReplicaSet the namespace's rules keep from creating pods (PodSecurity, ResourceQuota, LimitRange). Pure.
 */
import { LABEL_APP } from "../render/labels.js";
import { DEFAULT_POOL_LABEL } from "../config/gpus.js";
import type { ContainerStatus, Deployment, Node, Pod, ReplicaSet } from "./k8s-types.js";

export interface Diagnosis {
  /** one line */
  reason: string;
  hint?: string;
  /** it will not get better without a change: deploy stops waiting (exit 6) */
  fatal: boolean;
  /** the container whose previous log explains it */
  logsOf?: { pod: string; container: string };
}

export interface KEvent {
  involvedObject: { kind?: string; name?: string; uid?: string };
  reason?: string;
  message?: string;
  type?: string;
}

const SPOT_TAINT_KEYS = [
  "cloud.google.com/gke-spot",
  "cloud.google.com/gke-preemptible",
  "kubernetes.azure.com/scalesetpriority",
  "karpenter.sh/capacity-type",
];
const IMAGE_PULL = new Set(["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"]);
const CANNOT_START = new Set(["CreateContainerConfigError", "CreateContainerError", "RunContainerError"]);
/** The kubelet had not yet read a Secret or ConfigMap the pod uses from the API server: it retries on the next sync. */
const KUBELET_CACHE_NOT_SYNCED = /failed to sync (secret|configmap) cache/i;

/** What the pod requests per replica, summed over its containers (limits where set). */
function requested(pod: Pod): Map<string, number> {
  const out = new Map<string, number>();
  for (const c of pod.spec?.containers ?? []) {
    for (const [k, v] of Object.entries({ ...(c.resources?.requests ?? {}), ...(c.resources?.limits ?? {}) })) {
      if (/^\d+$/.test(String(v))) out.set(k, (out.get(k) ?? 0) + Number(v));
    }
  }
  return out;
}

interface Requirement {
  key: string;
  values: string[];
}

/** The node labels the pod requires: nodeSelector and required node affinity (operator In). */
function requirements(pod: Pod): Requirement[] {
  const reqs: Requirement[] = Object.entries(pod.spec?.nodeSelector ?? {}).map(([key, v]) => ({
    key,
    values: [String(v)],
  }));
  const terms =
    pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  if (terms.length === 1) {
    for (const e of terms[0]!.matchExpressions ?? [])
      if (e.operator === "In") reqs.push({ key: e.key, values: e.values ?? [] });
  }
  return reqs;
}

function describeRequirement(r: Requirement): string {
  const what = r.key.endsWith("gpu.product") ? "GPU type" : r.key === DEFAULT_POOL_LABEL ? "pool" : "label";
  return `${what} ${r.values.join(" or ")} (${r.key})`;
}

interface SchedulerCounts {
  total: number;
  insufficient: string[];
  affinity: number;
  taints: number;
  unboundPvc: boolean;
}

/** The scheduler's summary without the preemption tail: "0/4 nodes are available: 1 Insufficient nvidia.com/gpu, 3 node(s) …" */
export function schedulerSummary(message: string): string {
  return message.split(/\.\s/)[0]!.replace(/\.$/, "");
}

export function parseSchedulerMessage(message: string): SchedulerCounts {
  const summary = schedulerSummary(message);
  const total = Number(/\d+\/(\d+) nodes are available/.exec(summary)?.[1] ?? 0);
  const counts: SchedulerCounts = { total, insufficient: [], affinity: 0, taints: 0, unboundPvc: false };
  for (const part of summary.replace(/^.*?nodes are available: /, "").split(/, (?=\d+ )/)) {
    const n = Number(/^(\d+) /.exec(part)?.[1] ?? 0);
    const ins = /Insufficient (\S+)$/.exec(part);
    if (ins) counts.insufficient.push(ins[1]!);
    else if (/didn't match Pod's node affinity\/selector/.test(part)) counts.affinity += n;
    else if (/untolerated taint/.test(part)) counts.taints += n;
    else if (/unbound immediate PersistentVolumeClaims/.test(part)) counts.unboundPvc = true;
  }
  return counts;
}

function labelMatches(node: Node, r: Requirement): boolean {
  const v = node.metadata.labels?.[r.key];
  return v !== undefined && r.values.includes(v);
}

interface Taint {
  key: string;
  value?: string;
  effect: string;
}

/** The node's taints that keep this pod off it. */
function blockingTaints(node: Node, pod: Pod): Taint[] {
  const tolerations = pod.spec?.tolerations ?? [];
  const tolerated = (t: Taint) =>
    tolerations.some(
      (x) =>
        (!x.effect || x.effect === t.effect) &&
        (x.operator === "Exists" ? !x.key || x.key === t.key : x.key === t.key && (x.value ?? "") === (t.value ?? "")),
    );
  return (node.spec?.taints ?? []).filter((t) => t.effect !== "PreferNoSchedule" && !tolerated(t));
}

export function explainUnschedulable(message: string, pod: Pod, nodes?: readonly Node[]): Diagnosis {
  const counts = parseSchedulerMessage(message);
  const reqs = requirements(pod);
  const want = requested(pod);
  const fatal = (reason: string, hint?: string): Diagnosis => ({
    reason: `cannot be scheduled: ${reason} (scheduler: ${schedulerSummary(message)})`,
    hint,
    fatal: true,
  });
  const pickOther = "pick a GPU type and pool the cluster has (resources.gpu, cluster_pool)";
  if (nodes) {
    for (const r of reqs)
      if (!nodes.some((n) => labelMatches(n, r))) return fatal(`no node has ${describeRequirement(r)}`, pickOther);
    const matching = nodes.filter((n) => reqs.every((r) => labelMatches(n, r)));
    if (!matching.length) return fatal(`no node has all of ${reqs.map(describeRequirement).join(", ")}`, pickOther);
    for (const [res, n] of want) {
      if (!res.startsWith("nvidia.com/")) continue;
      const most = Math.max(...matching.map((node) => Number(node.status?.allocatable?.[res] ?? 0)));
      if (most < n)
        return fatal(
          `it asks for ${n} ${res} per replica, and the most any matching node has is ${most}`,
          "lower resources.gpu (tensor parallelism across fewer GPUs), or add nodes with more GPUs",
        );
    }
    if (matching.every((n) => blockingTaints(n, pod).length)) {
      const taints = [
        ...new Set(
          matching.flatMap((n) =>
            blockingTaints(n, pod).map((t) => `${t.key}${t.value ? `=${t.value}` : ""}:${t.effect}`),
          ),
        ),
      ];
      return fatal(
        `the nodes that fit (${matching.map((n) => n.metadata.name).join(", ")}) are tainted ${taints.join(", ")}, which the pod does not tolerate`,
        taints.some((t) => SPOT_TAINT_KEYS.some((k) => t.startsWith(k)))
          ? "set interruptible: true to run on spot nodes"
          : "add a toleration through pod_template",
      );
    }
  }
  const short = counts.insufficient.find((r) => r.startsWith("nvidia.com/")) ?? counts.insufficient[0];
  if (short) {
    return fatal(
      `not enough free ${short}: it asks for ${want.get(short) ?? "more than is free"} per replica`,
      short.startsWith("nvidia.com/")
        ? "free GPUs (other workloads use them), lower resources.gpu, or add GPU nodes"
        : "lower resources.cpu / resources.memory, or add nodes",
    );
  }
  if (counts.total > 0 && counts.affinity === counts.total) {
    return fatal(
      reqs.length
        ? `no node has ${reqs.map(describeRequirement).join(" and ")}`
        : "no node matches the pod's node selector",
      pickOther,
    );
  }
  if (counts.taints)
    return fatal(
      "the nodes that fit have taints the pod does not tolerate",
      "set interruptible: true to run on spot nodes, or add a toleration through pod_template",
    );
  if (counts.unboundPvc) {
    return {
      reason: `waiting for a volume: a PersistentVolumeClaim of the pod is not bound yet (scheduler: ${schedulerSummary(message)})`,
      hint: "check the claim (kubectl describe pvc) and cache.storage_class",
      fatal: false,
    };
  }
  return fatal("the scheduler found no node for it");
}

function eventsOf(pod: Pod, events: readonly KEvent[]): KEvent[] {
  return events.filter(
    (e) =>
      e.involvedObject.name === pod.metadata.name &&
      (!e.involvedObject.uid || e.involvedObject.uid === pod.metadata.uid),
  );
}

/** A container status of the pod, init containers first, marked as such. */
type PodContainerStatus = ContainerStatus & { init: boolean };

/** The startup probe killed the server: the restart that follows will not fare better. */
function startupProbeGaveUp(pod: Pod, evs: readonly KEvent[]): Diagnosis | undefined {
  const probeKill = evs.find((e) => e.reason === "Killing" && /failed startup probe/.test(e.message ?? ""));
  if (!probeKill) return undefined;
  const c = (pod.spec?.containers ?? []).find((x) => x.startupProbe);
  const budget = c?.startupProbe
    ? (c.startupProbe.failureThreshold ?? 3) * (c.startupProbe.periodSeconds ?? 10)
    : undefined;
  return {
    reason: `the startup probe gave up: the server did not answer /health within ${budget ?? "its"} s (startup_timeout)`,
    hint: "raise startup_timeout (large models take long to download and load), and see `vllmapp logs` for where it got stuck",
    fatal: true,
    logsOf: c && { pod: pod.metadata.name, container: c.name },
  };
}

/**
 * What keeps one container of the pod from running: an image it cannot pull, an OOM kill, a crash loop
 * (or a failed init container), a container the kubelet cannot create; undefined when none of these.
 */
function diagnoseContainer(pod: Pod, s: PodContainerStatus, evs: readonly KEvent[]): Diagnosis | undefined {
  const name = pod.metadata.name;
  const label = `${s.init ? "init container" : "container"} ${s.name} of ${name}`;
  const waiting = s.state?.waiting;
  const last = s.lastState?.terminated ?? s.state?.terminated;
  if (waiting?.reason && IMAGE_PULL.has(waiting.reason)) {
    const detail =
      waiting.reason === "ErrImagePull"
        ? waiting.message
        : ([...evs].reverse().find((e) => e.reason === "Failed" && /pull/i.test(e.message ?? ""))?.message ??
          waiting.message);
    return {
      reason: `cannot pull image ${s.image}: ${waiting.reason}${detail ? ` (${detail})` : ""}`,
      hint: "check the image name and tag, and that the cluster may pull from that registry (imagePullSecrets through pod_template)",
      fatal: true,
    };
  }
  if (last?.reason === "OOMKilled") {
    const limit = (pod.spec?.[s.init ? "initContainers" : "containers"] ?? []).find((c) => c.name === s.name)?.resources
      ?.limits?.memory;
    return {
      reason: `${label} was OOM-killed: it used more than its memory limit${limit ? ` (${limit})` : ""}`,
      hint: "raise resources.memory (weights pass through host memory while loading)",
      fatal: true,
      logsOf: { pod: name, container: s.name },
    };
  }
  if (waiting?.reason === "CrashLoopBackOff" || (s.init && last && last.exitCode !== 0)) {
    return {
      reason: `${label} keeps crashing (exit code ${last?.exitCode ?? "?"}${last?.reason ? `, ${last.reason}` : ""}; ${s.restartCount ?? 0} restarts)`,
      hint: `see why: vllmapp logs ${pod.metadata.labels?.[LABEL_APP] ?? ""} --previous`,
      fatal: true,
      logsOf: { pod: name, container: s.name },
    };
  }
  if (waiting?.reason && CANNOT_START.has(waiting.reason)) {
    if (KUBELET_CACHE_NOT_SYNCED.test(waiting.message ?? ""))
      return {
        reason: `${label}: the kubelet is still reading its Secrets and ConfigMaps (${waiting.message})`,
        fatal: false,
      };
    return { reason: `${label} cannot start: ${waiting.message ?? waiting.reason}`, fatal: true };
  }
  return undefined;
}

/** Where a pod with nothing wrong stands on its way to ready (never fatal); undefined when it is ready. */
function podProgress(pod: Pod, scheduled: boolean, evs: readonly KEvent[]): Diagnosis | undefined {
  const name = pod.metadata.name;
  const main =
    (pod.status?.containerStatuses ?? []).find((s) => s.name === "vllm") ?? pod.status?.containerStatuses?.[0];
  if (!main)
    return {
      reason: `${name}: ${pod.status?.phase === "Pending" && scheduled ? "creating containers" : "waiting to be scheduled"}`,
      fatal: false,
    };
  if (main.state?.waiting)
    return {
      reason: `${name}: ${main.state.waiting.reason === "ContainerCreating" ? "pulling the image and creating the container" : main.state.waiting.reason}`,
      fatal: false,
    };
  if (main.state?.running && !main.ready) {
    const unhealthy = [...evs].reverse().find((e) => e.reason === "Unhealthy");
    return {
      reason: `${name}: ${main.started ? "running, not ready (readiness probe)" : "loading the model (startup probe waits for /health)"}${unhealthy ? `; last probe: ${unhealthy.message}` : ""}`,
      fatal: false,
    };
  }
  return undefined;
}

/** One pod's state: unschedulable, killed by its startup probe, a container that cannot run, or its progress. */
function diagnosePod(pod: Pod, events: readonly KEvent[], nodes?: readonly Node[]): Diagnosis | undefined {
  const name = pod.metadata.name;
  const evs = eventsOf(pod, events);
  const scheduled = (pod.status?.conditions ?? []).find((c) => c.type === "PodScheduled");
  if (scheduled?.status === "False" && scheduled.reason === "Unschedulable") {
    if (evs.some((e) => e.reason === "TriggeredScaleUp"))
      return { reason: `${name} waits for the cluster autoscaler to add a node`, fatal: false };
    const msg = scheduled.message ?? [...evs].reverse().find((e) => e.reason === "FailedScheduling")?.message ?? "";
    return explainUnschedulable(msg, pod, nodes);
  }
  const probe = startupProbeGaveUp(pod, evs);
  if (probe) return probe;
  const statuses: PodContainerStatus[] = [
    ...(pod.status?.initContainerStatuses ?? []).map((s) => ({ ...s, init: true })),
    ...(pod.status?.containerStatuses ?? []).map((s) => ({ ...s, init: false })),
  ];
  for (const s of statuses) {
    const d = diagnoseContainer(pod, s, evs);
    if (d) return d;
  }
  return podProgress(pod, scheduled?.status === "True", evs);
}

/** The most telling reason among the pods: a fatal one first, else the first pod's state. */
export function diagnosePods(
  pods: readonly Pod[],
  events: readonly KEvent[],
  nodes?: readonly Node[],
): Diagnosis | undefined {
  const all = [...pods]
    .filter((p) => !p.metadata.deletionTimestamp)
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
    .map((p) => diagnosePod(p, events, nodes))
    .filter((d): d is Diagnosis => d !== undefined);
  return all.find((d) => d.fatal) ?? all[0];
}

/** The ReplicaSet of the Deployment's current revision. */
function currentReplicaSet(dep: Deployment, replicaSets: readonly ReplicaSet[]): ReplicaSet | undefined {
  const REVISION = "deployment.kubernetes.io/revision";
  if ((dep.status?.observedGeneration ?? 0) < (dep.metadata.generation ?? 0)) return undefined;
  const revision = dep.metadata.annotations?.[REVISION];
  return replicaSets.find(
    (r) =>
      r.metadata.annotations?.[REVISION] === revision &&
      r.metadata.ownerReferences?.some((o) => o.uid === dep.metadata.uid),
  );
}

/** The pods of the Deployment's current revision (older ones may still be failing during a rollout). */
export function currentPods(dep: Deployment, replicaSets: readonly ReplicaSet[], pods: readonly Pod[]): Pod[] {
  const rs = currentReplicaSet(dep, replicaSets);
  const hash = rs?.metadata.labels?.["pod-template-hash"];
  return hash ? pods.filter((p) => p.metadata.labels?.["pod-template-hash"] === hash) : [];
}

/** Does any pod wait on the scheduler (so a node list would sharpen the diagnosis)? */
export function isUnschedulable(pods: readonly Pod[]): boolean {
  return pods.some((p) =>
    (p.status?.conditions ?? []).some(
      (c) => c.type === "PodScheduled" && c.status === "False" && c.reason === "Unschedulable",
    ),
  );
}

/** A namespace rule that refuses a pod, in words with the fix. */
export interface Refusal {
  /** "PodSecurity \"restricted:latest\"", "ResourceQuota gpu-quota", "LimitRange", … */
  rule: string;
  message: string;
  hint: string;
}

/** Which rule an admission refusal of a pod names ("pods \"x\" is forbidden: violates PodSecurity …"). */
export function explainRefusal(said: string, namespace: string): Refusal {
  const why = said.replace(/^pods? "[^"]*" is forbidden: /, "");
  const pss = /violates PodSecurity "([^"]+)"/.exec(said);
  if (pss) {
    return {
      rule: `PodSecurity "${pss[1]}"`,
      message: `namespace ${namespace} refuses the pod: ${why}`,
      hint: `the namespace enforces Pod Security level "${pss[1]!.split(":")[0]}" (its label pod-security.kubernetes.io/enforce): deploy into a namespace whose level admits the pod, or set what the rule names through pod_template (securityContext)`,
    };
  }
  const quota = /exceeded quota: ([^,\s]+)/.exec(said) ?? /(?:failed|status unknown for) quota: ([^:,\s]+)/.exec(said);
  if (quota) {
    return {
      rule: `ResourceQuota ${quota[1]}`,
      message: `namespace ${namespace} refuses the pod: ${why}`,
      hint: `the ResourceQuota ${quota[1]} of namespace ${namespace} (kubectl describe resourcequota ${quota[1]} -n ${namespace}) does not leave room: free what other workloads use, ask for a larger quota, or lower resources (resources.gpu, cpu, memory)`,
    };
  }
  if (/(maximum|minimum) .* usage per (Container|Pod)|limit to request ratio/.test(said)) {
    return {
      rule: "LimitRange",
      message: `namespace ${namespace} refuses the pod: ${why}`,
      hint: `a LimitRange of namespace ${namespace} (kubectl describe limitrange -n ${namespace}) bounds each container's resources: set resources (cpu, memory, shm) within it`,
    };
  }
  const webhook = /admission webhook "([^"]+)" denied the request/.exec(said);
  if (webhook) {
    return {
      rule: `admission webhook ${webhook[1]}`,
      message: `namespace ${namespace} refuses the pod: ${why}`,
      hint: `a policy of the cluster (the webhook ${webhook[1]}: Kyverno, Gatekeeper, …) refuses it: change what it names through pod_template, or ask its owners`,
    };
  }
  if (/service ?account/i.test(said)) {
    return {
      rule: "ServiceAccount",
      message: `namespace ${namespace} refuses the pod: ${why}`,
      hint: `create the ServiceAccount in namespace ${namespace}, or fix service_account`,
    };
  }
  return {
    rule: "admission",
    message: `namespace ${namespace} refuses the pod: ${why}`,
    hint: "the API server's admission refused it: see the message for the rule",
  };
}

/**
 * The current ReplicaSet's refusal to create pods (its ReplicaFailure condition). PodSecurity, a
 * LimitRange and a policy webhook are fatal: no wait cures them. A quota is fatal unless a pod of the app
 * went away just now (`settling`: a rollout's old pod counts until it is gone and the quota is recounted);
 * anything else (a ServiceAccount not made yet) is a reason to show while the ReplicaSet retries.
 */
export function replicaFailure(
  dep: Deployment,
  replicaSets: readonly ReplicaSet[],
  namespace: string,
  settling = false,
): Diagnosis | undefined {
  const rs = currentReplicaSet(dep, replicaSets);
  const c = rs?.status?.conditions?.find(
    (x) => x.type === "ReplicaFailure" && x.status === "True" && x.reason === "FailedCreate",
  );
  if (!c) return undefined;
  const r = explainRefusal(c.message ?? "", namespace);
  // "status unknown for quota": the quota controller has not counted a new quota yet
  const fatal =
    /^(PodSecurity|LimitRange|admission webhook)/.test(r.rule) ||
    (r.rule.startsWith("ResourceQuota") && !settling && !/status unknown for quota/.test(c.message ?? ""));
  return {
    reason: `ReplicaSet ${rs!.metadata.name} cannot create pods (${r.rule}): ${r.message}`,
    hint: r.hint,
    fatal,
  };
}
