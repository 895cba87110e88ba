/**
 * The app's HTTPRoute in the cluster: what deploy's preflight checks beyond the CRDs (the Gateway is
 * there and takes routes from the app's namespace, the InferencePool's endpoint picker Service exists),
 * and what `status` says about it: each Gateway's Accepted and ResolvedRefs conditions, and the URLs.
 * routeStatusOf is pure; the rest reads the cluster.
 */
import type { AppConfig } from "../config/schema.js";
import { GATEWAY_GROUP } from "../render/route.js";
import type { K8sObject } from "../render/types.js";
import type { RouteCondition, RouteStatus } from "../target.js";
import type { KObject, KubeApi } from "./api.js";
import { ApiError } from "./errors.js";

type Gateway = KObject & {
  spec?: {
    listeners?: {
      name: string;
      protocol?: string;
      port?: number;
      hostname?: string;
      allowedRoutes?: { namespaces?: { from?: string } };
    }[];
  };
  status?: { addresses?: { type?: string; value: string }[] };
};
type HttpRoute = KObject & {
  spec?: {
    parentRefs?: { name: string; namespace?: string; sectionName?: string; kind?: string }[];
    hostnames?: string[];
    rules?: { matches?: { path?: { value?: string } }[]; backendRefs?: { kind?: string; name: string }[] }[];
  };
  status?: {
    parents?: {
      parentRef: { name: string; namespace?: string; sectionName?: string };
      controllerName?: string;
      conditions?: RouteCondition[];
    }[];
  };
};

async function readOrUndefined<T>(api: KubeApi, path: string, what: string): Promise<T | undefined | "forbidden"> {
  try {
    return await api.get<T>(path, what);
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return "forbidden";
    throw e;
  }
}

/** Preflight warnings about the route: things that keep it from serving that the CRDs cannot tell. */
export async function checkRoute(
  api: KubeApi,
  app: AppConfig,
  namespace: string,
  objects: readonly K8sObject[],
): Promise<string[]> {
  const route = app.route;
  if (!route || !objects.some((o) => o.kind === "HTTPRoute")) return [];
  const warnings: string[] = [];
  const gwNs = route.namespace ?? namespace;
  if (await api.resource(`${GATEWAY_GROUP}/v1`, "Gateway")) {
    const gw = await readOrUndefined<Gateway>(
      api,
      `/apis/${GATEWAY_GROUP}/v1/namespaces/${gwNs}/gateways/${route.gateway}`,
      `read Gateway ${route.gateway}`,
    );
    if (gw === undefined) {
      warnings.push(
        `${app.name}: Gateway ${gwNs}/${route.gateway} (route.gateway) does not exist; the HTTPRoute attaches once it does`,
      );
    } else if (gw !== "forbidden") {
      const listeners = (gw.spec?.listeners ?? []).filter((l) => !route.section || l.name === route.section);
      if (route.section && !listeners.length) {
        warnings.push(
          `${app.name}: Gateway ${gwNs}/${route.gateway} has no listener named ${route.section} (route.section); it has ${(gw.spec?.listeners ?? []).map((l) => l.name).join(", ") || "none"}`,
        );
      } else if (
        gwNs !== namespace &&
        listeners.length &&
        listeners.every((l) => (l.allowedRoutes?.namespaces?.from ?? "Same") === "Same")
      ) {
        warnings.push(
          `${app.name}: Gateway ${gwNs}/${route.gateway} takes routes only from its own namespace (allowedRoutes.namespaces.from: Same), so the HTTPRoute in ${namespace} will not attach; the Gateway's owner can allow it (from: All or Selector)`,
        );
      }
    }
  }
  const pool = objects.find((o) => o.kind === "InferencePool") as
    (K8sObject & { spec?: { endpointPickerRef?: { name: string; port?: { number: number } } } }) | undefined;
  const epp = pool?.spec?.endpointPickerRef;
  if (epp) {
    const svc = await readOrUndefined<KObject>(
      api,
      `/api/v1/namespaces/${namespace}/services/${epp.name}`,
      `read Service ${epp.name}`,
    );
    if (svc === undefined) {
      warnings.push(
        `${app.name}: the InferencePool's endpoint picker Service ${namespace}/${epp.name} does not exist: the gateway cannot pick replicas until it runs (route.endpoint_picker names it)`,
      );
    }
  }
  return warnings;
}

function condition(conds: readonly RouteCondition[] | undefined, type: string): RouteCondition | null {
  const c = conds?.find((x) => x.type === type);
  return c ? { type: c.type, status: c.status, reason: c.reason ?? "", message: c.message ?? "" } : null;
}

/** The URLs a route answers on: its hostnames (https when the listener is HTTPS), else the Gateway's address. */
function urlsOf(route: HttpRoute, gw: Gateway | undefined): string[] {
  const ref = route.spec?.parentRefs?.[0];
  const listeners = (gw?.spec?.listeners ?? []).filter((l) => !ref?.sectionName || l.name === ref.sectionName);
  const https = listeners.length > 0 && listeners.every((l) => l.protocol === "HTTPS");
  const scheme = https ? "https" : "http";
  const path = route.spec?.rules?.[0]?.matches?.[0]?.path?.value ?? "/";
  const suffix = path === "/" ? "" : path;
  const hosts = (route.spec?.hostnames ?? []).filter((h) => !h.startsWith("*."));
  if (hosts.length) return hosts.map((h) => `${scheme}://${h}${suffix}`);
  const address = gw?.status?.addresses?.[0]?.value;
  if (!address) return [];
  const port = listeners[0]?.port;
  const showPort = port !== undefined && !((scheme === "http" && port === 80) || (scheme === "https" && port === 443));
  return [`${scheme}://${address.includes(":") ? `[${address}]` : address}${showPort ? `:${port}` : ""}${suffix}`];
}

/** The route's state from its status (and the Gateway's, for URLs). Pure. */
export function routeStatusOf(route: HttpRoute, namespace: string, gw?: Gateway): RouteStatus {
  const ref = route.spec?.parentRefs?.[0];
  const gateway = ref ? `${ref.namespace ?? namespace}/${ref.name}` : "";
  const parents = (route.status?.parents ?? []).map((p) => ({
    gateway: `${p.parentRef.namespace ?? namespace}/${p.parentRef.name}${p.parentRef.sectionName ? `#${p.parentRef.sectionName}` : ""}`,
    controller: p.controllerName ?? null,
    accepted: condition(p.conditions, "Accepted"),
    resolvedRefs: condition(p.conditions, "ResolvedRefs"),
  }));
  let state: RouteStatus["state"] = "pending";
  let message: string | null =
    `no gateway controller has reported on HTTPRoute ${route.metadata.name} yet (is Gateway ${gateway} there, with a controller?)`;
  const bad = parents.find((p) => p.accepted?.status === "False" || p.resolvedRefs?.status === "False");
  if (bad) {
    state = "rejected";
    const c = bad.accepted?.status === "False" ? bad.accepted : bad.resolvedRefs!;
    const backend = route.spec?.rules?.[0]?.backendRefs?.[0];
    const hint =
      c.type === "ResolvedRefs" && c.reason === "InvalidKind" && backend?.kind === "InferencePool"
        ? " (does the gateway support inference.networking.k8s.io/v1 InferencePools?)"
        : "";
    message = `Gateway ${bad.gateway} ${c.type === "Accepted" ? "did not accept the route" : "cannot resolve the route's backend"}: ${c.reason}${c.message ? ` (${c.message})` : ""}${hint}`;
  } else if (
    parents.length &&
    parents.every((p) => p.accepted?.status === "True" && p.resolvedRefs?.status !== "Unknown")
  ) {
    state = "accepted";
    message = null;
  }
  return { name: route.metadata.name, gateway, urls: urlsOf(route, gw), parents, state, message };
}

/** The app's HTTPRoute and its Gateway, read for `status`; null when the app has no route (or the cluster no Gateway API). */
export async function readRouteStatus(api: KubeApi, name: string, namespace: string): Promise<RouteStatus | null> {
  if (!(await api.resource(`${GATEWAY_GROUP}/v1`, "HTTPRoute"))) return null;
  const route = await readOrUndefined<HttpRoute>(
    api,
    `/apis/${GATEWAY_GROUP}/v1/namespaces/${namespace}/httproutes/${name}`,
    `read HTTPRoute ${name}`,
  );
  if (!route || route === "forbidden" || route.metadata.labels?.["app.kubernetes.io/managed-by"] !== "vllmapp")
    return null;
  const ref = route.spec?.parentRefs?.[0];
  const gw =
    ref && (ref.kind ?? "Gateway") === "Gateway"
      ? await readOrUndefined<Gateway>(
          api,
          `/apis/${GATEWAY_GROUP}/v1/namespaces/${ref.namespace ?? namespace}/gateways/${ref.name}`,
          `read Gateway ${ref.name}`,
        )
      : undefined;
  return routeStatusOf(route, namespace, gw === "forbidden" ? undefined : gw);
}
