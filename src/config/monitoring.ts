/**
 * `monitoring:` (README "Monitoring: `monitoring:`"): a prometheus-operator PodMonitor for the server's /metrics, a Grafana dashboard
 * ConfigMap and a PrometheusRule with alerts. Pure: the schema only; render/monitoring.ts builds the objects.
 */
import * as z from "zod/mini";
import { LABEL_KEY, LABEL_VALUE } from "./labels.js";
import { parseDuration } from "./units.js";

const described = <T extends z.ZodMiniType>(schema: T, description: string): T =>
  schema.check(z.describe(description)) as T;

export const monitoringSchema = z.strictObject({
  pod_monitor: z.optional(
    described(z.boolean(), "a PodMonitor that scrapes /metrics on the http port (default: true)"),
  ),
  dashboard: z._default(
    described(z.boolean(), 'a Grafana dashboard as a ConfigMap labelled grafana_dashboard: "1"'),
    false,
  ),
  alerts: z._default(
    described(z.boolean(), "a PrometheusRule with alerts on latency, queueing, KV cache and preemptions"),
    false,
  ),
  interval: z._default(
    described(
      z
        .union([z.number(), z.string()])
        .check(z.refine((v) => (parseDuration(v) ?? 0) >= 1, { message: 'not a scrape interval; write e.g. "30s"' })),
      "scrape interval",
    ),
    "30s",
  ),
  labels: z.optional(
    described(
      z.record(
        z.string().check(z.regex(LABEL_KEY, "not a label key")),
        z.string().check(z.regex(LABEL_VALUE, "not a label value")),
      ),
      "extra labels on the PodMonitor and PrometheusRule, for the Prometheus that selects them (e.g. release: kube-prometheus-stack)",
    ),
  ),
});

export type MonitoringConfig = z.output<typeof monitoringSchema>;
