/**
 * Resolving model sources against their backends (SPEC §3.1). Concrete sources pass through;
 * run outputs and registry URIs need a backend.
 */
import { ConfigError } from "../errors.js";
import type { SourceResolver } from "../commands/common.js";
import type { Ui } from "../ui/output.js";
import { sourceUri } from "./source.js";

export interface ResolverOptions {
  ui: Ui;
  mode: "render" | "deploy";
  offline?: boolean;
  namespace?: string;
  context?: string;
  kubeconfig?: string;
}

export function makeResolver(_opts: ResolverOptions): SourceResolver {
  return async (app, source) => {
    if (source.kind === "run_output" || source.kind === "mlflow_model") {
      throw new ConfigError([{ file: app.file, ...app.locate(["model_path"]), path: "model_path", severity: "error", message: `cannot resolve ${sourceUri(source)} yet: run-output resolution is not built` }]);
    }
    return { source };
  };
}
