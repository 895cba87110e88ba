/**
 * Where the model comes from, parsed into one typed value (README "Model sources"). Pure.
 * Run outputs and MLflow registry URIs are parsed here and resolved against their backends in ./resolve.ts.
 */
import type { AppConfig, RunOutputRef } from "../config/schema.js";
import type { Finding } from "../errors.js";

export type ObjectStoreScheme = "s3" | "gs" | "az";

export type ModelSource =
  | { kind: "hf"; repo: string; revision?: string }
  | { kind: ObjectStoreScheme; uri: string; bucket: string; prefix: string }
  | { kind: "pvc"; claim: string; subPath: string }
  | { kind: "path"; path: string }
  | { kind: "run_output"; ref: RunOutputRef; backend: RunsBackend }
  | {
      kind: "mlflow_model";
      uri: string;
      name: string;
      version?: string;
      alias?: string;
      backend: Extract<RunsBackend, { backend: "mlflow" }>;
    };

export type RunsBackend = { backend: "kubernetes"; namespace?: string } | { backend: "mlflow"; tracking_uri: string };

/** A source that names concrete bytes (everything but run outputs and registry URIs). */
export type ConcreteSource = Extract<ModelSource, { kind: "hf" | ObjectStoreScheme | "pvc" | "path" }>;

const OBJECT_URI = /^(s3|gs|az):\/\/([^/\s]+)(?:\/(.*))?$/;

/** Parse a model_path string into a source, or a problem describing what is wrong with it. */
export function parseModelPath(value: string, backend: RunsBackend): ModelSource | Finding {
  const v = value.trim();
  const obj = OBJECT_URI.exec(v);
  if (obj) {
    const [, scheme, bucket, rest = ""] = obj;
    return {
      kind: scheme as ObjectStoreScheme,
      uri: v.replace(/\/+$/, ""),
      bucket: bucket!,
      prefix: rest.replace(/\/+$/, ""),
    };
  }
  if (/^(s3|gs|az):/.test(v)) {
    return {
      path: ["model_path"],
      severity: "error",
      message: `"${v}" is not an object-store URI`,
      hint: "write scheme://bucket/prefix, e.g. s3://my-bucket/models/qwen3",
    };
  }
  if (v.startsWith("pvc://")) {
    const m = /^pvc:\/\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)(\/.*)?$/.exec(v);
    if (!m)
      return {
        path: ["model_path"],
        severity: "error",
        message: `"${v}" is not a PVC path`,
        hint: "write pvc://CLAIM/sub/path, with CLAIM the PersistentVolumeClaim's name",
      };
    const sub = (m[3] ?? "").replace(/^\/+|\/+$/g, "");
    if (sub.split("/").includes(".."))
      return { path: ["model_path"], severity: "error", message: `"${v}" climbs out of the claim with ".."` };
    return { kind: "pvc", claim: m[1]!, subPath: sub };
  }
  const reg = /^models:\/([^/@\s]+)(?:\/(\d+)|@([A-Za-z0-9_-]+))$/.exec(v);
  if (reg) {
    if (backend.backend !== "mlflow") {
      return {
        path: ["model_path"],
        severity: "error",
        message: `"${v}" is an MLflow model registry URI, but runs.backend is "${backend.backend}"`,
        hint: "add runs: {backend: mlflow, tracking_uri: http://…}",
      };
    }
    return { kind: "mlflow_model", uri: v, name: reg[1]!, version: reg[2], alias: reg[3], backend };
  }
  if (v.startsWith("models:")) {
    return {
      path: ["model_path"],
      severity: "error",
      message: `"${v}" is not a model registry URI`,
      hint: "write models:/NAME/VERSION or models:/NAME@alias",
    };
  }
  if (v.startsWith("/")) return { kind: "path", path: v.replace(/(.)\/+$/, "$1") };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) {
    return {
      path: ["model_path"],
      severity: "error",
      message: `unsupported URI scheme in "${v}"`,
      hint: "model_path takes s3://, gs://, az://, pvc://, models:/, an absolute path in the container, or {run_output: …}; a Hugging Face repo goes in model_hf_path",
    };
  }
  if (/^[\w.-]+\/[\w.-]+$/.test(v)) {
    return {
      path: ["model_path"],
      severity: "error",
      message: `"${v}" looks like a Hugging Face repo, not a path`,
      hint: `write model_hf_path: ${v}`,
    };
  }
  return {
    path: ["model_path"],
    severity: "error",
    message: `"${v}" is a relative path; the container cannot see it`,
    hint: "give an absolute path inside the container, or an s3://, gs://, az:// or pvc:// URI",
  };
}

export function isProblem(x: ModelSource | Finding): x is Finding {
  return "message" in x;
}

export function runsBackendOf(app: AppConfig): RunsBackend {
  return app.runs ?? { backend: "kubernetes" };
}

/** The app's model source (unresolved: run outputs stay symbolic). */
export function parseModelSource(app: AppConfig): ModelSource | Finding {
  if (app.model_hf_path !== undefined) {
    const [repo, revision] = app.model_hf_path.split("@", 2) as [string, string | undefined];
    return revision ? { kind: "hf", repo, revision } : { kind: "hf", repo };
  }
  const mp = app.model_path;
  if (typeof mp === "object" && mp !== null)
    return { kind: "run_output", ref: mp.run_output, backend: runsBackendOf(app) };
  return parseModelPath(mp ?? "", runsBackendOf(app));
}

/** The URI a source is shown as (`model.uri` of the JSON output). */
export function sourceUri(src: ModelSource): string {
  switch (src.kind) {
    case "hf":
      return src.revision ? `${src.repo}@${src.revision}` : src.repo;
    case "s3":
    case "gs":
    case "az":
      return src.uri;
    case "pvc":
      return `pvc://${src.claim}${src.subPath ? `/${src.subPath}` : ""}`;
    case "path":
      return src.path;
    case "mlflow_model":
      return src.uri;
    case "run_output":
      return `run_output:${src.ref.run_name ?? `task=${src.ref.task_name}`}/${src.ref.output}`;
  }
}

/** The name clients send: model_id, else the HF repo id, else the app name. */
export function servedModelName(app: AppConfig, src: ModelSource): string {
  if (app.model_id) return app.model_id;
  if (src.kind === "hf") return src.repo;
  return app.name;
}

export function isObjectStore(src: ModelSource): src is Extract<ModelSource, { kind: ObjectStoreScheme }> {
  return src.kind === "s3" || src.kind === "gs" || src.kind === "az";
}
