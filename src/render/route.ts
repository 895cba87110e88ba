/**
 * `route:` → a Gateway API HTTPRoute (gateway.networking.k8s.io/v1) from a named Gateway to the app's
 * Service, or, with `inference_pool: true`, to an Inference Extension InferencePool
 * (inference.networking.k8s.io/v1) over the app's serving pods. The route's request timeout is "0s" by
 * default: Gateway API says a zero duration disables the timeout, and without one gateways apply their
 * own (Envoy's is 15 s), which cuts long streamed completions. Pure.
 */
import type { AppConfig } from "../config/schema.js";
import { parseDuration } from "../config/units.js";
import { labelsOf, servingPodsOf } from "./labels.js";
import type { Finding } from "../errors.js";
import type { K8sObject } from "./types.js";

export const GATEWAY_GROUP = "gateway.networking.k8s.io";
export const INFERENCE_GROUP = "inference.networking.k8s.io";

/**
 * A duration as Gateway API (GEP-2257) and Prometheus both read it: "0s", "30s", "1m30s", "1h", "250ms".
 * Units never exceed 5 digits (Gateway API's limit) for anything below 11 years.
 */
export function durationString(seconds: number): string {
  let ms = Math.round(seconds * 1000);
  if (ms <= 0) return "0s";
  const parts: string[] = [];
  for (const [unit, size] of [
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
    ["ms", 1],
  ] as const) {
    const n = Math.floor(ms / size);
    if (n > 0) parts.push(`${n}${unit}`);
    ms -= n * size;
  }
  return parts.join("");
}

export interface HttpRouteSpec {
  parentRefs: { group: string; kind: string; name: string; namespace?: string; sectionName?: string }[];
  hostnames?: string[];
  rules: {
    matches: { path: { type: "PathPrefix"; value: string } }[];
    backendRefs: { group?: string; kind: string; name: string; port?: number }[];
    timeouts: { request: string };
  }[];
}

function metaOf(app: AppConfig, namespace: string | undefined): K8sObject["metadata"] {
  return { name: app.name, ...(namespace ? { namespace } : {}), labels: labelsOf(app) };
}

/** The endpoint picker the pool points at: route.endpoint_picker, else `<app>-epp` on port 9002 (the llm-d router chart's names). */
export function endpointPickerOf(app: AppConfig): {
  service: string;
  port: number;
  failure_mode: "FailOpen" | "FailClose";
} {
  return app.route?.endpoint_picker ?? { service: `${app.name}-epp`, port: 9002, failure_mode: "FailOpen" };
}

export function renderRoute(
  app: AppConfig,
  namespace: string | undefined,
): { objects: K8sObject[]; problems: Finding[] } {
  const route = app.route;
  if (!route) return { objects: [], problems: [] };
  const problems: Finding[] = [];
  const objects: K8sObject[] = [];
  const timeout = parseDuration(route.timeout) ?? 0;
  if (timeout > 0) {
    problems.push({
      path: ["route", "timeout"],
      severity: "note",
      message: `the gateway ends any request after ${durationString(timeout)}, streamed completions included`,
      hint: "0 (the default) disables the timeout",
    });
  }
  const backend = route.inference_pool
    ? { group: INFERENCE_GROUP, kind: "InferencePool", name: app.name }
    : { kind: "Service", name: app.name, port: app.port };
  const spec: HttpRouteSpec = {
    parentRefs: [
      {
        group: GATEWAY_GROUP,
        kind: "Gateway",
        name: route.gateway,
        ...(route.namespace ? { namespace: route.namespace } : {}),
        ...(route.section ? { sectionName: route.section } : {}),
      },
    ],
    ...(route.hostnames?.length ? { hostnames: route.hostnames } : {}),
    rules: [
      {
        matches: [{ path: { type: "PathPrefix", value: route.path } }],
        backendRefs: [backend],
        timeouts: { request: durationString(timeout) },
      },
    ],
  };
  objects.push({ apiVersion: `${GATEWAY_GROUP}/v1`, kind: "HTTPRoute", metadata: metaOf(app, namespace), spec });
  if (route.inference_pool) {
    const epp = endpointPickerOf(app);
    if (!route.endpoint_picker) {
      problems.push({
        path: ["route", "inference_pool"],
        severity: "note",
        message: `the InferencePool's endpoint picker is Service ${epp.service}:${epp.port}, which vllmapp does not run`,
        hint: "install one with that name (e.g. the llm-d router's chart), or name yours in route.endpoint_picker: {service, port}",
      });
    }
    objects.push({
      apiVersion: `${INFERENCE_GROUP}/v1`,
      kind: "InferencePool",
      metadata: metaOf(app, namespace),
      spec: {
        selector: { matchLabels: servingPodsOf(app) },
        targetPorts: [{ number: app.port }],
        endpointPickerRef: {
          kind: "Service",
          name: epp.service,
          port: { number: epp.port },
          failureMode: epp.failure_mode,
        },
      },
    });
  }
  return { objects, problems };
}
