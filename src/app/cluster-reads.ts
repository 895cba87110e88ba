/**
 * What planning reads from a Kubernetes cluster, through the one session of the command: the namespace
 * of apps that name none, a PodTemplate a `pod_template` string names, the start-up budget learned
 * from an app's starts, the labelling of the GPU nodes (for apps whose file names no node_labels) and
 * Job run outputs. The plan decides with what it read, so the target
 * applies the plan's objects as they are and `render --resolve` prints what `deploy` would apply.
 * The implementation is src/cluster/plan-reads.ts; tests hand in their own.
 */
import type { LabelScheme } from "../config/gpus.js";
import type { AppConfig, RunOutputRef } from "../config/schema.js";
import type { Resolved } from "../models/runs-mlflow.js";
import type { K8sObject } from "../render/types.js";

/** The labelling of GPU nodes the plan renders with instead of the default, and the warning that says so. */
export interface GpuSchemeChoice {
  scheme: LabelScheme;
  warning: string;
}

/** A named PodTemplate's `template`, or why it cannot be had (said as the preflight says it). */
export type PodTemplateRead =
  { template: { metadata?: Record<string, unknown>; spec?: Record<string, unknown> } } | { problem: string };

export interface ClusterReads {
  /** the namespace of apps that name none (neither --namespace nor the file): the context's, else "default"; undefined when no kubeconfig can be read */
  defaultNamespace(): Promise<string | undefined>;
  podTemplate(namespace: string, name: string): Promise<PodTemplateRead>;
  /**
   * The start-up budget learned from the app's recorded starts (startup/timeline.ts learnedBudget, over
   * ConfigMap <app>-starts and the Deployment in the cluster); undefined with too few starts. Best effort:
   * what cannot be read counts as no history.
   */
  learnedBudget(app: string, namespace: string): Promise<number | undefined>;
  /**
   * When the file names no node_labels: the labelling of the cluster's GPU nodes that have the app's GPU
   * type, when it is not GPU feature discovery's (src/cluster/gpu-nodes.ts chooseGpuScheme over the
   * objects as rendered, for the pod's nodeSelector); undefined: the default stays. Best effort: nodes
   * that cannot be listed choose nothing (deploy's preflight says so).
   */
  gpuScheme(app: AppConfig, file: string, objects: readonly K8sObject[]): Promise<GpuSchemeChoice | undefined>;
  /** the API server's Kubernetes minor (GET /version), to render for; undefined when it cannot be read */
  serverMinor(): Promise<number | undefined>;
  /** a run output on the `kubernetes` backend (a Job's annotation); `namespace` undefined: the context's */
  jobOutput(ref: RunOutputRef, namespace: string | undefined): Promise<Resolved>;
}
