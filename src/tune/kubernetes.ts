/**
 * `vllmapp tune` on Kubernetes: what a trial leaves in the namespace besides its app. `delete` removes
 * the trial's server (everything labelled as its app); the benchmark Jobs `bench` ran against it carry
 * their own label (vllmapp.dev/bench), and a Job that failed or was interrupted is kept by `bench` for a
 * look. A search must leave nothing, and the next trial must not start while the last one's benchmark
 * pod still holds the node's CPUs: after each trial (and on Ctrl-C) its Jobs are deleted and their pods
 * waited for. The trial server's /version is read through the API server's service proxy.
 */
import { BENCH_LABEL } from "../bench/bench.js";
import { KubeApi, type KObject } from "../cluster/api.js";
import { connect, namespaceFor } from "../cluster/connection.js";
import { ApiError } from "../cluster/errors.js";
import type { ConnectionOptions } from "../target.js";

/** How long to wait for the benchmark pods of a trial to go (a pod being deleted stops in seconds). */
const GONE_SECONDS = 120;

export interface TrialCluster {
  /** Delete the benchmark Jobs of the trial app `name` (in `namespace`); with `wait`, until their pods are gone. The Jobs deleted. */
  removeBenchJobs(name: string, namespace: string, wait: boolean): Promise<string[]>;
  /** The trial server's vLLM version (its /version, through the API server), or null. */
  serverVersion(name: string, namespace: string): Promise<string | null>;
}

/** The cluster of a search, as `tune` reaches it: its own client on the same connection as the session's. */
export async function connectTrials(
  opts: ConnectionOptions,
): Promise<TrialCluster & { namespaceOf: (ref: { name: string; fileNamespace?: string }) => string }> {
  const api = new KubeApi(await connect(opts));
  return { ...trialCluster(api), namespaceOf: (ref) => namespaceFor(api.conn, opts.namespace, ref.fileNamespace) };
}

export function trialCluster(api: KubeApi): TrialCluster {
  return {
    async removeBenchJobs(name, namespace, wait) {
      const selector = `${BENCH_LABEL}=${name}`;
      const jobs = await api.request<{ items: KObject[] }>("GET", `/apis/batch/v1/namespaces/${namespace}/jobs`, {
        query: { labelSelector: selector },
        what: `list the benchmark Jobs of ${name}`,
      });
      for (const j of jobs.items) {
        await api
          .request("DELETE", `/apis/batch/v1/namespaces/${namespace}/jobs/${j.metadata.name}`, {
            query: { propagationPolicy: "Background" },
            what: `delete the benchmark Job ${j.metadata.name}`,
          })
          .catch((e: unknown) => {
            if (!(e instanceof ApiError && e.status === 404)) throw e;
          });
      }
      if (wait) {
        const deadline = Date.now() + GONE_SECONDS * 1000;
        for (;;) {
          const pods = await api.request<{ items: KObject[] }>("GET", `/api/v1/namespaces/${namespace}/pods`, {
            query: { labelSelector: selector },
            what: `list the benchmark pods of ${name}`,
          });
          if (!pods.items.length) break;
          if (Date.now() > deadline)
            throw new Error(
              `the benchmark pods of ${name} were not gone after ${GONE_SECONDS} s: ${pods.items.map((p) => p.metadata.name).join(", ")}`,
            );
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      return jobs.items.map((j) => j.metadata.name);
    },
    async serverVersion(name, namespace) {
      try {
        const v = await api.request<{ version?: unknown }>(
          "GET",
          `/api/v1/namespaces/${namespace}/services/${name}:http/proxy/version`,
          { what: `read the /version of ${name}`, signal: AbortSignal.timeout(5000) },
        );
        return typeof v?.version === "string" ? v.version : null;
      } catch {
        return null;
      }
    },
  };
}
