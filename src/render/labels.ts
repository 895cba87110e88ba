/** The names every part of vllmapp agrees on: image default, field manager, labels, mount points, the API key's Secret. Pure. */
import { findGpuType } from "../config/gpus.js";
import type { AppConfig } from "../config/schema.js";
import { VERSION } from "../version.js";

/** The newest vLLM release with a catalog (templates/vllm/catalogs/index.json), pinned. */
export const DEFAULT_IMAGE = "vllm/vllm-openai:v0.34.0";
/** vLLM's ROCm build of the same release (AMD GPUs): the image vLLM publishes next to the CUDA one. */
export const DEFAULT_ROCM_IMAGE = DEFAULT_IMAGE.replace(/^vllm\/vllm-openai:/, "vllm/vllm-openai-rocm:");
/** vLLM's CPU build of the same release (no GPU), as vLLM's docs name it. */
export const DEFAULT_CPU_IMAGE = DEFAULT_IMAGE.replace(
  /^vllm\/vllm-openai:/,
  "public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo:",
);
/** The field manager of every write vllmapp makes (server-side apply, and the few POSTs and PATCHes). */
export const FIELD_MANAGER = "vllmapp";
/** The manager of the start-history ConfigMap (cluster/starts.ts): not the deploy's, whose applies never touch it. */
export const HISTORY_FIELD_MANAGER = "vllmapp-starts";
/** Label and annotation keys vllmapp writes, and reads back in status, bench and the diagnosis. */
export const LABEL_APP = "vllmapp.dev/app";
export const LABEL_VERSION = "vllmapp.dev/version";
export const ANNOTATION_MODEL_URI = "vllmapp.dev/model-uri";
export const ANNOTATION_MODEL_ID = "vllmapp.dev/model-id";
export const ANNOTATION_MODEL_SOURCE = "vllmapp.dev/model-source";
export const ANNOTATION_DESCRIPTION = "vllmapp.dev/description";
export const ANNOTATION_LINKS = "vllmapp.dev/links";
export const ANNOTATION_INCLUDE_HASH = "vllmapp.dev/include-hash";
export const CACHE_MOUNT = "/cache";
export const INCLUDE_MOUNT = "/app/include";
export const PVC_MOUNT = "/mnt/model";

/** The GPU vendor an app asks for (none: no GPU type named). */
export function gpuVendorOf(app: AppConfig): "nvidia" | "amd" | undefined {
  const name = app.resources?.gpu?.type;
  return name === undefined ? undefined : findGpuType(name)?.vendor;
}

/** `image: auto` is vLLM's CUDA image, or its ROCm image for an AMD GPU type. */
export function imageOf(app: AppConfig): string {
  if (app.image !== "auto") return app.image;
  return gpuVendorOf(app) === "amd" ? DEFAULT_ROCM_IMAGE : DEFAULT_IMAGE;
}

/** Where the pod's API key comes from: the generated `<app>-api-key` Secret, a Secret the user manages, or none. */
export function apiKeyRef(app: AppConfig): { secret: string; key: string; generated: boolean } | undefined {
  if (app.requires_auth === false) return undefined;
  if (app.requires_auth === true) return { secret: `${app.name}-api-key`, key: "VLLM_API_KEY", generated: true };
  return { secret: app.requires_auth.secret, key: app.requires_auth.key, generated: false };
}

/** on_startup / on_shutdown as argv: a string runs through `sh -c`. */
export function hookArgv(hook: string | readonly string[]): string[] {
  return typeof hook === "string" ? ["/bin/sh", "-c", hook] : [...hook];
}

export function labelsOf(app: AppConfig): Record<string, string> {
  return {
    "app.kubernetes.io/name": app.name,
    "app.kubernetes.io/instance": app.name,
    "app.kubernetes.io/component": "model-server",
    "app.kubernetes.io/managed-by": "vllmapp",
    [LABEL_APP]: app.name,
  };
}

/** The version of what runs: the image's tag (or the start of its digest), when it makes a label value. */
export function appVersionOf(app: AppConfig): string | undefined {
  const image = imageOf(app);
  const digest = /@sha256:([0-9a-f]{12})/.exec(image);
  const tag = /:([\w][\w.-]{0,127})$/.exec(image.replace(/^[^/]+:\d+\//, ""))?.[1];
  const v = digest ? `sha256-${digest[1]}` : tag;
  return v !== undefined && v.length <= 63 && /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(v) ? v : undefined;
}

/**
 * On every object's metadata: the app's version and the vllmapp that rendered it (as helm.sh/chart).
 * The pod template carries only the app's version, which changes with the image anyway: upgrading
 * vllmapp must not restart every model server.
 */
export function versionLabelsOf(app: AppConfig): Record<string, string> {
  const v = appVersionOf(app);
  return { ...(v ? { "app.kubernetes.io/version": v } : {}), [LABEL_VERSION]: VERSION };
}

export function selectorOf(app: AppConfig): Record<string, string> {
  return { [LABEL_APP]: app.name };
}

/**
 * The shell command that puts a new random API key into a Secret, for GitOps users: the key is generated
 * on the user's machine by the command itself and never appears in any argv or output; applied
 * server-side under the field manager `vllmapp-keygen` (as `deploy` does), so a later `kubectl apply -k`
 * of the data-less Secret, client- or server-side, leaves it in place. Run it before or after the apply.
 */
export function createApiKeyCommand(secret: string, key: string, namespace?: string): string {
  const ns = namespace ? ` -n ${namespace}` : "";
  return `openssl rand -hex 32 | tr -d '\\n' | kubectl create secret generic ${secret}${ns} --from-file=${key}=/dev/stdin --dry-run=client -o yaml | kubectl apply --server-side --field-manager=vllmapp-keygen -f -`;
}

/**
 * The pods that serve requests: the app's, with the model-server component label. A multi-node server
 * gives that label to its leaders only (workers serve no HTTP); the PodMonitor and InferencePool select these.
 */
export function servingPodsOf(app: AppConfig): Record<string, string> {
  return { ...selectorOf(app), "app.kubernetes.io/component": "model-server" };
}
