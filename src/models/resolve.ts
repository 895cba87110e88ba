/**
 * Resolving and checking model sources against their backends (SPEC §3, §3.1); the fit check runs
 * on the rendered argv afterwards (src/app/fit-check.ts).
 * Run outputs and registry URIs become concrete sources; Hugging Face repos and s3:// prefixes are
 * checked for existence, access and weights; config.json and the weight sizes feed the fit check.
 * Backends load lazily (client-node, the AWS SDK, @huggingface/hub) when a source of their kind is met.
 *
 * Offline (--offline) skips the remote checks with a warning; `render` also skips, with a warning, a
 * backend it cannot reach; `deploy` and `check` treat an unreachable backend as an error.
 */
import type { LoadedApp } from "../config/load.js";
import type { Diagnostic } from "../errors.js";
import { BackendUnreachable, MissingCredentials, SourceProblem, type ModelFacts } from "./facts.js";
import { isProblem, parseModelPath, sourceUri, type ConcreteSource, type ModelSource } from "./source.js";
import { HF_REPO, type AppConfig, type RunOutputRef } from "../config/schema.js";
import type { Resolved } from "./runs-mlflow.js";

/** Resolves a run output on the `kubernetes` backend (src/cluster/job-output.ts, passed in so models/ needs no cluster code). */
export type JobOutputResolver = (ref: RunOutputRef, conn: { kubeconfig?: string; context?: string; namespace?: string }) => Promise<Resolved>;

export interface ResolverOptions {
  mode: "render" | "deploy" | "check";
  jobOutput: JobOutputResolver;
  offline?: boolean;
  namespace?: string;
  context?: string;
  kubeconfig?: string;
}

/** What resolving and checking one app's source found. */
export interface SourceReport {
  app: string;
  source: ModelSource;
  resolvedFrom?: string;
  facts?: ModelFacts;
  /** the fit check (src/app/fit-check.ts) adds its findings here once the argv is rendered */
  diagnostics: Diagnostic[];
}

/** A resolved run output's URI as a concrete source: any model_path kind, or a Hugging Face repo (hf://org/name or org/name). */
function concreteFrom(uri: string, backend: Extract<ModelSource, { kind: "run_output" }>["backend"]): ConcreteSource | undefined {
  const hf = /^(?:hf:\/\/)?([^@\s]+)(?:@(\S+))?$/.exec(uri);
  if (hf && HF_REPO.test(hf[1]!) && !uri.startsWith("/")) return hf[2] ? { kind: "hf", repo: hf[1]!, revision: hf[2] } : { kind: "hf", repo: hf[1]! };
  const src = parseModelPath(uri, backend);
  return isProblem(src) || src.kind === "run_output" || src.kind === "mlflow_model" ? undefined : src;
}

async function resolveSymbolic(app: LoadedApp, src: Extract<ModelSource, { kind: "run_output" | "mlflow_model" }>, opts: ResolverOptions) {
  if (src.kind === "mlflow_model") {
    const { resolveMlflowModel } = await import("./runs-mlflow.js");
    return resolveMlflowModel(src.name, { version: src.version, alias: src.alias }, src.backend.tracking_uri);
  }
  if (src.backend.backend === "mlflow") {
    const { resolveMlflowRunOutput } = await import("./runs-mlflow.js");
    return resolveMlflowRunOutput(src.ref, src.backend.tracking_uri, appEndpoint(app));
  }
  return opts.jobOutput(src.ref, { kubeconfig: opts.kubeconfig, context: opts.context, namespace: src.backend.namespace ?? opts.namespace ?? app.config.namespace });
}

function appEndpoint(app: LoadedApp): string | undefined {
  const v = app.config.env_vars?.AWS_ENDPOINT_URL;
  return v === undefined ? undefined : String(v);
}

async function checkConcrete(app: LoadedApp, src: ConcreteSource): Promise<ModelFacts | undefined> {
  switch (src.kind) {
    case "hf":
      return (await import("./hf.js")).checkHfSource(src.repo, src.revision);
    case "s3":
      return (await import("./object-store.js")).checkS3Source(src, { uri: src.uri, streamModel: app.config.stream_model, appEndpoint: appEndpoint(app) });
    default:
      return undefined;
  }
}

const NOT_CHECKED: Partial<Record<ConcreteSource["kind"], string>> = {
  gs: "gs:// sources are checked for syntax only: vllmapp does not read Google Cloud Storage",
  az: "az:// sources are checked for syntax only: vllmapp does not read Azure Blob Storage",
};

const CLOUD_CREDENTIAL_ENV = new Set(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI"]);

/**
 * Where the pods' own object-store credentials come from, if the config says: a Secret that sets the
 * standard AWS variables, or a service account (workload identity: IRSA, EKS Pod Identity). Undefined:
 * the pods would have to find them as this machine does.
 */
export function podCredentials(app: AppConfig): string | undefined {
  const bySecret = new Map<string, string[]>();
  for (const s of app.secrets ?? []) {
    const env = typeof s === "string" ? s : s.env_var;
    if (env === undefined || !CLOUD_CREDENTIAL_ENV.has(env)) continue;
    const secret = typeof s === "string" ? `${app.name}-secrets` : s.secret ?? `${app.name}-secrets`;
    bySecret.set(secret, [...(bySecret.get(secret) ?? []), env]);
  }
  if (bySecret.size) return [...bySecret].map(([secret, envs]) => `Secret ${secret} (${envs.join(", ")})`).join(", ");
  // `service_account` (workload identity) is a field of its own in newer configs; pod_template may set one too
  const spec = typeof app.pod_template === "object" ? (app.pod_template.spec as { serviceAccountName?: unknown; serviceAccount?: unknown } | undefined) : undefined;
  const sa = (app as AppConfig & { service_account?: string }).service_account ?? spec?.serviceAccountName ?? spec?.serviceAccount;
  if (typeof sa === "string" && sa !== "") return `service account ${sa}`;
  return undefined;
}

/** Resolve one app's source, check it against its backend and run the fit check. Never throws for source problems: they are diagnostics. */
export async function checkSource(app: LoadedApp, parsed: ModelSource, opts: ResolverOptions): Promise<SourceReport> {
  const report: SourceReport = { app: app.config.name, source: parsed, diagnostics: [] };
  const at = (path: (string | number)[]) => ({ file: app.file, ...app.locate(path), path: path.join(".") });
  const sourcePath = app.config.model_hf_path !== undefined ? ["model_hf_path"] : ["model_path"];
  const add = (severity: Diagnostic["severity"], message: string, hint?: string, path = sourcePath) => report.diagnostics.push({ ...at(path), severity, message, hint });
  /** A backend failure: an error, except an unreachable backend during render (a warning; the rest is skipped). */
  const fail = (e: unknown, skipped: string) => {
    if (!(e instanceof SourceProblem)) throw e;
    const theirs = e instanceof MissingCredentials && opts.mode !== "check" ? podCredentials(app.config) : undefined;
    if (e instanceof BackendUnreachable && opts.mode === "render") add("warning", `${e.message}; ${skipped}`, e.hint);
    else if (theirs) add("warning", `${e.message}, so it was not checked from here: the pods get their own credentials from ${theirs}`, "`vllmapp check` with credentials that can read it checks it (existence, weights, fit)");
    else add("error", e.message, e.hint);
  };

  let src: ModelSource = parsed;
  if (src.kind === "run_output" || src.kind === "mlflow_model") {
    if (opts.offline && opts.mode !== "deploy") {
      add("warning", `--offline: ${sourceUri(src)} is left unresolved`);
      return report;
    }
    let resolved;
    try {
      resolved = await resolveSymbolic(app, src, opts);
    } catch (e) {
      fail(e, `${sourceUri(src)} is left unresolved`);
      return report;
    }
    const concrete = concreteFrom(resolved.uri, src.backend);
    if (!concrete) {
      add("error", `${sourceUri(src)} resolved to "${resolved.uri}" (${resolved.run}), which is not a model location`, "a run output must be an s3://, gs://, az://, pvc:// URI, an absolute path, or a Hugging Face repo");
      return report;
    }
    report.resolvedFrom = `${sourceUri(src)} (${resolved.run})`;
    report.source = src = concrete;
  }
  if (opts.offline) {
    if (src.kind === "hf" || src.kind === "s3") add("warning", `--offline: ${sourceUri(src)} was not checked (existence, access, fit)`);
    return report;
  }
  try {
    report.facts = await checkConcrete(app, src);
  } catch (e) {
    fail(e, "not checked");
    return report;
  }
  const skipped = NOT_CHECKED[src.kind];
  if (skipped) add("note", skipped);
  if (report.facts?.gated && ![...(app.config.secrets ?? []).map((s) => (typeof s === "string" ? s : s.env_var)), ...Object.keys(app.config.env_vars ?? {})].includes("HF_TOKEN")) {
    add("warning", `${sourceUri(src)} is gated, but the server gets no HF_TOKEN, so it cannot download it`, "add HF_TOKEN under secrets (vllmapp deploy --create-secrets copies it from your environment)");
  }
  return report;
}

/** The resolver the plan calls (src/app/plan.ts): every finding is a diagnostic in the report. */
export function sourceResolver(opts: ResolverOptions): (app: LoadedApp, source: ModelSource) => Promise<SourceReport> {
  return (app, source) => checkSource(app, source, opts);
}
