/**
 * monitoring: — which objects render (PodMonitor on by default, dashboard and alerts opt-in), the
 * dashboard's queries, and whether a Prometheus selects a monitor (label and namespace selectors). Pure code.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfigText } from "../../../src/config/load.ts";
import { podMonitorWanted, renderMonitoring } from "../../../src/render/monitoring.ts";
import { selectionBy, selectorMatches } from "../../../src/cluster/monitoring.ts";

const BASE = "name: qwen3\nmodel_hf_path: Qwen/Qwen3-0.6B\n";
const appOf = (text: string) => parseConfigText(text, "vllm-app.yaml").apps[0]!.config;

test("monitoring: the PodMonitor is on once the block is given, off with pod_monitor: false; dashboard and alerts opt-in", () => {
  assert.equal(podMonitorWanted(appOf(BASE)), false);
  assert.equal(podMonitorWanted(appOf(`${BASE}monitoring: {}\n`)), true);
  assert.equal(podMonitorWanted(appOf(`${BASE}monitoring: {pod_monitor: false}\n`)), false);
  const kinds = (t: string) =>
    renderMonitoring(appOf(t), "qwen3-0.6b", "ns").objects.map((o) => `${o.kind}/${o.metadata.name}`);
  assert.deepEqual(kinds(`${BASE}monitoring: {}\n`), ["PodMonitor/qwen3"]);
  assert.deepEqual(kinds(`${BASE}monitoring: {dashboard: true, alerts: true, labels: {release: prom}}\n`), [
    "PodMonitor/qwen3",
    "ConfigMap/qwen3-dashboard",
    "PrometheusRule/qwen3",
  ]);
  const [pm, cm] = renderMonitoring(
    appOf(`${BASE}monitoring: {dashboard: true, labels: {release: prom}}\n`),
    "qwen3-0.6b",
    "ns",
  ).objects as any[];
  assert.equal(pm.metadata.labels.release, "prom");
  assert.deepEqual(pm.spec.podMetricsEndpoints, [{ port: "http", path: "/metrics", interval: "30s" }]);
  assert.equal(cm.metadata.labels.grafana_dashboard, "1");
  const dash = JSON.parse(cm.data["vllm-qwen3.json"]);
  const exprs: string[] = dash.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr));
  for (const m of [
    "vllm:time_to_first_token_seconds_bucket",
    "vllm:inter_token_latency_seconds_bucket",
    "vllm:kv_cache_usage_perc",
    "vllm:num_requests_waiting",
    "vllm:generation_tokens_total",
  ]) {
    assert.ok(
      exprs.some((e) => e.includes(m)),
      m,
    );
  }
  // the app's series by the label the PodMonitor copies from its pods, never a namespace literal an overlay would make stale
  assert.ok(exprs.every((e) => e.includes('vllmapp_dev_app="qwen3"') && !e.includes("namespace=")));
});

test("label selectors as Kubernetes evaluates them; null means none (monitors) or the own namespace", () => {
  assert.equal(selectorMatches({}, {}, false), true);
  assert.equal(selectorMatches(null, { a: "1" }, false), false);
  assert.equal(selectorMatches({ matchLabels: { release: "kps" } }, { release: "kps", x: "y" }, false), true);
  assert.equal(
    selectorMatches({ matchExpressions: [{ key: "team", operator: "In", values: ["ml"] }] }, { team: "web" }, false),
    false,
  );
  assert.equal(
    selectorMatches({ matchExpressions: [{ key: "team", operator: "NotIn", values: ["web"] }] }, {}, false),
    true,
  );
  assert.equal(selectorMatches({ matchExpressions: [{ key: "team", operator: "Exists" }] }, {}, false), false);
  assert.equal(selectorMatches({ matchExpressions: [{ key: "team", operator: "DoesNotExist" }] }, {}, false), true);
  const prom = (spec: object) =>
    ({
      apiVersion: "monitoring.coreos.com/v1",
      kind: "Prometheus",
      metadata: { name: "k8s", namespace: "monitoring" },
      spec,
    }) as any;
  const monitor = {
    labels: { "vllmapp.dev/app": "qwen3" },
    namespace: "inference",
    namespaceLabels: { "kubernetes.io/metadata.name": "inference" },
  };
  assert.deepEqual(
    selectionBy(
      prom({ podMonitorSelector: { matchLabels: { release: "kps" } }, podMonitorNamespaceSelector: {} }),
      "podMonitor",
      monitor,
    ),
    {
      prometheus: "monitoring/k8s",
      selected: false,
      why: "selects PodMonitors labelled release=kps",
      missingLabels: { release: "kps" },
    },
  );
  assert.match(
    selectionBy(prom({}), "podMonitor", monitor).why!,
    /selects no PodMonitors \(podMonitorSelector is not set\)/,
  );
  assert.match(
    selectionBy(prom({ podMonitorSelector: {} }), "podMonitor", monitor).why!,
    /of its own namespace monitoring only/,
  );
  assert.equal(
    selectionBy(prom({ podMonitorSelector: {}, podMonitorNamespaceSelector: {} }), "podMonitor", monitor).selected,
    true,
  );
  assert.equal(
    selectionBy(
      prom({
        ruleSelector: {},
        ruleNamespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "inference" } },
      }),
      "rule",
      monitor,
    ).selected,
    true,
  );
});
