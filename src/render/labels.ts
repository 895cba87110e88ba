/** The names every part of vllmapp agrees on: image default, field manager, labels, mount points. Pure. */
import type { AppConfig } from "../config/schema.js";
import { VERSION } from "../version.js";

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
  return { ...(v ? { "app.kubernetes.io/version": v } : {}), "vllmapp.dev/version": VERSION };
}

export function selectorOf(app: AppConfig): Record<string, string> {
  return { [LABEL_APP]: app.name };
}
