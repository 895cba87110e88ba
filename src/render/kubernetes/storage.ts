/**
 * What the app stores besides the pod: the generated API key's Secret, the ConfigMap of included files,
 * the cache PVC; and the ephemeral storage weights need when they land on the node's disk. Pure.
 */
import type { V1ConfigMap, V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { quantityValue } from "../../config/units.js";
import { isObjectStore } from "../../models/source.js";
import { apiKeyRef } from "../labels.js";
import { includeKey } from "../serve.js";
import type { K8sObject, RenderInput } from "../types.js";
import type { Finding } from "../../errors.js";
import { clone, generic, typed, type Meta } from "./common.js";

export function renderStorage(input: RenderInput, meta: Meta): { objects: K8sObject[]; problems: Finding[] } {
  const { app, templates: t } = input;
  const objects: K8sObject[] = [];
  const problems: Finding[] = [];
  // the API key Secret (no data: deploy fills it once); a Secret the user manages is only referenced
  if (apiKeyRef(app)?.generated) objects.push(meta(clone(t.apiKeySecret), `${app.name}-api-key`));
  if (input.includes.length) {
    const cm = typed<V1ConfigMap>(meta(clone(t.includeConfigMap), `${app.name}-include`));
    cm.data = Object.fromEntries(input.includes.map((f) => [includeKey(f), f.content]));
    objects.push(generic(cm));
  }
  if (app.cache) {
    const pvc = typed<V1PersistentVolumeClaim>(meta(clone(t.cachePvc), `${app.name}-cache`));
    pvc.spec ??= {};
    pvc.spec.accessModes = [app.cache.access_mode];
    pvc.spec.resources = { requests: { storage: String(app.cache.size) } };
    if (app.cache.storage_class) pvc.spec.storageClassName = app.cache.storage_class;
    else if (app.cache.access_mode === "ReadWriteMany") {
      problems.push({
        path: ["cache", "access_mode"],
        severity: "warning",
        message:
          "a ReadWriteMany cache without cache.storage_class gets the cluster's default StorageClass, and the clouds' defaults (GKE standard-rwo, EKS gp2/gp3, AKS managed-csi) cannot bind ReadWriteMany: the claim and the pods stay Pending",
        hint: "name a class that provides ReadWriteMany: cache.storage_class (e.g. GKE Filestore standard-rwx, EFS efs-sc, Azure Files azurefile-csi)",
      });
    }
    const reps = app.scaling?.replicas ?? 1;
    if (app.cache.access_mode === "ReadWriteOnce" && (Array.isArray(reps) ? reps[1] > 1 : reps > 1)) {
      problems.push({
        path: ["cache", "access_mode"],
        severity: "warning",
        message: "a ReadWriteOnce cache volume attaches to one node: replicas on other nodes stay Pending",
        hint: "use access_mode: ReadWriteMany with a storage class that supports it, or one replica",
      });
    }
    objects.push(generic(pvc));
  }
  return { objects, problems };
}

const GiB = 2 ** 30;
/** Above this, weights in an emptyDir fill common nodes' root disks (EKS' default 20 GiB, GKE's 100 GB) and the kubelet evicts the pod. */
export const EMPTYDIR_WARN_BYTES = 50 * GiB;

/**
 * Weights that land in the `cache` emptyDir (no `cache:`; a Hugging Face download or an object-store copy)
 * live on the node's disk: request that much ephemeral storage when the model's size is known, and warn
 * when it is large enough to evict pods on common nodes.
 */
export function weightsOnNodeDisk(
  input: RenderInput,
  requests: Record<string, string>,
): { problems: Finding[]; sizeLimit?: string } {
  const { app, source: src, modelBytes } = input;
  const onDisk = !app.cache && (src.kind === "hf" || (isObjectStore(src) && !app.stream_model));
  if (!onDisk) return { problems: [] };
  const where = app.model_hf_path !== undefined ? "model_hf_path" : "model_path";
  if (modelBytes === undefined) {
    if (app.resources?.disk !== undefined) return { problems: [], sizeLimit: requests["ephemeral-storage"] };
    return {
      problems: [
        {
          path: [where],
          severity: "warning",
          message:
            "the weights download into an emptyDir on the node's disk, and their size is not known here: the pod requests no ephemeral storage for them, so the scheduler may place it on a node whose disk they fill (the kubelet then evicts it)",
          hint: "add cache: {size: …} for a volume of their own, or resources.disk; `render --resolve` and `deploy` size it from the source",
        },
      ],
    };
  }
  const need = Math.ceil((modelBytes * 1.1) / GiB) + 1;
  const problems: Finding[] = [];
  if (app.resources?.disk === undefined) requests["ephemeral-storage"] = `${need}Gi`;
  else if (quantityValue(app.resources.disk) < modelBytes) {
    problems.push({
      path: ["resources", "disk"],
      severity: "warning",
      message: `resources.disk ${app.resources.disk} is smaller than the model's weights (${(modelBytes / 1e9).toFixed(1)} GB), which are downloaded into an emptyDir on the node`,
      hint: `give at least ${need}Gi, or add cache: {size: ${need}Gi} for a volume of its own`,
    });
  }
  if (modelBytes * 1.1 > EMPTYDIR_WARN_BYTES) {
    problems.push({
      path: [where],
      severity: "warning",
      message: `${(modelBytes / 1e9).toFixed(1)} GB of weights land in an emptyDir on the node's disk (no cache:); nodes with small root disks (EKS' default 20 GiB, GKE's 100 GB) run out and evict the pod`,
      hint: `add cache: {size: ${need}Gi} to keep the weights on a volume of their own`,
    });
  }
  return { problems, sizeLimit: requests["ephemeral-storage"] ?? `${need}Gi` };
}
