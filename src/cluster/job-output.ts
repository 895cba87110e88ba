/**
 * Run outputs on the `kubernetes` backend (README "Model sources"): a run is a batch/v1 Job in the namespace;
 * `run_name` is its name, `task_name` picks the newest succeeded Job labelled vllmapp.dev/task=<task>;
 * output X is the Job's annotation vllmapp.dev/output.X.
 */
import type { V1Job } from "@kubernetes/client-node";
import type { RunOutputRef } from "../config/schema.js";
import { KubeApi } from "./api.js";
import { connect, namespaceFor, type ConnectionOptions } from "./connection.js";
import { ApiError } from "./errors.js";
import { VllmappError } from "../errors.js";
import { BackendUnreachable, SourceProblem, networkCause } from "../models/facts.js";
import type { Resolved } from "../models/runs-mlflow.js";

export const TASK_LABEL = "vllmapp.dev/task";
export const OUTPUT_ANNOTATION = "vllmapp.dev/output.";

/** Complete, Failed (with its reason), Suspended, Running or Pending. */
export function jobState(job: V1Job): string {
  const cond = (type: string) => job.status?.conditions?.find((c) => c.type === type && c.status === "True");
  if (cond("Complete") || cond("SuccessCriteriaMet")) return "Complete";
  const failed = cond("Failed") ?? cond("FailureTarget");
  if (failed)
    return `Failed${failed.reason ? ` (${failed.reason}${failed.message ? `: ${failed.message}` : ""})` : ""}`;
  if (job.spec?.suspend) return "Suspended";
  return (job.status?.active ?? 0) > 0 ? "Running" : "Pending";
}

function finishedAt(job: V1Job): number {
  return new Date(job.status?.completionTime ?? job.metadata?.creationTimestamp ?? 0).getTime();
}

/** `namespace`: runs.namespace, else --namespace, else the app's; else the context's, else "default". */
export async function resolveJobOutput(ref: RunOutputRef, conn: ConnectionOptions): Promise<Resolved> {
  let api: KubeApi;
  try {
    api = new KubeApi(await connect(conn));
  } catch (e) {
    throw lookupFailure(e);
  }
  return jobOutputOf(api, ref, namespaceFor(api.conn, conn.namespace));
}

/** A kubeconfig that cannot be used, said as a problem of the run output's lookup. */
export function lookupFailure(e: unknown): unknown {
  return e instanceof VllmappError ? new SourceProblem(`cannot look up runs in Kubernetes: ${e.message}`, e.hint) : e;
}

/** The run output `ref` names, from the Jobs of namespace `ns`. */
export async function jobOutputOf(api: KubeApi, ref: RunOutputRef, ns: string): Promise<Resolved> {
  const failure = (e: unknown, what: string): Error => {
    const cause = networkCause(e);
    if (cause)
      return new BackendUnreachable(
        `cannot reach the Kubernetes API server to ${what} (${cause})`,
        "check the kubeconfig context, or pass --context / --kubeconfig",
      );
    const code = e instanceof ApiError ? e.status : undefined;
    if (code === 403)
      return new SourceProblem(
        `not allowed to ${what}`,
        `the kubeconfig's user needs get and list on jobs.batch in namespace ${ns}`,
      );
    return new SourceProblem(`cannot ${what}: ${(e as Error).message.split("\n")[0]}`);
  };
  const jobsPath = `/apis/batch/v1/namespaces/${encodeURIComponent(ns)}/jobs`;
  const listJobs = async (labelSelector?: string): Promise<V1Job[]> => {
    try {
      const q = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : "";
      return (await api.request<{ items: V1Job[] }>("GET", `${jobsPath}${q}`, { what: `list Jobs in namespace ${ns}` }))
        .items;
    } catch (e) {
      throw failure(e, `list Jobs in namespace ${ns}`);
    }
  };

  let job: V1Job | undefined;
  if (ref.run_name !== undefined) {
    try {
      job = await api.get<V1Job>(`${jobsPath}/${encodeURIComponent(ref.run_name)}`, `read Job ${ref.run_name}`);
    } catch (e) {
      throw failure(e, `read Job ${ref.run_name} in namespace ${ns}`);
    }
    if (!job) {
      const names = (await listJobs()).map((j) => j.metadata!.name!).slice(0, 10);
      throw new SourceProblem(
        `no Job "${ref.run_name}" in namespace ${ns}`,
        names.length
          ? `Jobs there: ${names.join(", ")}`
          : "there are no Jobs in that namespace; set runs.namespace if the runs live elsewhere",
      );
    }
    const state = jobState(job);
    if (state !== "Complete")
      throw new SourceProblem(
        `Job ${ref.run_name} has not succeeded: it is ${state}`,
        "deploy the output of a succeeded run",
      );
  } else {
    const task = ref.task_name!;
    const jobs = await listJobs(`${TASK_LABEL}=${task}`);
    if (!jobs.length)
      throw new SourceProblem(
        `no Job labelled ${TASK_LABEL}=${task} in namespace ${ns}`,
        `label the training Jobs with ${TASK_LABEL}: ${task}`,
      );
    job = jobs.filter((j) => jobState(j) === "Complete").sort((a, b) => finishedAt(b) - finishedAt(a))[0];
    if (!job) {
      throw new SourceProblem(
        `no succeeded Job for task ${task} in namespace ${ns}`,
        `its Jobs: ${jobs.map((j) => `${j.metadata!.name} (${jobState(j)})`).join(", ")}`,
      );
    }
  }
  const name = job.metadata!.name!;
  const annotations = job.metadata?.annotations ?? {};
  const uri = annotations[`${OUTPUT_ANNOTATION}${ref.output}`];
  if (uri === undefined) {
    const outputs = Object.keys(annotations)
      .filter((k) => k.startsWith(OUTPUT_ANNOTATION))
      .map((k) => k.slice(OUTPUT_ANNOTATION.length));
    throw new SourceProblem(
      `Job ${name} has no output "${ref.output}"`,
      outputs.length ? `its outputs: ${outputs.join(", ")}` : `it has no ${OUTPUT_ANNOTATION}* annotations`,
    );
  }
  return { uri: uri.trim(), run: `job ${name}` };
}
