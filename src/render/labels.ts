/** The names every part of vllmapp agrees on: image default, field manager, labels, mount points. Pure. */
import type { AppConfig } from "../config/schema.js";

export const DEFAULT_IMAGE = "vllm/vllm-openai:v0.19.0";
export const FIELD_MANAGER = "vllmapp";
export const LABEL_APP = "vllmapp.dev/app";
export const CACHE_MOUNT = "/cache";
export const INCLUDE_MOUNT = "/app/include";
export const PVC_MOUNT = "/mnt/model";

export function imageOf(app: AppConfig): string {
  return app.image === "auto" ? DEFAULT_IMAGE : app.image;
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

export function selectorOf(app: AppConfig): Record<string, string> {
  return { [LABEL_APP]: app.name };
}

/**
 * The pods that serve requests: the app's, with the model-server component label. A multi-node server
 * gives that label to its leaders only (workers serve no HTTP); the PodMonitor and InferencePool select these.
 */
export function servingPodsOf(app: AppConfig): Record<string, string> {
  return { ...selectorOf(app), "app.kubernetes.io/component": "model-server" };
}
