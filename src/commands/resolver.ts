/** The source resolver the commands hand to the plan: models/resolve, with the Kubernetes Job backend wired in. */
import type { LoadedApp } from "../config/load.js";
import type { ModelSource } from "../models/source.js";
import type { ResolverOptions, SourceReport } from "../models/resolve.js";

export async function makeSourceResolver(opts: Omit<ResolverOptions, "jobOutput">): Promise<(app: LoadedApp, source: ModelSource) => Promise<SourceReport>> {
  const { sourceResolver } = await import("../models/resolve.js");
  return sourceResolver({ ...opts, jobOutput: async (ref, conn) => (await import("../cluster/job-output.js")).resolveJobOutput(ref, conn) });
}
