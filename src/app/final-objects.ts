/**
 * The last steps of planning an app's Kubernetes objects, with what was read from the cluster: a named
 * PodTemplate under the pods, the start-up budget learned from the app's starts, the Argo CD sync wave.
 * Pure: each returns new objects and leaves the rendered ones as they were.
 */
import { strategicMerge } from "../render/merge.js";
import type { K8sObject } from "../render/types.js";

/** The annotation Argo CD orders a sync by: an app's objects come after those of the apps it depends on. */
export const SYNC_WAVE = "argocd.argoproj.io/sync-wave";

type PodTemplateSpec = { metadata?: Record<string, unknown>; spec?: Record<string, unknown> };
// the rendered workloads: plain JSON whose pod spec is read and rebuilt here (client-node's types would not
// fit a LeaderWorkerSet); only the fields read here are named, the rest is carried along as it was
type Spec<T> = T & Record<string, unknown>;
type Deployment = K8sObject & { spec: Spec<{ template: unknown }> };
type LeaderWorkerSet = K8sObject & {
  spec: Spec<{ leaderWorkerTemplate: Spec<{ leaderTemplate: unknown; workerTemplate: unknown }> }>;
};
/** The startup probe's fields that the budget is made of. */
type Probe = { periodSeconds?: number; failureThreshold?: number };
type ProbedDeployment = K8sObject & {
  spec: { template?: { spec?: { containers?: { name: string; startupProbe?: Probe }[] } } };
};

/** The PodTemplate is the base; vllmapp's pod goes on top (containers merged by name); for a LeaderWorkerSet, both pods. */
export function withPodTemplate(objects: readonly K8sObject[], template: PodTemplateSpec): K8sObject[] {
  const { creationTimestamp: _, ...metadata } = template.metadata ?? {};
  const onto = (pod: unknown) => strategicMerge({ metadata, spec: template.spec ?? {} }, pod);
  return objects.map((o) => {
    if (o.kind === "LeaderWorkerSet") {
      const w = o as LeaderWorkerSet;
      const lwt = w.spec.leaderWorkerTemplate;
      return {
        ...w,
        spec: {
          ...w.spec,
          leaderWorkerTemplate: {
            ...lwt,
            leaderTemplate: onto(lwt.leaderTemplate),
            workerTemplate: onto(lwt.workerTemplate),
          },
        },
      };
    }
    if (o.kind !== "Deployment") return o;
    const w = o as Deployment;
    return { ...w, spec: { ...w.spec, template: onto(w.spec.template) } };
  });
}

/**
 * The startup probe's budget set to `seconds` (learned from the app's starts) in the Deployment: whole
 * periods, at least one; and the budget that makes.
 */
export function withStartBudget(
  objects: readonly K8sObject[],
  seconds: number,
): { objects: K8sObject[]; seconds?: number } {
  const at = objects.findIndex((o) => o.kind === "Deployment");
  if (at < 0) return { objects: [...objects] };
  const dep = structuredClone(objects[at]) as ProbedDeployment;
  const probe = dep.spec.template?.spec?.containers?.find((c) => c.name === "vllm")?.startupProbe;
  if (!probe) return { objects: [...objects] };
  // 10 s: the kubelet's default period
  const period = probe.periodSeconds ?? 10;
  probe.failureThreshold = Math.max(1, Math.ceil(seconds / period));
  return { objects: objects.map((o, i) => (i === at ? dep : o)), seconds: probe.failureThreshold * period };
}

/** Every object annotated with the app's sync wave. */
export function withSyncWave(objects: readonly K8sObject[], wave: number): K8sObject[] {
  return objects.map((o) => ({
    ...o,
    metadata: { ...o.metadata, annotations: { ...o.metadata.annotations, [SYNC_WAVE]: String(wave) } },
  }));
}
