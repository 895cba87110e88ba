/**
 * How the app is reached: the Service (the group's leader, multi-node), the PodDisruptionBudget, the
 * NetworkPolicy and the Ingress. Pure.
 */
import type { V1Ingress, V1PodSpec, V1Service, V1ServicePort } from "@kubernetes/client-node";
import type { AppConfig } from "../../config/schema.js";
import { selectorOf } from "../labels.js";
import { LABEL_ROLE } from "../leader-worker-set.js";
import type { K8sObject, Templates } from "../types.js";
import type { Finding } from "../../errors.js";
import { clone, generic, typed, type Meta } from "./common.js";

export function renderService(app: AppConfig, t: Templates, meta: Meta, multiNode: boolean): K8sObject {
  const svc = typed<V1Service>(meta(clone(t.service), app.name));
  svc.spec ??= {};
  svc.spec.selector = multiNode ? { ...selectorOf(app), [LABEL_ROLE]: "leader" } : selectorOf(app);
  const ports: Partial<V1ServicePort>[] = svc.spec.ports?.length
    ? svc.spec.ports
    : [{ name: "http", targetPort: "http", protocol: "TCP" }];
  // the first port gets the app's port; the others are the template's, whole
  svc.spec.ports = ports.map((p, i) => (i === 0 ? { ...p, port: app.port } : p) as V1ServicePort);
  return generic(svc);
}

/**
 * Two replicas or more: a drain evicts one replica (or group) at a time, never the last ready ones together.
 * A pod that is not ready serves nothing, so it may always be evicted (AlwaysAllow): with the default
 * (IfHealthyBudget) replicas stuck loading or crash-looping would block every drain of their nodes.
 */
export function renderDisruptionBudget(app: AppConfig, meta: Meta): K8sObject | undefined {
  const reps = app.scaling?.replicas ?? 1;
  if ((Array.isArray(reps) ? reps[1] : reps) < 2) return undefined;
  const spec = {
    maxUnavailable: 1,
    selector: { matchLabels: selectorOf(app) },
    unhealthyPodEvictionPolicy: "AlwaysAllow",
  };
  return meta({ apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name: app.name }, spec }, app.name);
}

/**
 * The pod's ports from anywhere (Service, Ingress, Gateway, Prometheus, KEDA's interceptor); a multi-node
 * group's other ports (torch.distributed, NCCL) only from the app's own pods.
 */
export function renderNetworkPolicy(
  app: AppConfig,
  pod: V1PodSpec,
  meta: Meta,
  multiNode: boolean,
): K8sObject | undefined {
  if (!app.network_policy) return undefined;
  const ports = pod.containers
    .flatMap((x) => x.ports ?? [])
    .map((p) => ({ port: p.containerPort, protocol: p.protocol ?? "TCP" }));
  const ingress: object[] = ports.length ? [{ ports }] : [];
  if (multiNode) ingress.push({ from: [{ podSelector: { matchLabels: selectorOf(app) } }] });
  return meta(
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: app.name },
      spec: { podSelector: { matchLabels: selectorOf(app) }, policyTypes: ["Ingress"], ingress },
    },
    app.name,
  );
}

/** A class other than ingress-nginx: its streaming timeouts are not written. */
const NON_NGINX_NOTE = (ingressClass: string): Finding => ({
  path: ["domain", "ingress_class"],
  severity: "note",
  message: `${ingressClass} is not ingress-nginx, so its streaming timeouts (3600 s) are not written`,
  hint: "responses stream for minutes: raise your controller's read timeout (e.g. Traefik's respondingTimeouts) above the longest one",
});

/** A key-guarded app served over plain HTTP. */
const CLEARTEXT_NOTE = (host: string): Finding => ({
  path: ["domain"],
  severity: "note",
  message: `the Ingress serves http://${host}: the API key crosses the network in cleartext unless TLS ends in front of the controller`,
  hint: "set domain.tls_secret to a TLS Secret for the host (cert-manager writes one)",
});

/** The domain's Ingress, to the app's Service or (an app scaled to zero) to what wakes it. */
export function renderIngress(
  app: AppConfig,
  t: Templates,
  meta: Meta,
  host: string,
  backend: { name: string; port: number } | undefined,
  problems: Finding[],
): K8sObject {
  const ing = typed<V1Ingress>(meta(clone(t.ingress), app.name));
  ing.spec ??= {};
  const ingressClass = app.domain?.ingress_class;
  if (ingressClass) ing.spec.ingressClassName = ingressClass;
  // ingress-nginx's annotations (the streaming timeouts) do nothing on another controller: not written there
  const annotations = ing.metadata?.annotations;
  if (ingressClass && !/nginx/i.test(ingressClass) && annotations) {
    for (const k of Object.keys(annotations)) if (k.startsWith("nginx.ingress.kubernetes.io/")) delete annotations[k];
    if (Object.keys(annotations).length === 0) delete ing.metadata!.annotations;
    problems.push(NON_NGINX_NOTE(ingressClass));
  }
  ing.spec.rules = [
    {
      host,
      http: {
        paths: [
          {
            path: "/",
            pathType: "Prefix",
            backend: {
              service: backend
                ? { name: backend.name, port: { number: backend.port } }
                : { name: app.name, port: { name: "http" } },
            },
          },
        ],
      },
    },
  ];
  if (app.domain?.tls_secret) ing.spec.tls = [{ hosts: [host], secretName: app.domain.tls_secret }];
  else if (app.requires_auth !== false) problems.push(CLEARTEXT_NOTE(host));
  return generic(ing);
}
