/** What the Kubernetes renderer's parts share: template objects as client-node types, and metadata. Pure. */
import type { V1ObjectMeta } from "@kubernetes/client-node";
import type { K8sObject } from "../types.js";

type Typed = { apiVersion?: string; kind?: string; metadata?: V1ObjectMeta };

/**
 * A template object as its client-node type. The templates are YAML that vllmapp ships (or a copy the
 * user edits), checked to be mappings when loaded; their shape is the Kubernetes API's.
 */
export function typed<T extends Typed>(obj: K8sObject): T {
  return obj as unknown as T;
}

/** A typed object back in the generic shape; meta() set its apiVersion-kind-name from the template. */
export function generic(obj: Typed): K8sObject {
  return obj as unknown as K8sObject;
}

export function clone<T>(v: T): T {
  return structuredClone(v);
}

/** Name, namespace, the app's labels and extra annotations on one object (in place; returned). */
export type Meta = (obj: K8sObject, name: string, extra?: Record<string, string>) => K8sObject;

export function metaOf(labels: Record<string, string>, namespace: string | undefined): Meta {
  return (obj, name, extra = {}) => {
    obj.metadata = {
      ...obj.metadata,
      name,
      ...(namespace ? { namespace } : {}),
      labels: { ...(obj.metadata.labels ?? {}), ...labels },
      annotations: { ...(obj.metadata.annotations ?? {}), ...extra },
    };
    if (Object.keys(obj.metadata.annotations!).length === 0) delete obj.metadata.annotations;
    return obj;
  };
}

/** A name as a DNS-1123 label (volume and container names): lowercase, '-' for the rest, at most 63 characters. */
export function dnsLabel(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .slice(0, 63)
    .replace(/-+$/, "");
}

/** The init steps' size (model copy, on_startup): rclone and a hook are light next to the server. */
export const INIT_RESOURCES = { requests: { cpu: "1", memory: "1Gi" }, limits: { memory: "4Gi" } };
