/**
 * Will the namespace admit the app's pods? A server-side dry run of a Pod built from each pod template
 * (PodSecurity, ResourceQuota, LimitRange and the other admission plugins judge a Pod, not the
 * Deployment that makes it: a Deployment the namespace's rules refuse is accepted, and its ReplicaSet
 * then fails to create pods every few seconds).
 */
import type { V1Deployment, V1PodTemplateSpec } from "@kubernetes/client-node";
import type { K8sObject } from "../render/types.js";
import { FIELD_MANAGER, LABEL_APP } from "../render/labels.js";
import type { KubeApi } from "./api.js";
import { explainRefusal, type Refusal } from "./diagnose.js";
import { ApiError } from "./errors.js";

/** The rendered objects that make pods, as they are rendered (client-node's models), by kind. */
type Deployment = K8sObject & Pick<V1Deployment, "spec">;
type LeaderWorkerSet = K8sObject & {
  spec?: { leaderWorkerTemplate?: { leaderTemplate?: V1PodTemplateSpec; workerTemplate?: V1PodTemplateSpec } };
};

/** The pod templates of a rendered object: a Deployment's one, a LeaderWorkerSet's leader and worker; none for other kinds. */
function podTemplates(o: K8sObject): { role: string; tpl: V1PodTemplateSpec }[] {
  if (o.kind === "Deployment") {
    const tpl = (o as Deployment).spec?.template;
    return tpl ? [{ role: "", tpl }] : [];
  }
  if (o.kind === "LeaderWorkerSet") {
    const lwt = (o as LeaderWorkerSet).spec?.leaderWorkerTemplate ?? {};
    return [
      { role: "leader", tpl: lwt.leaderTemplate },
      { role: "worker", tpl: lwt.workerTemplate },
    ].filter((x): x is { role: string; tpl: V1PodTemplateSpec } => x.tpl !== undefined);
  }
  return [];
}

/** The first pod template the namespace refuses, and why; undefined when all are admitted (or pods may not be created by this user). */
export async function podRefusal(
  api: KubeApi,
  app: string,
  namespace: string,
  objects: readonly K8sObject[],
): Promise<Refusal | undefined> {
  for (const { role, tpl } of objects.flatMap(podTemplates)) {
    const name = `${app}${role ? `-${role}` : ""}-preflight`;
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace, labels: tpl.metadata?.labels, annotations: tpl.metadata?.annotations },
      spec: tpl.spec,
    };
    try {
      await api.request("POST", `/api/v1/namespaces/${namespace}/pods`, {
        query: { dryRun: "All", fieldManager: FIELD_MANAGER },
        body: pod,
        what: `create a pod of ${app} (a server-side dry run)`,
      });
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      // 403 is admission's refusal; anything else (an invalid pod, which the server-side validation of the
      // Deployment names by field; a webhook that cannot do dry runs) is left to the apply
      if (e.status !== 403) return undefined;
      const said = e.body.message ?? "";
      // RBAC: a user who may create Deployments but not pods; the controllers may
      if (/cannot create resource "pods"/.test(said)) return undefined;
      // a namespace made a moment ago gets its "default" ServiceAccount from the controller-manager shortly
      if (!tpl.spec?.serviceAccountName && /serviceaccount "default" not found/i.test(said)) return undefined;
      // a quota made a moment ago, not counted yet by the quota controller
      if (/status unknown for quota/.test(said)) return undefined;
      const refusal = explainRefusal(said, namespace);
      // the quota holds the app's own running pods, which the rollout replaces (maxSurge 0): not a refusal
      if (refusal.rule.startsWith("ResourceQuota") && (await hasPods(api, app, namespace))) return undefined;
      return refusal;
    }
  }
  return undefined;
}

/** Does the app run pods here already? (A user who may not list pods: assume it does, and leave the quota to the wait.) */
async function hasPods(api: KubeApi, app: string, namespace: string): Promise<boolean> {
  try {
    const list = await api.request<{ items: unknown[] }>("GET", `/api/v1/namespaces/${namespace}/pods`, {
      query: { labelSelector: `${LABEL_APP}=${app}`, limit: 1 },
      what: `list the pods of ${app}`,
    });
    return list.items.length > 0;
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return true;
    throw e;
  }
}
