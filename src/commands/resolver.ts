/**
 * The source resolver the commands hand to the plan: models/resolve, with the Kubernetes Job backend wired
 * in: through the plan's cluster reads when the command has them (one session), else a connection of its own.
 */
import type { ClusterReads } from "../app/cluster-reads.js";
import type { LoadedApp } from "../config/load.js";
import type { ModelSource } from "../models/source.js";
import type { ResolverOptions, SourceReport } from "../models/resolve.js";

export async function makeSourceResolver(
  opts: Omit<ResolverOptions, "jobOutput">,
  cluster?: ClusterReads,
): Promise<(app: LoadedApp, source: ModelSource) => Promise<SourceReport>> {
  const { sourceResolver } = await import("../models/resolve.js");
  const jobOutput: ResolverOptions["jobOutput"] = cluster
    ? (ref, conn) => cluster.jobOutput(ref, conn.namespace)
    : async (ref, conn) => (await import("../cluster/job-output.js")).resolveJobOutput(ref, conn);
  return sourceResolver({ ...opts, jobOutput });
}
