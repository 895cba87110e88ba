/**
 * What planning reads from a Kubernetes cluster, through the one session of the command: the namespace
 * of apps that name none, a PodTemplate a `pod_template` string names, the start-up budget learned
 * from an app's starts and Job run outputs. The plan decides with what it read, so the target
 * applies the plan's objects as they are and `render --resolve` prints what `deploy` would apply.
 * The implementation is src/cluster/plan-reads.ts; tests hand in their own.
 */
import type { RunOutputRef } from "../config/schema.js";
import type { Resolved } from "../models/runs-mlflow.js";

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
  /** the API server's Kubernetes minor (GET /version), to render for; undefined when it cannot be read */
  serverMinor(): Promise<number | undefined>;
  /** a run output on the `kubernetes` backend (a Job's annotation); `namespace` undefined: the context's */
  jobOutput(ref: RunOutputRef, namespace: string | undefined): Promise<Resolved>;
}
