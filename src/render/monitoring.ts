/**
 * The scrape object for vLLM's /metrics: a prometheus-operator PodMonitor. Rendered when the autoscaler
 * reads vLLM's metrics (opt out with `monitoring.pod_monitor: false`) or when asked for
 * (`monitoring.pod_monitor: true`). It copies the pod label `vllmapp.dev/app` onto every series
 * (`vllmapp_dev_app`), so queries select the app by a label its objects carry, not by a namespace
 * literal that a kustomize overlay would make stale. Pure.
 */
import type { AppConfig } from "../config/schema.js";
import { LABEL_APP, labelsOf, selectorOf } from "./labels.js";
import type { K8sObject } from "./types.js";

/** The Prometheus label the PodMonitor gives every series of the app (prometheus-operator sanitises the pod label's name). */
export const APP_SERIES_LABEL = LABEL_APP.replace(/[^a-zA-Z0-9_]/g, "_");

/** Is a PodMonitor rendered for this app? `autoscaledOnMetrics`: a ScaledObject queries vLLM's metrics. */
export function wantsPodMonitor(app: AppConfig, autoscaledOnMetrics: boolean): boolean {
  return app.monitoring?.pod_monitor ?? autoscaledOnMetrics;
}

/** `leaders`: a multi-node app, whose workers run headless (no HTTP port): only the leaders are scraped. */
export function renderPodMonitor(app: AppConfig, namespace: string | undefined, leaders?: { roleLabel: string }): K8sObject {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PodMonitor",
    metadata: { name: app.name, ...(namespace ? { namespace } : {}), labels: labelsOf(app) },
    spec: {
      selector: { matchLabels: { ...selectorOf(app), ...(leaders ? { [leaders.roleLabel]: "leader" } : {}) } },
      podTargetLabels: [LABEL_APP],
      podMetricsEndpoints: [{ port: "http", path: "/metrics", interval: "15s" }],
    },
  };
}
