/**
 * Resolving and checking model sources against their backends (README "Model sources"); the fit check runs
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
import { BackendUnreachable, CredentialsProblem, SourceProblem, type ModelFacts } from "./facts.js";
import { isProblem, parseModelPath, sourceUri, type ConcreteSource, type ModelSource } from "./source.js";
import { HF_REPO, type AppConfig, type RunOutputRef } from "../config/schema.js";
import type { Resolved } from "./runs-mlflow.js";

/** Resolves a run output on the `kubernetes` backend (src/cluster/job-output.ts, passed in so models/ needs no cluster code). */
export type JobOutputResolver = (
  ref: RunOutputRef,
  conn: { kubeconfig?: string; context?: string; namespace?: string },
) => Promise<Resolved>;

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
  /** LoRA adapters whose adapter_config.json was read: name → rank (r) */
  adapterRanks?: Map<string, number>;
  /** the draft model (speculative decoding), resolved when it is a run output */
  draftSource?: ModelSource;
}

/** A resolved run output's URI as a concrete source: any model_path kind, or a Hugging Face repo (hf://org/name or org/name). */
function concreteFrom(
  uri: string,
  backend: Extract<ModelSource, { kind: "run_output" }>["backend"],
): ConcreteSource | undefined {
  const hf = /^(?:hf:\/\/)?([^@\s]+)(?:@(\S+))?$/.exec(uri);
  if (hf && HF_REPO.test(hf[1]!) && !uri.startsWith("/"))
    return hf[2] ? { kind: "hf", repo: hf[1]!, revision: hf[2] } : { kind: "hf", repo: hf[1]! };
  const src = parseModelPath(uri, backend);
  return isProblem(src) || src.kind === "run_output" || src.kind === "mlflow_model" ? undefined : src;
}

async function resolveSymbolic(
  app: LoadedApp,
  src: Extract<ModelSource, { kind: "run_output" | "mlflow_model" }>,
  opts: ResolverOptions,
) {
  if (src.kind === "mlflow_model") {
    const { resolveMlflowModel } = await import("./runs-mlflow.js");
    return resolveMlflowModel(src.name, { version: src.version, alias: src.alias }, src.backend.tracking_uri);
  }
  if (src.backend.backend === "mlflow") {
    const { resolveMlflowRunOutput } = await import("./runs-mlflow.js");
    return resolveMlflowRunOutput(src.ref, src.backend.tracking_uri, appEndpoint(app));
  }
  return opts.jobOutput(src.ref, {
    kubeconfig: opts.kubeconfig,
    context: opts.context,
    namespace: src.backend.namespace ?? opts.namespace ?? app.config.namespace,
  });
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
      return (await import("./object-store.js")).checkS3Source(src, {
        uri: src.uri,
        streamModel: app.config.stream_model,
        appEndpoint: appEndpoint(app),
      });
    default:
      return undefined;
  }
}

const NOT_CHECKED: Partial<Record<ConcreteSource["kind"], string>> = {
  gs: "gs:// sources are checked for syntax only: vllmapp does not read Google Cloud Storage",
  az: "az:// sources are checked for syntax only: vllmapp does not read Azure Blob Storage",
};

const CLOUD_CREDENTIAL_ENV = new Set([
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_ROLE_ARN",
  "AWS_PROFILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
]);

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
    const secret = typeof s === "string" ? `${app.name}-secrets` : (s.secret ?? `${app.name}-secrets`);
    bySecret.set(secret, [...(bySecret.get(secret) ?? []), env]);
  }
  if (bySecret.size) return [...bySecret].map(([secret, envs]) => `Secret ${secret} (${envs.join(", ")})`).join(", ");
  // `service_account` (workload identity) is a field of its own in newer configs; pod_template may set one too
  const spec =
    typeof app.pod_template === "object"
      ? (app.pod_template.spec as { serviceAccountName?: unknown; serviceAccount?: unknown } | undefined)
      : undefined;
  const sa =
    (app as AppConfig & { service_account?: string }).service_account ??
    spec?.serviceAccountName ??
    spec?.serviceAccount;
  if (typeof sa === "string" && sa !== "") return `service account ${sa}`;
  return undefined;
}

/** Resolve one app's source, check it against its backend and run the fit check. Never throws for source problems: they are diagnostics. */
export async function checkSource(app: LoadedApp, parsed: ModelSource, opts: ResolverOptions): Promise<SourceReport> {
  const report: SourceReport = { app: app.config.name, source: parsed, diagnostics: [] };
  const at = (path: (string | number)[]) => ({ file: app.file, ...app.locate(path), path: path.join(".") });
  const sourcePath = app.config.model_hf_path !== undefined ? ["model_hf_path"] : ["model_path"];
  const add = (severity: Diagnostic["severity"], message: string, hint?: string, path = sourcePath) =>
    report.diagnostics.push({ ...at(path), severity, message, hint });
  /** A backend failure: an error, except an unreachable backend during render (a warning; the rest is skipped). */
  const fail = (e: unknown, skipped: string) => {
    if (!(e instanceof SourceProblem)) throw e;
    // this machine cannot read it, the pods may (a Secret, a service account): not checked from here, except by `check`
    const theirs = e instanceof CredentialsProblem && opts.mode !== "check" ? podCredentials(app.config) : undefined;
    if (e instanceof BackendUnreachable && opts.mode === "render") add("warning", `${e.message}; ${skipped}`, e.hint);
    else if (theirs)
      add(
        "warning",
        `${e.message}, so it was not checked from here: the pods get their own credentials from ${theirs}`,
        "`vllmapp check` with credentials that can read it checks it (existence, weights, fit)",
      );
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
      add(
        "error",
        `${sourceUri(src)} resolved to "${resolved.uri}" (${resolved.run}), which is not a model location`,
        "a run output must be an s3://, gs://, az://, pvc:// URI, an absolute path, or a Hugging Face repo",
      );
      return report;
    }
    report.resolvedFrom = `${sourceUri(src)} (${resolved.run})`;
    report.source = src = concrete;
  }
  if (opts.offline) {
    if (src.kind === "hf" || src.kind === "s3")
      add("warning", `--offline: ${sourceUri(src)} was not checked (existence, access, fit)`);
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
  if (
    report.facts?.gated &&
    ![
      ...(app.config.secrets ?? []).map((s) => (typeof s === "string" ? s : s.env_var)),
      ...Object.keys(app.config.env_vars ?? {}),
    ].includes("HF_TOKEN")
  ) {
    add(
      "warning",
      `${sourceUri(src)} is gated, but the server gets no HF_TOKEN, so it cannot download it`,
      "add HF_TOKEN under secrets (vllmapp deploy --create-secrets copies it from your environment)",
    );
  }
  return report;
}

/** The adapter's base model, as adapter_config.json names it, against the app's model: the same, or why not. */
export function baseModelMismatch(base: string, main: ModelSource): string | undefined {
  const last = (p: string) => p.replace(/\/+$/, "").split("/").pop()!.toLowerCase();
  if (main.kind === "hf") {
    if (base.toLowerCase() === main.repo.toLowerCase()) return undefined;
    // a local path (the adapter was trained on a downloaded copy): compare the folder name with the repo's name
    if ((base.startsWith("/") || base.startsWith(".")) && last(base) === last(main.repo)) return undefined;
    if (!base.includes("/") && base.toLowerCase() === last(main.repo)) return undefined;
    return `it was trained on ${base}, and the app serves ${main.repo}`;
  }
  const uri = sourceUri(main);
  return last(base) === last(uri) ? undefined : `it was trained on ${base}, and the app serves ${uri}`;
}

/**
 * Read each LoRA adapter's adapter_config.json where this machine can (the Hub, s3://, a local folder):
 * its rank (for --max-lora-rank) and its base model against the app's; everything else is a note.
 */
async function checkAdapters(
  app: LoadedApp,
  main: ModelSource,
  report: SourceReport,
  opts: ResolverOptions,
): Promise<void> {
  const adapters = app.config.lora?.adapters ?? [];
  if (!adapters.length) return;
  const { parseAdapterSource } = await import("./adapter-source.js");
  const ranks = new Map<string, number>();
  for (const [i, a] of adapters.entries()) {
    const path = ["lora", "adapters", i, "source"];
    const at = { file: app.file, ...app.locate(path), path: path.join(".") };
    const add = (severity: Diagnostic["severity"], message: string, hint?: string) =>
      report.diagnostics.push({ ...at, severity, message, ...(hint ? { hint } : {}) });
    const src = parseAdapterSource(a.source);
    if ("message" in src) continue; // the render reports it
    if (opts.offline) {
      add("warning", `--offline: adapter ${a.name} (${a.source}) was not checked`);
      continue;
    }
    let text: string | undefined;
    try {
      if (src.kind === "hf")
        text = await (await import("./hf.js")).readHfFile(src.repo, "adapter_config.json", src.revision);
      else if (src.kind === "s3")
        text = await (
          await import("./object-store.js")
        ).readS3File({ bucket: src.bucket, prefix: src.prefix }, "adapter_config.json", appEndpoint(app));
      else if (src.kind === "path") text = await readLocalFile(`${src.path}/adapter_config.json`);
      else {
        add("note", `adapter ${a.name}: ${src.kind}:// is not read from here (rank and base model not checked)`);
        continue;
      }
    } catch (e) {
      if (!(e instanceof SourceProblem)) throw e;
      if (e instanceof CredentialsProblem && app.config.service_account)
        add(
          "note",
          `adapter ${a.name}: not checked from here: ${e.message}; the pod reads it as service account ${app.config.service_account}`,
        );
      else if (e instanceof BackendUnreachable && opts.mode === "render")
        add("warning", `adapter ${a.name}: ${e.message}; not checked`, e.hint);
      else add("error", `adapter ${a.name}: ${e.message}`, e.hint);
      continue;
    }
    if (text === undefined) {
      if (src.kind === "path")
        add("note", `adapter ${a.name}: ${src.path} is not a folder on this machine; it is not checked`);
      else
        add(
          "error",
          `adapter ${a.name}: ${a.source} has no adapter_config.json, so it is not a PEFT LoRA adapter vLLM can load`,
        );
      continue;
    }
    let cfg: { r?: unknown; base_model_name_or_path?: unknown; peft_type?: unknown };
    try {
      cfg = JSON.parse(text) as typeof cfg;
    } catch {
      add("error", `adapter ${a.name}: adapter_config.json is not valid JSON`);
      continue;
    }
    if (cfg.peft_type !== undefined && cfg.peft_type !== "LORA")
      add("error", `adapter ${a.name} is a ${String(cfg.peft_type)} adapter; vLLM serves LORA adapters only`);
    if (typeof cfg.r === "number") ranks.set(a.name, cfg.r);
    const base = typeof cfg.base_model_name_or_path === "string" ? cfg.base_model_name_or_path : undefined;
    const mismatch = base === undefined ? undefined : baseModelMismatch(base, main);
    if (mismatch) {
      const hard = main.kind === "hf" && HF_REPO.test(base!) && !base!.startsWith("/");
      add(
        hard ? "error" : "warning",
        `adapter ${a.name} does not match the base model: ${mismatch}`,
        "serve it with the model it was trained on, or retrain it",
      );
    }
    add("note", `adapter ${a.name}: rank ${typeof cfg.r === "number" ? cfg.r : "?"}${base ? `, base ${base}` : ""}`);
  }
  if (ranks.size) report.adapterRanks = ranks;
}

/** The draft model: a run output is resolved; a Hugging Face or s3:// draft is checked like a main model. */
async function checkDraft(app: LoadedApp, report: SourceReport, opts: ResolverOptions): Promise<void> {
  const c = app.config;
  if (c.draft_model_hf_path === undefined && c.draft_model_path === undefined) return;
  const path = c.draft_model_hf_path !== undefined ? ["draft_model_hf_path"] : ["draft_model_path"];
  const add = (severity: Diagnostic["severity"], message: string, hint?: string) =>
    report.diagnostics.push({
      file: app.file,
      ...app.locate(path),
      path: path.join("."),
      severity,
      message,
      ...(hint ? { hint } : {}),
    });
  let src: ModelSource | undefined;
  if (c.draft_model_hf_path !== undefined) {
    const [repo, revision] = c.draft_model_hf_path.trim().split("@", 2) as [string, string | undefined];
    src = revision ? { kind: "hf", repo, revision } : { kind: "hf", repo };
  } else if (typeof c.draft_model_path === "object") {
    src = { kind: "run_output", ref: c.draft_model_path.run_output, backend: c.runs ?? { backend: "kubernetes" } };
  } else {
    const p = parseModelPath(c.draft_model_path!, c.runs ?? { backend: "kubernetes" });
    if (isProblem(p)) return; // the render reports it
    src = p;
  }
  if (opts.offline) {
    if (src.kind !== "path" && src.kind !== "pvc")
      add("warning", `--offline: the draft ${sourceUri(src)} was not checked`);
    return;
  }
  const fail = (e: unknown) => {
    if (!(e instanceof SourceProblem)) throw e;
    if (e instanceof CredentialsProblem && c.service_account)
      add(
        "note",
        `the draft: not checked from here: ${e.message}; the pod reads it as service account ${c.service_account}`,
      );
    else if (e instanceof BackendUnreachable && opts.mode === "render")
      add("warning", `the draft: ${e.message}; not checked`, e.hint);
    else add("error", `the draft: ${e.message}`, e.hint);
  };
  if (src.kind === "run_output" || src.kind === "mlflow_model") {
    try {
      const resolved = await resolveSymbolic(app, src, opts);
      const concrete = concreteFrom(resolved.uri, src.backend);
      if (!concrete) {
        add(
          "error",
          `the draft ${sourceUri(src)} resolved to "${resolved.uri}" (${resolved.run}), which is not a model location`,
        );
        return;
      }
      add("note", `the draft ${sourceUri(src)} is ${sourceUri(concrete)} (${resolved.run})`);
      src = concrete;
    } catch (e) {
      return fail(e);
    }
  }
  report.draftSource = src;
  try {
    const facts = await checkConcrete(app, src as ConcreteSource);
    if (facts) add("note", `the draft: ${facts.checked}`);
  } catch (e) {
    fail(e);
  }
}

async function readLocalFile(p: string): Promise<string | undefined> {
  const { readFile } = await import("node:fs/promises");
  try {
    return await readFile(p, "utf8");
  } catch {
    return undefined;
  }
}

/** The resolver the plan calls (src/app/plan.ts): every finding is a diagnostic in the report. */
export function sourceResolver(opts: ResolverOptions): (app: LoadedApp, source: ModelSource) => Promise<SourceReport> {
  return async (app, source) => {
    const report = await checkSource(app, source, opts);
    await checkAdapters(app, report.source, report, opts);
    await checkDraft(app, report, opts);
    return report;
  };
}
