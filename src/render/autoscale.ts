/**
 * Autoscaling for `scaling.replicas: [min, max]`: a KEDA ScaledObject on vLLM's own metrics, and, with
 * `scaling.wake: http-add-on`, what wakes an app at zero replicas: KEDA's HTTP add-on (an
 * HTTPScaledObject whose interceptor counts requests while no pod runs, fed to the ScaledObject as an
 * `external-push` trigger; an ExternalName Service `<app>-wake` in front of the interceptor). Min 0
 * without a wake trigger is refused: vLLM's metrics do not exist at zero pods, so nothing would scale
 * the app back up. Pure.
 */
import type { AppConfig } from "../config/schema.js";
import { parseDuration } from "../config/units.js";
import { LABEL_APP } from "./labels.js";
import { APP_SERIES_LABEL, metricNamesOf } from "./monitoring.js";
import type { Finding } from "../errors.js";
import type { K8sObject } from "./types.js";

/** KEDA's ScaledObject: a custom resource, so client-node has no model for it; the fields vllmapp sets. */
interface ScaledObjectSpec {
  scaleTargetRef?: { apiVersion: string; kind: string; name: string };
  minReplicaCount?: number;
  maxReplicaCount?: number;
  cooldownPeriod?: number;
  advanced?: { horizontalPodAutoscalerConfig?: { behavior?: { scaleDown?: Record<string, unknown> } } };
  triggers?: { type: string; metadata: Record<string, string> }[];
}

export const WAKE_PORT = 8080;
const SKIP_SO = "httpscaledobject.keda.sh/skip-scaledobject-creation";

export interface AutoscaleInput {
  app: AppConfig;
  /** what is scaled: the Deployment, or the LeaderWorkerSet of a multi-node app */
  scaleTarget: { apiVersion: string; kind: string; name: string };
  namespace?: string;
  /** the ScaledObject template, already named and labelled */
  scaledObject: K8sObject;
  /** name and label an object vllmapp builds in code */
  meta: (obj: K8sObject, name: string, annotations?: Record<string, string>) => K8sObject;
  /** the Ingress host, when domain is set */
  ingressHost?: string;
  /** a PodMonitor (or the user's scrape config) gives vLLM's series the app label */
  podMonitor: boolean;
}

export interface AutoscaleResult {
  objects: K8sObject[];
  problems: Finding[];
  /** the Service the Ingress must send requests to, so they wake the app (the interceptor) */
  ingressBackend?: { name: string; port: number };
}

/** The Service names in-cluster clients use to reach the app through the interceptor (its Host routing). */
function wakeHosts(app: AppConfig, namespace: string | undefined, ingressHost: string | undefined): string[] {
  const svc = `${app.name}-wake`;
  const hosts = [svc];
  if (namespace) hosts.push(`${svc}.${namespace}`, `${svc}.${namespace}.svc`, `${svc}.${namespace}.svc.cluster.local`);
  if (ingressHost) hosts.push(ingressHost);
  return hosts;
}

export function renderAutoscaling(input: AutoscaleInput): AutoscaleResult {
  const { app } = input;
  const reps = app.scaling!.replicas as [number, number];
  const problems: Finding[] = [];
  const objects: K8sObject[] = [];
  const wake = app.scaling?.wake === "http-add-on";
  if (reps[0] === 0 && !wake) {
    problems.push({
      path: ["scaling", "replicas"],
      severity: "error",
      message: `min 0 replicas cannot wake up: the autoscaler reads vLLM's own metrics, and at zero pods there are none, so no request would ever scale ${app.name} back up`,
      hint: `add scaling.wake: http-add-on (KEDA's HTTP add-on holds requests while the app starts), or keep one replica: replicas: [1, ${reps[1]}]`,
    });
  }
  const so = input.scaledObject as K8sObject & { spec?: ScaledObjectSpec };
  const spec = (so.spec ??= {});
  spec.scaleTargetRef = { ...input.scaleTarget };
  spec.minReplicaCount = reps[0];
  spec.maxReplicaCount = reps[1];
  const after = app.scaling?.scaledown_after === undefined ? undefined : parseDuration(app.scaling.scaledown_after);
  if (after !== undefined) {
    spec.cooldownPeriod = Math.round(after);
    spec.advanced ??= {};
    spec.advanced.horizontalPodAutoscalerConfig ??= {};
    spec.advanced.horizontalPodAutoscalerConfig.behavior ??= {};
    spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown = {
      ...(spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown ?? {}),
      stabilizationWindowSeconds: Math.round(after),
    };
  }
  // vLLM's series carry the pod label vllmapp.dev/app as vllmapp_dev_app (the PodMonitor's podTargetLabels):
  // a label the objects carry, so the query still holds when an overlay moves the app to another namespace
  const sel = `${APP_SERIES_LABEL}="${app.name}"`;
  const metric = app.scaling?.metric ?? { concurrency: 32 };
  // the metric names of the vLLM release the image runs
  const m = metricNamesOf(app);
  const query =
    "concurrency" in metric
      ? `sum(${m("running")}{${sel}}) + sum(${m("waiting")}{${sel}})`
      : `sum(rate(${m("requestSuccess")}{${sel}}[1m]))`;
  problems.push(...m.problems);
  const threshold = "concurrency" in metric ? metric.concurrency : metric.request_rate;
  spec.triggers = [
    {
      type: "prometheus",
      metadata: {
        serverAddress: app.scaling?.prometheus_url ?? "http://prometheus-operated.monitoring.svc:9090",
        query,
        threshold: String(threshold),
        ...(reps[0] === 0 ? { activationThreshold: "0" } : {}),
      },
    },
  ];
  if (!input.podMonitor) {
    problems.push({
      path: ["monitoring", "pod_monitor"],
      severity: "warning",
      message: `no PodMonitor: the autoscaler's query selects vLLM's series by ${sel}, a label only a scrape that copies the pod label ${LABEL_APP} adds; without it the app never scales`,
      hint: "drop monitoring.pod_monitor: false, or make your scrape config copy that pod label onto the series",
    });
  }
  const keda = app.scaling?.keda_namespace ?? "keda";
  let ingressBackend: AutoscaleResult["ingressBackend"];
  if (wake) {
    spec.triggers.push({
      type: "external-push",
      metadata: { scalerAddress: `keda-add-ons-http-external-scaler.${keda}:9090`, httpScaledObject: app.name },
    });
    const woken = renderWake(input, reps, metric, after, keda);
    objects.push(...woken.objects);
    problems.push(...woken.problems);
    ingressBackend = woken.ingressBackend;
  }
  objects.unshift(so);
  return { objects, problems, ...(ingressBackend ? { ingressBackend } : {}) };
}

/**
 * scaling.wake: http-add-on: the HTTPScaledObject KEDA's interceptor routes by (holding a request as
 * long as the startup probe allows) and the Service that sends requests to the interceptor.
 */
function renderWake(
  input: AutoscaleInput,
  reps: [number, number],
  metric: NonNullable<NonNullable<AppConfig["scaling"]>["metric"]>,
  after: number | undefined,
  keda: string,
): { objects: K8sObject[]; problems: Finding[]; ingressBackend: { name: string; port: number } } {
  const { app } = input;
  const httpSo = input.meta(
    { apiVersion: "http.keda.sh/v1alpha1", kind: "HTTPScaledObject", metadata: { name: app.name } },
    app.name,
    { [SKIP_SO]: "true" },
  );
  Object.assign(httpSo, {
    spec: {
      hosts: wakeHosts(app, input.namespace, input.ingressHost),
      scaleTargetRef: { ...input.scaleTarget, service: app.name, portName: "http" },
      replicas: { min: reps[0], max: reps[1] },
      scalingMetric:
        "concurrency" in metric
          ? { concurrency: { targetValue: Math.ceil(metric.concurrency) } }
          : { requestRate: { targetValue: Math.ceil(metric.request_rate), window: "1m", granularity: "1s" } },
      ...(after !== undefined ? { scaledownPeriod: Math.round(after) } : {}),
      // the interceptor holds a request while the app starts: as long as the startup probe allows
      timeouts: { conditionWait: `${Math.round(app.startup_timeout)}s` },
    },
  });
  const wakeSvc = input.meta(
    { apiVersion: "v1", kind: "Service", metadata: { name: `${app.name}-wake` } },
    `${app.name}-wake`,
  );
  Object.assign(wakeSvc, {
    spec: {
      type: "ExternalName",
      externalName: `keda-add-ons-http-interceptor-proxy.${keda}.svc.cluster.local`,
      ports: [{ name: "http", port: WAKE_PORT, targetPort: WAKE_PORT, protocol: "TCP" }],
    },
  });
  const note: Finding = {
    path: ["scaling", "wake"],
    severity: "note",
    message: `requests wake ${app.name} only through KEDA's HTTP add-on: in-cluster clients call http://${app.name}-wake:${WAKE_PORT}${input.ingressHost ? `, and the Ingress sends ${input.ingressHost} there` : ""}; calls to Service ${app.name} itself do not wake it`,
  };
  return {
    objects: [httpSo, wakeSvc],
    problems: [note],
    ingressBackend: { name: `${app.name}-wake`, port: WAKE_PORT },
  };
}
