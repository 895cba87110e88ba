/**
 * The Kubernetes objects of one app, one file per group under kubernetes/: the server's Deployment or
 * LeaderWorkerSet (deployment.ts, with the pod builder of pod.ts and the models' placement of
 * artifacts.ts), Service, PodDisruptionBudget, NetworkPolicy and Ingress (network.ts), API key Secret,
 * include ConfigMap and cache PVC (storage.ts), the autoscaler (autoscale.ts), the route (route.ts) and
 * monitoring objects (monitoring.ts). Typed with client-node's models through type-only imports (nothing
 * of client-node loads at run time). Pure.
 */
import type { AppConfig } from "../config/schema.js";
import { renderAutoscaling } from "./autoscale.js";
import { kubernetesEnvOf } from "./env.js";
import { metaOf } from "./kubernetes/common.js";
import { renderServer } from "./kubernetes/deployment.js";
import { renderDisruptionBudget, renderIngress, renderNetworkPolicy, renderService } from "./kubernetes/network.js";
import { renderStorage, weightsOnNodeDisk } from "./kubernetes/storage.js";
import {
  ANNOTATION_DESCRIPTION,
  ANNOTATION_LINKS,
  ANNOTATION_MODEL_ID,
  ANNOTATION_MODEL_SOURCE,
  ANNOTATION_MODEL_URI,
  labelsOf,
  versionLabelsOf,
} from "./labels.js";
import { LABEL_ROLE, LWS_API_VERSION } from "./leader-worker-set.js";
import { renderMonitoring, wantsPodMonitor } from "./monitoring.js";
import { leaderWorkerSetName } from "./parallelism.js";
import { sizeResources, type GpuRequest } from "./resources.js";
import { renderRoute } from "./route.js";
import type { ServeResult } from "./serve.js";
import type { K8sObject, RenderedModel, RenderInput } from "./types.js";
import type { Finding } from "../errors.js";

function annotationsOf(app: AppConfig, model: RenderedModel): Record<string, string> {
  const a: Record<string, string> = {
    [ANNOTATION_MODEL_URI]: model.uri,
    [ANNOTATION_MODEL_ID]: model.servedAs,
  };
  if (model.resolvedFrom) a[ANNOTATION_MODEL_SOURCE] = model.resolvedFrom;
  if (app.description) a[ANNOTATION_DESCRIPTION] = app.description;
  if (app.links?.length) a[ANNOTATION_LINKS] = JSON.stringify(app.links);
  return a;
}

export function renderKubernetes(
  input: RenderInput,
  serve: ServeResult,
  model: RenderedModel,
  gpu: GpuRequest,
): { objects: K8sObject[]; problems: Finding[] } {
  const { app, templates: t } = input;
  const labels = labelsOf(app);
  const meta = metaOf(labels, input.namespace);
  const sizing = sizeResources(app, gpu);
  const onNodeDisk = weightsOnNodeDisk(input, sizing.requests);
  const problems: Finding[] = [...onNodeDisk.problems];
  const { env, secretMounts } = kubernetesEnvOf(app, input.source, input.params);
  const rendered = renderServer({
    input,
    serve,
    gpu,
    sizing,
    cacheSizeLimit: onNodeDisk.sizeLimit,
    env,
    secretMounts,
    labels,
    annotations: annotationsOf(app, model),
    meta,
  });
  const { multiNode } = rendered;
  problems.push(...rendered.problems);
  const objects: K8sObject[] = [rendered.server, renderService(app, t, meta, multiNode)];
  for (const o of [renderDisruptionBudget(app, meta), renderNetworkPolicy(app, rendered.pod, meta, multiNode)])
    if (o) objects.push(o);
  const storage = renderStorage(input, meta);
  objects.push(...storage.objects);
  problems.push(...storage.problems);
  // the autoscaler, the scrape object it reads, and what wakes an app scaled to zero
  const host = app.domain
    ? (app.domain.custom_domain ?? `${app.domain.subdomain}.${app.domain.base_domain}`)
    : undefined;
  let ingressBackend: { name: string; port: number } | undefined;
  const autoscaled = Array.isArray(app.scaling?.replicas ?? 1);
  if (autoscaled) {
    const scaling = renderAutoscaling({
      app,
      namespace: input.namespace,
      scaledObject: meta(structuredClone(t.scaledObject), app.name),
      meta,
      scaleTarget: multiNode
        ? { apiVersion: LWS_API_VERSION, kind: "LeaderWorkerSet", name: leaderWorkerSetName(app.name) }
        : { apiVersion: "apps/v1", kind: "Deployment", name: app.name },
      ingressHost: host,
      podMonitor: wantsPodMonitor(app, true),
    });
    objects.push(...scaling.objects);
    problems.push(...scaling.problems);
    ingressBackend = scaling.ingressBackend;
  }
  if (app.domain && host) objects.push(renderIngress(app, t, meta, host, ingressBackend, problems));
  // route (HTTPRoute, InferencePool) and monitoring (PodMonitor, dashboard, PrometheusRule)
  for (const part of [
    renderRoute(app, input.namespace),
    renderMonitoring(app, model.servedAs, input.namespace, {
      autoscaledOnMetrics: autoscaled,
      leaders: multiNode ? { roleLabel: LABEL_ROLE } : undefined,
    }),
  ]) {
    objects.push(...part.objects);
    problems.push(...part.problems);
  }
  if (typeof app.pod_template === "string") {
    problems.push({
      path: ["pod_template"],
      severity: "note",
      message: `pod_template "${app.pod_template}" names a PodTemplate in the cluster: \`deploy\` fetches it and merges the pod into it (\`render\` shows the pod without it)`,
    });
  }
  // every object, however it was built: the app's version and the vllmapp that rendered it
  const versions = versionLabelsOf(app);
  for (const o of objects) o.metadata.labels = { ...o.metadata.labels, ...versions };
  return { objects: sortObjects(objects), problems };
}

const KIND_ORDER = [
  "Namespace",
  "Secret",
  "ConfigMap",
  "PersistentVolumeClaim",
  "Service",
  "Deployment",
  "LeaderWorkerSet",
  "PodDisruptionBudget",
  "NetworkPolicy",
  "ScaledObject",
  "HTTPScaledObject",
  "HorizontalPodAutoscaler",
  "Ingress",
  "InferencePool",
  "HTTPRoute",
  "PodMonitor",
  "PrometheusRule",
];

export function sortObjects(objs: K8sObject[]): K8sObject[] {
  return [...objs].sort(
    (a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || a.metadata.name.localeCompare(b.metadata.name),
  );
}
