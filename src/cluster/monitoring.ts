/**
 * Will a Prometheus pick up the app's PodMonitor and PrometheusRule? prometheus-operator's Prometheus
 * objects select monitors by label (`podMonitorSelector`, `ruleSelector`: null selects nothing, {} all)
 * and by namespace (`podMonitorNamespaceSelector`, `ruleNamespaceSelector`: null means the Prometheus's
 * own namespace, {} all). A monitor no Prometheus selects is never scraped, silently: the usual reason
 * metrics never arrive. The matching is pure; checkMonitoring reads the cluster and words the warnings.
 */
import type { AppConfig } from "../config/schema.js";
import type { K8sObject } from "../render/types.js";
import type { KObject, KubeApi } from "./api.js";
import { ApiError } from "./errors.js";

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Does a label selector select these labels? `whenNull` is what an absent selector means for this field. */
export function selectorMatches(
  sel: LabelSelector | null | undefined,
  labels: Record<string, string>,
  whenNull: boolean,
): boolean {
  if (sel === null || sel === undefined) return whenNull;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const values = e.values ?? [];
    const ok =
      e.operator === "In"
        ? has && values.includes(labels[e.key]!)
        : e.operator === "NotIn"
          ? !has || !values.includes(labels[e.key]!)
          : e.operator === "Exists"
            ? has
            : e.operator === "DoesNotExist"
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}

type Prometheus = KObject & { spec?: Record<string, LabelSelector | null | undefined> };

export interface Selection {
  /** which Prometheus */
  prometheus: string;
  selected: boolean;
  /** why not, in words; undefined when selected */
  why?: string;
  /** labels the monitor lacks that the selector's matchLabels asks for */
  missingLabels: Record<string, string>;
}

/**
 * How one Prometheus treats a monitor of a kind: `field` is podMonitor or rule (its spec has
 * `<field>Selector` and `<field>NamespaceSelector`).
 */
export function selectionBy(
  prom: Prometheus,
  field: "podMonitor" | "rule",
  monitor: { labels: Record<string, string>; namespace: string; namespaceLabels: Record<string, string> },
): Selection {
  const name = `${prom.metadata.namespace}/${prom.metadata.name}`;
  const sel = prom.spec?.[`${field}Selector`];
  const nsSel = prom.spec?.[`${field}NamespaceSelector`];
  const what = field === "podMonitor" ? "PodMonitors" : "PrometheusRules";
  const missingLabels = Object.fromEntries(
    Object.entries(sel?.matchLabels ?? {}).filter(([k, v]) => monitor.labels[k] !== v),
  );
  if (sel === null || sel === undefined)
    return {
      prometheus: name,
      selected: false,
      why: `selects no ${what} (${field}Selector is not set)`,
      missingLabels,
    };
  if (!selectorMatches(sel, monitor.labels, false)) {
    const wanted = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
    const exprs = (sel.matchExpressions ?? []).map(
      (e) => `${e.key} ${e.operator}${e.values?.length ? ` (${e.values.join(", ")})` : ""}`,
    );
    return {
      prometheus: name,
      selected: false,
      why: `selects ${what} labelled ${[...wanted, ...exprs].join(", ")}`,
      missingLabels,
    };
  }
  const inNamespace =
    nsSel === null || nsSel === undefined
      ? monitor.namespace === prom.metadata.namespace
      : selectorMatches(nsSel, monitor.namespaceLabels, true);
  if (!inNamespace) {
    const why =
      nsSel === null || nsSel === undefined
        ? `selects ${what} of its own namespace ${prom.metadata.namespace} only (${field}NamespaceSelector is not set)`
        : `selects ${what} only in namespaces matching ${JSON.stringify(nsSel)}`;
    return { prometheus: name, selected: false, why, missingLabels: {} };
  }
  return { prometheus: name, selected: true, missingLabels: {} };
}

/** The warnings for an app's monitors, or none when some Prometheus selects each (or when vllmapp may not look). */
export async function checkMonitoring(
  api: KubeApi,
  app: AppConfig,
  namespace: string,
  objects: readonly K8sObject[],
): Promise<string[]> {
  const monitors = objects.filter(
    (o) =>
      (o.kind === "PodMonitor" || o.kind === "PrometheusRule") && o.apiVersion.startsWith("monitoring.coreos.com/"),
  );
  if (!monitors.length || !(await api.resource("monitoring.coreos.com/v1", "Prometheus"))) return [];
  let proms: Prometheus[];
  let nsLabels: Record<string, string> = { "kubernetes.io/metadata.name": namespace };
  try {
    proms = (
      await api.request<{ items: Prometheus[] }>("GET", "/apis/monitoring.coreos.com/v1/prometheuses", {
        what: "list Prometheus objects",
      })
    ).items;
    const ns = await api.get(`/api/v1/namespaces/${namespace}`, `read namespace ${namespace}`);
    if (ns?.metadata.labels) nsLabels = { ...nsLabels, ...ns.metadata.labels };
  } catch (e) {
    // a user who may not list Prometheus objects cluster-wide gets no opinion rather than a wrong one
    if (e instanceof ApiError && e.status === 403) return [];
    throw e;
  }
  const warnings: string[] = [];
  for (const m of monitors) {
    const id = `${m.kind} ${namespace}/${m.metadata.name}`;
    if (!proms.length) {
      warnings.push(`${app.name}: no Prometheus object (prometheus-operator) in the cluster, so nothing scrapes ${id}`);
      continue;
    }
    const field = m.kind === "PodMonitor" ? "podMonitor" : "rule";
    const found = proms.map((p) =>
      selectionBy(p, field, { labels: m.metadata.labels ?? {}, namespace, namespaceLabels: nsLabels }),
    );
    if (found.some((s) => s.selected)) continue;
    const missing = Object.assign({}, ...found.map((s) => s.missingLabels)) as Record<string, string>;
    const fix = Object.keys(missing).length
      ? `; add monitoring.labels: {${Object.entries(missing)
          .map(([k, v]) => `${k}: ${v}`)
          .join(", ")}}`
      : "";
    warnings.push(
      `${app.name}: no Prometheus selects ${id}: ${found.map((s) => `Prometheus ${s.prometheus} ${s.why}`).join("; ")}${fix}`,
    );
  }
  return warnings;
}
