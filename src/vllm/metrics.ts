/**
 * vLLM's Prometheus metric names per release (templates/vllm/catalogs/metrics.json, read from each release's
 * source by test/vllm-catalog/metrics.py), and the names vllmapp's dashboard, alerts, autoscaler query and
 * bench use for the app's image: each logical metric is the first of its names (newest first) the image's
 * release defines. A release that defines none of them is a warning naming the releases that do.
 */
// The catalogs are read-only data shipped with the package (see catalog.ts).
import { compareVersions, readCatalogFile } from "./catalog.js";

export interface MetricFamily {
  type: "counter" | "gauge" | "histogram" | "summary" | "info";
  labels: string[] | null;
  help: string;
  /** the releases whose source defines it */
  releases: string[];
  /** releases that serve it only with --show-hidden-metrics-for-version */
  hidden_in: string[];
}

export interface MetricsCatalog {
  releases: string[];
  families: Record<string, MetricFamily>;
}

let doc: MetricsCatalog | undefined;
export function metricsCatalog(): MetricsCatalog {
  doc ??= readCatalogFile("metrics.json") as MetricsCatalog;
  return doc;
}

/** The metric families vllmapp's objects read, each with its names across releases, newest first. */
export const METRICS = {
  requestSuccess: { type: "counter", names: ["vllm:request_success"] },
  running: { type: "gauge", names: ["vllm:num_requests_running"] },
  waiting: { type: "gauge", names: ["vllm:num_requests_waiting"] },
  ttft: { type: "histogram", names: ["vllm:time_to_first_token_seconds"] },
  interToken: { type: "histogram", names: ["vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds"] },
  e2e: { type: "histogram", names: ["vllm:e2e_request_latency_seconds"] },
  queueTime: { type: "histogram", names: ["vllm:request_queue_time_seconds"] },
  promptTokens: { type: "counter", names: ["vllm:prompt_tokens"] },
  generationTokens: { type: "counter", names: ["vllm:generation_tokens"] },
  kvCacheUsage: { type: "gauge", names: ["vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"] },
  prefixHits: { type: "counter", names: ["vllm:prefix_cache_hits", "vllm:gpu_prefix_cache_hits"] },
  prefixQueries: { type: "counter", names: ["vllm:prefix_cache_queries", "vllm:gpu_prefix_cache_queries"] },
  preemptions: { type: "counter", names: ["vllm:num_preemptions"] },
} as const satisfies Record<string, { type: MetricFamily["type"]; names: readonly string[] }>;

export type MetricKey = keyof typeof METRICS;

/** The series name a family is exposed as: counters get `_total` (prometheus_client adds it). */
export function seriesName(family: string, type: MetricFamily["type"]): string {
  return type === "counter" && !family.endsWith("_total") ? `${family}_total` : family;
}

/** A release range for messages: "0.11.0", "0.11.0–0.18.0" (with the releases catalogued in between). */
function span(releases: readonly string[]): string {
  const s = [...releases].sort(compareVersions);
  return s.length === 1 ? s[0]! : `${s[0]}–${s[s.length - 1]}`;
}

export interface MetricChoice {
  /** the series name to query */
  series: string;
  family: string;
  /** why the release's own name could not be used (a warning), or a note */
  problem?: { severity: "warning" | "note"; message: string };
}

/**
 * The name of `key` for vLLM `release` (undefined: not known, the newest name). The first name the release
 * defines (not hidden), else one it defines hidden, else the newest name with a warning naming the releases
 * that have it.
 */
export function metricFor(key: MetricKey, release: string | undefined): MetricChoice {
  const { type, names } = METRICS[key];
  const newest = names[0]!;
  const choice = (family: string, problem?: MetricChoice["problem"]): MetricChoice => ({
    series: seriesName(family, type),
    family,
    ...(problem ? { problem } : {}),
  });
  if (!release) return choice(newest); // without reading the catalog (bench's default counters at import)
  const cat = metricsCatalog();
  const fam = (n: string) => cat.families[n];
  if (!cat.releases.includes(release)) return choice(newest);
  const served = names.find((n) => fam(n)?.releases.includes(release) && !fam(n)!.hidden_in.includes(release));
  if (served) return choice(served);
  const hidden = names.find((n) => fam(n)?.releases.includes(release));
  if (hidden)
    return choice(hidden, {
      severity: "warning",
      message: `vLLM ${release} serves ${hidden} only with --show-hidden-metrics-for-version=${release.split(".").slice(0, 2).join(".")}`,
    });
  const having = names.flatMap((n) => (fam(n)?.releases.length ? [`${n} (vLLM ${span(fam(n)!.releases)})`] : []));
  return choice(newest, {
    severity: "warning",
    message: `vLLM ${release} defines no ${names.join(" or ")} metric${having.length ? `; ${having.join(", ")} has it` : ""}`,
  });
}

/** Every family name vllmapp's objects may read, for the upgrade report. */
export function releasesDefining(family: string): string[] {
  return metricsCatalog().families[family]?.releases ?? [];
}
