/**
 * The ApplySet convention (KEP-3659), as kubectl implements it: a parent object (here the Secret
 * `applyset-<app>`) labelled `applyset.kubernetes.io/id`, annotated with the tooling and the group-kinds
 * its members have; each member labelled `applyset.kubernetes.io/part-of: <id>`. Pruning lists those
 * group-kinds by the part-of label and deletes what the new render no longer has. Pure.
 */
import { createHash } from "node:crypto";
import { labelsOf } from "../render/labels.js";
import type { K8sObject } from "../render/types.js";
import type { AppConfig } from "../config/schema.js";

export const LABEL_ID = "applyset.kubernetes.io/id";
export const LABEL_PART_OF = "applyset.kubernetes.io/part-of";
export const ANN_TOOLING = "applyset.kubernetes.io/tooling";
export const ANN_GROUP_KINDS = "applyset.kubernetes.io/contains-group-kinds";
export const TOOLING = "vllmapp/v0.1.0";

/** applyset-<base64url(sha256(<name>.<namespace>.<kind>.<group>))>-v1 */
export function applySetId(parent: { name: string; namespace: string; kind: string; group: string }): string {
  const hash = createHash("sha256")
    .update([parent.name, parent.namespace, parent.kind, parent.group].join("."))
    .digest("base64url");
  return `applyset-${hash}-v1`;
}

export function parentName(app: string): string {
  return `applyset-${app}`;
}

/** "Deployment.apps", or "Secret" for the core group */
export function groupKindOf(obj: Pick<K8sObject, "apiVersion" | "kind">): string {
  const group = obj.apiVersion.includes("/") ? obj.apiVersion.split("/")[0] : "";
  return group ? `${obj.kind}.${group}` : obj.kind;
}

export function splitGroupKind(gk: string): { kind: string; group: string } {
  const dot = gk.indexOf(".");
  return dot < 0 ? { kind: gk, group: "" } : { kind: gk.slice(0, dot), group: gk.slice(dot + 1) };
}

export function parseGroupKinds(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

export function formatGroupKinds(gks: Iterable<string>): string {
  return [...new Set(gks)].sort().join(",");
}

export interface AppSet {
  id: string;
  parent: K8sObject;
  /** the rendered objects with their namespace and part-of label */
  members: K8sObject[];
}

/** The parent and the members of one app's set. */
export function buildAppSet(app: AppConfig, namespace: string, objects: readonly K8sObject[]): AppSet {
  const id = applySetId({ name: parentName(app.name), namespace, kind: "Secret", group: "" });
  const members = objects.map((o) => ({
    ...o,
    metadata: { ...o.metadata, namespace, labels: { ...(o.metadata.labels ?? {}), [LABEL_PART_OF]: id } },
  }));
  const parent: K8sObject = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: parentName(app.name),
      namespace,
      labels: { ...labelsOf(app), [LABEL_ID]: id },
      annotations: { [ANN_TOOLING]: TOOLING, [ANN_GROUP_KINDS]: formatGroupKinds(members.map(groupKindOf)) },
    },
    type: "Opaque",
  };
  return { id, parent, members };
}
