/**
 * `monitoring:` → prometheus-operator objects (monitoring.coreos.com/v1) and a Grafana dashboard:
 * - a PodMonitor that scrapes /metrics on the server's `http` port of the serving pods only
 *   (servingPodsOf: with multi-node servers, the leaders), on by default once `monitoring:` is given;
 * - with `dashboard: true`, a ConfigMap `<app>-dashboard` labelled `grafana_dashboard: "1"` (what the
 *   Grafana sidecar of kube-prometheus-stack picks up) holding a dashboard written from vLLM's metric names;
 * - with `alerts: true`, a PrometheusRule with alerts on time to first token, queueing, KV cache use,
 *   preemptions and a server that stopped answering scrapes.
 * The one PodMonitor of an app is decided by wantsPodMonitor(): asked for with `monitoring:`, and rendered
 * by itself when the KEDA autoscaler reads vLLM's metrics (opt out with `monitoring.pod_monitor: false`).
 * It copies the pod label `vllmapp.dev/app` onto every series (`vllmapp_dev_app`), so the autoscaler's,
 * the dashboard's and the alerts' queries select the app by a label its objects carry, not by a namespace
 * literal that a kustomize overlay would make stale. Pure.
 */
import type { AppConfig } from "../config/schema.js";
import { parseDuration } from "../config/units.js";
import { DEFAULT_IMAGE, LABEL_APP, labelsOf, servingPodsOf } from "./labels.js";
import { durationString } from "./route.js";
import type { Finding } from "../errors.js";
import type { K8sObject } from "./types.js";
import { chooseCatalog } from "../vllm/catalog.js";
import { metricFor, type MetricKey } from "../vllm/metrics.js";

export const MONITORING_GROUP = "monitoring.coreos.com";

/** The Prometheus label the PodMonitor gives every series of the app (prometheus-operator sanitises the pod label's name). */
export const APP_SERIES_LABEL = LABEL_APP.replace(/[^a-zA-Z0-9_]/g, "_");

/** Is a PodMonitor rendered? `pod_monitor` as written; else when `monitoring:` is given or a ScaledObject queries vLLM's metrics. */
export function wantsPodMonitor(app: AppConfig, autoscaledOnMetrics: boolean): boolean {
  return app.monitoring?.pod_monitor ?? (autoscaledOnMetrics || app.monitoring !== undefined);
}

/** The one PodMonitor question, for callers that know only the config (preflight). */
export function podMonitorWanted(app: AppConfig): boolean {
  return wantsPodMonitor(app, Array.isArray(app.scaling?.replicas));
}

/**
 * The PodMonitor: /metrics on the `http` port of the serving pods. `leaders`: a multi-node app, whose
 * workers run headless (no HTTP port): only the leaders are scraped.
 */
export function renderPodMonitor(
  app: AppConfig,
  namespace: string | undefined,
  leaders?: { roleLabel: string },
): K8sObject {
  return {
    apiVersion: `${MONITORING_GROUP}/v1`,
    kind: "PodMonitor",
    metadata: { name: app.name, ...(namespace ? { namespace } : {}), labels: monitorLabelsOf(app) },
    spec: {
      selector: { matchLabels: { ...servingPodsOf(app), ...(leaders ? { [leaders.roleLabel]: "leader" } : {}) } },
      podTargetLabels: [LABEL_APP],
      podMetricsEndpoints: [
        { port: "http", path: "/metrics", interval: durationString(parseDuration(app.monitoring?.interval) ?? 30) },
      ],
    },
  };
}

/** The labels of the PodMonitor and PrometheusRule: the app's, plus monitoring.labels (what a Prometheus selects on). */
export function monitorLabelsOf(app: AppConfig): Record<string, string> {
  return { ...labelsOf(app), ...(app.monitoring?.labels ?? {}) };
}

/**
 * The app's metric names: those of the vLLM release its image runs (vllm/metrics.ts), and a warning for each
 * family that release does not define. `used` collects the series names the objects query.
 */
export interface MetricNames {
  (key: MetricKey): string;
  release: string | undefined;
  problems: Finding[];
  used: Set<string>;
}

export function metricNamesOf(app: AppConfig): MetricNames {
  const release = chooseCatalog(app.image, app.vllm_version, DEFAULT_IMAGE).imageVersion;
  const problems: Finding[] = [];
  const used = new Set<string>();
  const seen = new Set<MetricKey>();
  const names = ((key: MetricKey) => {
    const m = metricFor(key, release);
    if (m.problem && !seen.has(key))
      problems.push({
        path: [app.vllm_version !== undefined ? "vllm_version" : "image"],
        severity: m.problem.severity,
        message: m.problem.message,
      });
    seen.add(key);
    used.add(m.series);
    return m.series;
  }) as MetricNames;
  names.release = release;
  names.problems = problems;
  names.used = used;
  return names;
}

/** The PromQL label matcher of the app's series: the label the PodMonitor copies from its pods (not a namespace literal). */
function seriesSelector(app: AppConfig): string {
  return `${APP_SERIES_LABEL}=${JSON.stringify(app.name)}`;
}

interface Panel {
  title: string;
  unit: string;
  targets: { expr: string; legend: string }[];
  description: string;
}

/** The dashboard's panels, from the metric families the image's vLLM release serves on /metrics (research/vllm-on-cpu.md §3). */
function panels(sel: string, m: MetricNames): Panel[] {
  const rate = (m: string) => `sum(rate(${m}{${sel}}[$__rate_interval]))`;
  const quantile = (q: number, m: string) =>
    `histogram_quantile(${q}, sum by (le) (rate(${m}_bucket{${sel}}[$__rate_interval])))`;
  const quantiles = (m: string) =>
    [0.5, 0.9, 0.99].map((q) => ({ expr: quantile(q, m), legend: `p${Math.round(q * 100)}` }));
  const success = m("requestSuccess");
  const [running, waiting] = [m("running"), m("waiting")];
  const [ttft, itl, e2e, queue] = [m("ttft"), m("interToken"), m("e2e"), m("queueTime")];
  const [prompt, generated, kv] = [m("promptTokens"), m("generationTokens"), m("kvCacheUsage")];
  const [hits, queries, preemptions] = [m("prefixHits"), m("prefixQueries"), m("preemptions")];
  return [
    {
      title: "Requests finished",
      unit: "reqps",
      description: `${success} by finish reason`,
      targets: [
        {
          expr: `sum by (finished_reason) (rate(${success}{${sel}}[$__rate_interval]))`,
          legend: "{{finished_reason}}",
        },
      ],
    },
    {
      title: "Requests running and waiting",
      unit: "short",
      description: `${running} and ${waiting}, summed over replicas`,
      targets: [
        { expr: `sum(${running}{${sel}})`, legend: "running" },
        { expr: `sum(${waiting}{${sel}})`, legend: "waiting" },
      ],
    },
    { title: "Time to first token", unit: "s", description: ttft, targets: quantiles(ttft) },
    { title: "Inter-token latency", unit: "s", description: itl, targets: quantiles(itl) },
    { title: "End-to-end request latency", unit: "s", description: e2e, targets: quantiles(e2e) },
    { title: "Time in queue", unit: "s", description: queue, targets: quantiles(queue) },
    {
      title: "Token throughput",
      unit: "short",
      description: `tokens per second: ${prompt} and ${generated}`,
      targets: [
        { expr: rate(prompt), legend: "prompt" },
        { expr: rate(generated), legend: "generated" },
      ],
    },
    {
      title: "KV cache usage",
      unit: "percentunit",
      description: `${kv} per replica`,
      targets: [{ expr: `max by (pod) (${kv}{${sel}})`, legend: "{{pod}}" }],
    },
    {
      title: "Prefix cache hit rate",
      unit: "percentunit",
      description: `${hits} / ${queries}`,
      targets: [{ expr: `${rate(hits)} / ${rate(queries)}`, legend: "hit rate" }],
    },
    {
      title: "Preemptions",
      unit: "short",
      description: `${preemptions}: requests evicted for lack of KV cache`,
      targets: [{ expr: rate(preemptions), legend: "preemptions/s" }],
    },
  ];
}

/** A Grafana dashboard (JSON model, schemaVersion 39) for one app, over a Prometheus data source picked by a variable. */
export function dashboardOf(
  app: AppConfig,
  servedAs: string,
  namespace: string | undefined,
  m: MetricNames = metricNamesOf(app),
): Record<string, unknown> {
  const sel = `${seriesSelector(app)},pod=~"$pod"`;
  const datasource = { type: "prometheus", uid: "${datasource}" };
  // Grafana uids are at most 40 characters
  const uid = `vllmapp-${app.name}`.slice(0, 40).replace(/-+$/, "");
  return {
    uid,
    title: `vLLM · ${app.name}${namespace ? ` (${namespace})` : ""}`,
    description: `vLLM server ${app.name}, model ${servedAs}; made by vllmapp`,
    tags: ["vllm", "vllmapp"],
    editable: true,
    schemaVersion: 39,
    time: { from: "now-6h", to: "now" },
    refresh: "30s",
    templating: {
      list: [
        { name: "datasource", label: "Data source", type: "datasource", query: "prometheus", current: {}, hide: 0 },
        {
          name: "pod",
          label: "Replica",
          type: "query",
          datasource,
          query: { query: `label_values(${m("running")}{${seriesSelector(app)}}, pod)`, refId: "pods" },
          includeAll: true,
          allValue: ".*",
          multi: true,
          current: { text: "All", value: "$__all" },
          refresh: 2,
          hide: 0,
        },
      ],
    },
    panels: panels(sel, m).map((p, i) => ({
      id: i + 1,
      type: "timeseries",
      title: p.title,
      description: p.description,
      datasource,
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
      options: { legend: { displayMode: "list", placement: "bottom" }, tooltip: { mode: "multi" } },
      targets: p.targets.map((t, j) => ({
        refId: String.fromCharCode(65 + j),
        datasource,
        expr: t.expr,
        legendFormat: t.legend,
      })),
    })),
  };
}

/** Alert rules with the thresholds llm-d's alerting rules use, scoped to this app's series. */
function alertRules(
  app: AppConfig,
  servedAs: string,
  namespace: string | undefined,
  m: MetricNames,
): Record<string, unknown>[] {
  const sel = seriesSelector(app);
  const ttft = `histogram_quantile(0.99, sum by (le) (rate(${m("ttft")}_bucket{${sel}}[5m])))`;
  const labels = (severity: string) => ({ severity, vllmapp_app: app.name });
  const job = namespace
    ? `job=${JSON.stringify(`${namespace}/${app.name}`)}`
    : `job=~${JSON.stringify(`.+/${app.name}`)}`;
  return [
    {
      alert: "VllmTimeToFirstTokenHigh",
      expr: `${ttft} > 10`,
      for: "5m",
      labels: labels("warning"),
      annotations: {
        summary: `${app.name}: p99 time to first token above 10 s`,
        description:
          "p99 TTFT is {{ $value | humanizeDuration }} over 5 minutes: requests queue, or prompts are long for the replicas there are.",
      },
    },
    {
      alert: "VllmTimeToFirstTokenCritical",
      expr: `${ttft} > 30`,
      for: "5m",
      labels: labels("critical"),
      annotations: {
        summary: `${app.name}: p99 time to first token above 30 s`,
        description:
          "p99 TTFT is {{ $value | humanizeDuration }}: clients are likely timing out. Add replicas or lower the load.",
      },
    },
    {
      alert: "VllmRequestsQueued",
      expr: `sum(${m("waiting")}{${sel}}) > 50`,
      for: "5m",
      labels: labels("warning"),
      annotations: {
        summary: `${app.name}: more than 50 requests waiting`,
        description: "{{ $value }} requests wait for a slot: the replicas are saturated.",
      },
    },
    {
      alert: "VllmKvCacheNearlyFull",
      expr: `max(${m("kvCacheUsage")}{${sel}}) > 0.9`,
      for: "10m",
      labels: labels("warning"),
      annotations: {
        summary: `${app.name}: KV cache over 90 % full`,
        description:
          "A replica's KV cache is {{ $value | humanizePercentage }} used for 10 minutes; expect preemptions and queueing.",
      },
    },
    {
      alert: "VllmPreempting",
      expr: `sum(rate(${m("preemptions")}{${sel}}[5m])) > 1`,
      for: "5m",
      labels: labels("warning"),
      annotations: {
        summary: `${app.name}: requests are being preempted`,
        description:
          "{{ $value }} preemptions per second: the KV cache is too small for the load (raise gpu memory use, shorten max-model-len, or add replicas).",
      },
    },
    {
      alert: "VllmServerDown",
      expr: `up{${job}} == 0`,
      for: "5m",
      labels: labels("critical"),
      annotations: {
        summary: `${app.name}: a replica does not answer /metrics`,
        description: "Prometheus could not scrape {{ $labels.pod }} for 5 minutes.",
      },
    },
  ];
}

/**
 * Every monitoring object of an app: the PodMonitor (wantsPodMonitor), the dashboard and the alert rule.
 * `autoscaledOnMetrics`: a ScaledObject queries vLLM's metrics; `leaders`: a multi-node app (see renderPodMonitor).
 */
export function renderMonitoring(
  app: AppConfig,
  servedAs: string,
  namespace: string | undefined,
  opts: { autoscaledOnMetrics?: boolean; leaders?: { roleLabel: string } } = {},
): { objects: K8sObject[]; problems: Finding[] } {
  const objects: K8sObject[] = [];
  if (wantsPodMonitor(app, opts.autoscaledOnMetrics ?? false))
    objects.push(renderPodMonitor(app, namespace, opts.leaders));
  const m = app.monitoring;
  if (!m) return { objects, problems: [] };
  const problems: Finding[] = [];
  const names = metricNamesOf(app);
  const meta = (name: string, labels: Record<string, string>) => ({
    name,
    ...(namespace ? { namespace } : {}),
    labels,
  });
  if (objects.length === 0 && m.alerts) {
    problems.push({
      path: ["monitoring", "pod_monitor"],
      severity: "note",
      message: "alerts without a PodMonitor: they fire only if something else scrapes the server's /metrics",
    });
  }
  if (m.dashboard) {
    objects.push({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: meta(`${app.name}-dashboard`, { ...labelsOf(app), grafana_dashboard: "1" }),
      data: { [`vllm-${app.name}.json`]: `${JSON.stringify(dashboardOf(app, servedAs, namespace, names), null, 2)}\n` },
    });
  }
  if (m.alerts) {
    objects.push({
      apiVersion: `${MONITORING_GROUP}/v1`,
      kind: "PrometheusRule",
      metadata: meta(app.name, monitorLabelsOf(app)),
      spec: { groups: [{ name: `vllmapp.${app.name}`, rules: alertRules(app, servedAs, namespace, names) }] },
    });
  }
  problems.push(...names.problems);
  return { objects, problems };
}
