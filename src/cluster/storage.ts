/**
 * Can the cache claim bind? The StorageClasses, read before the apply: a claim naming no class needs a
 * default class; a named class must exist; ReadWriteMany needs a provisioner that serves it (the
 * clouds' block-disk drivers do not).
 */
import type { K8sObject } from "../render/types.js";
import type { KObject, KubeApi } from "./api.js";
import { ApiError } from "./errors.js";

/** Provisioners of block disks, which bind ReadWriteOnce (and ReadWriteOncePod) only, and the cloud's shared-file alternative. */
export const RWO_ONLY: Record<string, { what: string; rwx: string }> = {
  "pd.csi.storage.gke.io": {
    what: "GKE Persistent Disk",
    rwx: "Filestore (filestore.csi.storage.gke.io, e.g. class standard-rwx)",
  },
  "kubernetes.io/gce-pd": {
    what: "GCE Persistent Disk",
    rwx: "Filestore (filestore.csi.storage.gke.io, e.g. class standard-rwx)",
  },
  "ebs.csi.aws.com": { what: "Amazon EBS", rwx: "Amazon EFS (efs.csi.aws.com) or FSx for Lustre (fsx.csi.aws.com)" },
  "kubernetes.io/aws-ebs": {
    what: "Amazon EBS",
    rwx: "Amazon EFS (efs.csi.aws.com) or FSx for Lustre (fsx.csi.aws.com)",
  },
  "disk.csi.azure.com": { what: "Azure Disk", rwx: "Azure Files (file.csi.azure.com, e.g. class azurefile-csi)" },
  "kubernetes.io/azure-disk": { what: "Azure Disk", rwx: "Azure Files (file.csi.azure.com, e.g. class azurefile-csi)" },
};

const DEFAULT_CLASS = [
  "storageclass.kubernetes.io/is-default-class",
  "storageclass.beta.kubernetes.io/is-default-class",
];

type StorageClass = KObject & { provisioner?: string };

export interface StorageProblem {
  message: string;
  hint: string;
}

/** The cluster's StorageClasses; undefined when the user may not list them. */
export async function readStorageClasses(api: KubeApi): Promise<StorageClass[] | undefined> {
  try {
    return (
      await api.request<{ items: StorageClass[] }>("GET", "/apis/storage.k8s.io/v1/storageclasses", {
        what: "list StorageClasses",
      })
    ).items;
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return undefined;
    throw e;
  }
}

type Volume = KObject & {
  spec?: { storageClassName?: string; claimRef?: { namespace?: string; name?: string } };
  status?: { phase?: string };
};

/** The PersistentVolumes (static provisioning); undefined when the user may not list them. */
export async function readVolumes(api: KubeApi): Promise<Volume[] | undefined> {
  try {
    return (
      await api.request<{ items: Volume[] }>("GET", "/api/v1/persistentvolumes", { what: "list PersistentVolumes" })
    ).items;
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return undefined;
    throw e;
  }
}

/**
 * Why each new claim of `objects` would never bind (claims that exist already are left alone). A volume
 * made for the claim (its claimRef) binds it whatever the class; an Available volume of the claim's class
 * (none: ""), even a class with no StorageClass object, may. Without the volumes (`volumes` undefined: not
 * listable) only the ReadWriteMany-on-a-block-disk case is certain.
 */
export function claimProblems(
  objects: readonly K8sObject[],
  classes: readonly StorageClass[],
  existing: ReadonlySet<string>,
  cacheClaim: string,
  volumes?: readonly Volume[],
): StorageProblem[] {
  const out: StorageProblem[] = [];
  const list = classes.map((c) => `${c.metadata.name} (${c.provisioner})`).join(", ") || "none";
  for (const o of objects) {
    if (o.kind !== "PersistentVolumeClaim" || existing.has(o.metadata.name)) continue;
    const spec = (o as { spec?: { storageClassName?: string; accessModes?: string[] } }).spec ?? {};
    const field = o.metadata.name === cacheClaim ? "cache.storage_class" : `PersistentVolumeClaim ${o.metadata.name}`;
    if (spec.storageClassName === "") continue; // static binding to a pre-made volume, by choice
    const named = spec.storageClassName;
    if (
      volumes?.some(
        (v) => v.spec?.claimRef?.name === o.metadata.name && v.spec.claimRef.namespace === o.metadata.namespace,
      )
    )
      continue;
    const staticVolume =
      volumes === undefined ||
      volumes.some(
        (v) =>
          v.status?.phase === "Available" && !v.spec?.claimRef && (v.spec?.storageClassName ?? "") === (named ?? ""),
      );
    const cls =
      named === undefined
        ? classes.find((c) => DEFAULT_CLASS.some((a) => c.metadata.annotations?.[a] === "true"))
        : classes.find((c) => c.metadata.name === named);
    if (!cls) {
      if (staticVolume) continue;
      out.push(
        named === undefined
          ? {
              message: `the cache claim ${o.metadata.name} names no StorageClass and the cluster has no default one, so it would never bind`,
              hint: `set ${field} to one of the cluster's classes: ${list}`,
            }
          : {
              message: `${field}: StorageClass ${named} does not exist, so the claim ${o.metadata.name} would never bind`,
              hint: `the cluster's classes: ${list}`,
            },
      );
      continue;
    }
    const rwo = RWO_ONLY[cls.provisioner ?? ""];
    if (rwo && spec.accessModes?.includes("ReadWriteMany")) {
      const rwxHere = classes.filter((c) => !RWO_ONLY[c.provisioner ?? ""]).map((c) => c.metadata.name);
      out.push({
        message: `cache.access_mode ReadWriteMany: the claim ${o.metadata.name} would use StorageClass ${cls.metadata.name}${named === undefined ? " (the default)" : ""}, whose provisioner ${cls.provisioner} (${rwo.what}) binds ReadWriteOnce volumes only, so it would never bind`,
        hint: `set cache.storage_class to a class that serves ReadWriteMany: ${rwo.rwx}${rwxHere.length ? `; classes here that may: ${rwxHere.join(", ")}` : ""}; or cache.access_mode: ReadWriteOnce (one node's pods share it)`,
      });
    }
  }
  return out;
}
