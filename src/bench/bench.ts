/**
 * `vllmapp bench`: what runs and how its output reads. The measuring is vLLM's own `vllm bench serve`,
 * run from the app's image (no new image, no version skew) by a small Python wrapper that runs one
 * `vllm bench serve` per level (a concurrency or a request rate), scrapes the server's /metrics before
 * and after each, and prints every result between markers on stdout, so the same parser reads a
 * Kubernetes Job's log and a Docker container's output. Pure: plans, argv, the Job, parsing.
 */
import type { V1Container, V1EnvVar, V1Job, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import type { BenchLevel, BenchRequest, BenchStats } from "../target.js";
import type { K8sObject } from "../render/types.js";
import { securePod, type SecurityProfile } from "../render/security.js";
import { versionOfImage } from "../vllm/catalog.js";
import { metricFor, type MetricKey } from "../vllm/metrics.js";

export const MARKER = "@@vllmapp-bench";

/** The counters whose change over a level is reported (summed over their labels and the replicas scraped). */
const COUNTER_METRICS = {
  requests: "requestSuccess",
  promptTokens: "promptTokens",
  generationTokens: "generationTokens",
  preemptions: "preemptions",
  prefixQueries: "prefixQueries",
  prefixHits: "prefixHits",
} as const satisfies Record<string, MetricKey>;
export type Counters = Record<keyof typeof COUNTER_METRICS, string>;

/**
 * The counters' series names in the /metrics of the image's vLLM release (vllm/metrics.ts: the names that
 * release serves, e.g. vllm:gpu_prefix_cache_queries_total where it predates vllm:prefix_cache_queries_total);
 * an image whose release is not known reads the newest names.
 */
export function countersFor(image: string | undefined): Counters {
  const release = image ? versionOfImage(image) : undefined;
  return Object.fromEntries(
    Object.entries(COUNTER_METRICS).map(([k, key]) => [k, metricFor(key, release).series]),
  ) as Counters;
}

/** The newest names (an image of no known release). */
export const COUNTERS: Counters = countersFor(undefined);

export interface Level {
  concurrency: number | null;
  requestRate: number | null;
  numPrompts: number;
  seed: number;
}

/** The levels a request runs: one per concurrency, or one per rate (each capped by a single concurrency, if given). */
export function planLevels(req: BenchRequest): Level[] {
  if (req.requestRates.length) {
    const cap = req.concurrency.length === 1 ? req.concurrency[0]! : null;
    return req.requestRates.map((rate, i) => ({
      concurrency: cap,
      requestRate: rate,
      numPrompts: req.numPrompts ?? Math.max(8, Math.ceil(rate * 10)),
      seed: req.seed + i,
    }));
  }
  return req.concurrency.map((c, i) => ({
    concurrency: c,
    requestRate: null,
    numPrompts: req.numPrompts ?? Math.max(8, 4 * c),
    seed: req.seed + i,
  }));
}

export function describeLevel(l: Level): string {
  if (l.requestRate !== null)
    return `${l.requestRate} req/s${l.concurrency !== null ? ` (at most ${l.concurrency} at once)` : ""}`;
  return `concurrency ${l.concurrency}`;
}

/** Where the benchmark sends requests, and what it tokenizes with. */
export interface BenchEndpoint {
  baseUrl: string;
  /** the served model name */
  model: string;
  /** a Hugging Face repo or a folder in the benchmark's container */
  tokenizer: string;
}

/** `vllm bench serve` for one level: the random dataset (a fixed input and output length), streamed completions. */
export function vllmBenchArgs(ep: BenchEndpoint, req: BenchRequest, level: Level): string[] {
  const args = [
    "--backend",
    "openai",
    "--base-url",
    ep.baseUrl,
    "--endpoint",
    "/v1/completions",
    "--model",
    ep.model,
    "--tokenizer",
    ep.tokenizer,
    ...datasetArgs(req),
    "--num-prompts",
    String(level.numPrompts),
    "--seed",
    String(level.seed),
    "--percentile-metrics",
    "ttft,tpot,itl,e2el",
    "--metric-percentiles",
    req.percentiles.join(","),
  ];
  if (level.concurrency !== null) args.push("--max-concurrency", String(level.concurrency));
  if (level.requestRate !== null) args.push("--request-rate", String(level.requestRate));
  if (req.warmups) args.push("--num-warmups", String(req.warmups));
  const goodput = [
    ["ttft", req.slo.ttftMs],
    ["tpot", req.slo.tpotMs],
    ["e2el", req.slo.e2elMs],
  ]
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}:${v}`);
  if (goodput.length) args.push("--goodput", ...goodput);
  return args;
}

/** Where the wrapper writes a dataset sample (vLLM's custom loader wants .jsonl, its ShareGPT loader JSON). */
export const DATASET_PATH = { custom: "/tmp/vllmapp-dataset.jsonl", sharegpt: "/tmp/vllmapp-dataset.json" } as const;

/** Random prompts of a fixed length, or the dataset sample as written (custom: each record's output_tokens, no chat template). */
function datasetArgs(req: BenchRequest): string[] {
  const d = req.dataset;
  if (!d)
    return [
      "--dataset-name",
      "random",
      "--random-input-len",
      String(req.inputLen),
      "--random-output-len",
      String(req.outputLen),
    ];
  return [
    "--dataset-name",
    d.format,
    "--dataset-path",
    DATASET_PATH[d.format],
    ...(d.format === "custom" ? ["--custom-output-len", "-1", "--skip-chat-template"] : []),
  ];
}

/**
 * The wrapper, run as `python3 -c WRAPPER CONFIG` (python3 is in every vLLM image). CONFIG is
 * {levels: [{label, args}], metrics: [url], counters: [name], dataset?: {path, data}} (data: a dataset
 * sample, gzipped, base64, written to path first). Only the standard library.
 */
export const WRAPPER = `import base64, json, subprocess, sys, time, urllib.request, zlib
cfg = json.loads(sys.argv[1])
if cfg.get("dataset"):
    with open(cfg["dataset"]["path"], "wb") as f:
        f.write(zlib.decompress(base64.b64decode(cfg["dataset"]["data"]), 47))
M = ${JSON.stringify(MARKER)}
def say(kind, value):
    print(M, kind, json.dumps(value), flush=True)
def scrape():
    total = {}
    for url in cfg["metrics"]:
        try:
            text = urllib.request.urlopen(url, timeout=10).read().decode()
        except Exception as e:
            say("metrics-error", {"url": url, "error": str(e)})
            return None
        for line in text.splitlines():
            if not line or line[0] == "#":
                continue
            name = line.split("{", 1)[0].split(" ", 1)[0]
            if name in cfg["counters"]:
                try:
                    total[name] = total.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
                except ValueError:
                    pass
    return total
say("begin", {"levels": len(cfg["levels"])})
for i, level in enumerate(cfg["levels"]):
    say("level", {"index": i, "label": level["label"]})
    before = scrape()
    started = time.time()
    name = "vllmapp-bench-%d.json" % i
    p = subprocess.run(["vllm", "bench", "serve"] + level["args"] + ["--save-result", "--result-dir", "/tmp", "--result-filename", name])
    seconds = time.time() - started
    after = scrape()
    if p.returncode != 0:
        say("failed", {"index": i, "exitCode": p.returncode})
        sys.exit(p.returncode)
    with open("/tmp/" + name) as f:
        result = json.load(f)
    for big in ("latencies", "queue_times", "ttfts", "itls", "input_lens", "output_lens", "start_times", "generated_texts", "errors"):
        result.pop(big, None)
    say("result", {"index": i, "result": result, "before": before, "after": after, "seconds": seconds})
say("end", {})
`;

export function wrapperConfig(
  ep: BenchEndpoint,
  req: BenchRequest,
  levels: readonly Level[],
  metricsUrls: readonly string[],
  counters: Counters = COUNTERS,
): string {
  return JSON.stringify({
    levels: levels.map((l) => ({ label: describeLevel(l), args: vllmBenchArgs(ep, req, l) })),
    ...(req.dataset ? { dataset: { path: DATASET_PATH[req.dataset.format], data: req.dataset.data } } : {}),
    metrics: metricsUrls,
    counters: Object.values(counters),
  });
}

/** One marker line of the wrapper's output, or undefined for vllm bench's own lines. */
export type MarkerEvent =
  | { kind: "begin"; levels: number }
  | { kind: "level"; index: number; label: string }
  | {
      kind: "result";
      index: number;
      result: Record<string, unknown>;
      before: Record<string, number> | null;
      after: Record<string, number> | null;
      seconds: number;
    }
  | { kind: "failed"; index: number; exitCode: number }
  | { kind: "metrics-error"; url: string; error: string }
  | { kind: "end" };

export function parseMarker(line: string): MarkerEvent | undefined {
  const at = line.indexOf(`${MARKER} `);
  if (at < 0) return undefined;
  const rest = line.slice(at + MARKER.length + 1);
  const sp = rest.indexOf(" ");
  const kind = sp < 0 ? rest : rest.slice(0, sp);
  try {
    const value = sp < 0 ? {} : (JSON.parse(rest.slice(sp + 1)) as Record<string, unknown>);
    return { kind, ...value } as MarkerEvent;
  } catch {
    return undefined;
  }
}

/** tqdm's "40%|████      | 16/40 [...]": requests done of the level's. */
export function parseProgress(line: string): { done: number; total: number } | undefined {
  const parts = line.split("\r").filter((p) => p.trim());
  for (const part of parts.reverse()) {
    const m = /\|\s*(\d+)\/(\d+) \[/.exec(part);
    if (m) return { done: Number(m[1]), total: Number(m[2]) };
  }
  return undefined;
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

function statsOf(r: Record<string, unknown>, metric: string, percentiles: readonly number[]): BenchStats {
  const out: BenchStats = { mean: num(r[`mean_${metric}_ms`]), median: num(r[`median_${metric}_ms`]) };
  // vLLM names them p50, p99, p99.9 (str(int(p)) for whole numbers)
  for (const p of percentiles) out[`p${p}`] = num(r[`p${p}_${metric}_ms`]);
  return out;
}

/** A level's result as vllmapp reports it, from vllm bench serve's result JSON and the /metrics counters around it. */
export function levelOf(
  level: Level,
  ev: Extract<MarkerEvent, { kind: "result" }>,
  req: BenchRequest,
  counters: Counters = COUNTERS,
): BenchLevel {
  const r = ev.result;
  const completed = num(r.completed) ?? 0;
  const reqs = num(r.request_throughput);
  const good = num(r.request_goodput);
  const hasSlo = req.slo.ttftMs !== undefined || req.slo.tpotMs !== undefined || req.slo.e2elMs !== undefined;
  const delta = (name: string) =>
    ev.before && ev.after ? Math.max(0, (ev.after[name] ?? 0) - (ev.before[name] ?? 0)) : null;
  const server =
    ev.before && ev.after
      ? {
          requests: delta(counters.requests)!,
          promptTokens: delta(counters.promptTokens)!,
          generationTokens: delta(counters.generationTokens)!,
          preemptions: delta(counters.preemptions)!,
          prefixCacheHitRate:
            delta(counters.prefixQueries)! > 0 ? delta(counters.prefixHits)! / delta(counters.prefixQueries)! : null,
        }
      : null;
  return {
    concurrency: level.concurrency,
    requestRate: level.requestRate,
    numPrompts: level.numPrompts,
    durationSeconds: num(r.duration),
    requests: { completed, failed: num(r.failed) ?? 0 },
    throughput: {
      requestsPerSecond: reqs,
      outputTokensPerSecond: num(r.output_throughput),
      totalTokensPerSecond: num(r.total_token_throughput),
    },
    ttftMs: statsOf(r, "ttft", req.percentiles),
    tpotMs: statsOf(r, "tpot", req.percentiles),
    itlMs: statsOf(r, "itl", req.percentiles),
    e2elMs: statsOf(r, "e2el", req.percentiles),
    goodput: hasSlo && good !== null ? { requestsPerSecond: good, fraction: reqs ? good / reqs : null } : null,
    server,
  };
}

/** How the Job gets a tokenizer: the model's own (a repo or a path the pod has), or copied from an object store first. */
export type TokenizerSource =
  | { kind: "as-is"; tokenizer: string }
  | { kind: "mount"; tokenizer: string; volume: V1Volume; mount: V1VolumeMount }
  | { kind: "copy"; image: string; args: string[]; env: V1EnvVar[] };

export interface BenchJobSpec {
  app: string;
  namespace: string;
  name: string;
  image: string;
  /** the server container's environment, secrets by reference, with the API key as OPENAI_API_KEY */
  env: V1EnvVar[];
  tokenizer: TokenizerSource;
  /** the wrapper's CONFIG */
  config: string;
  /** the Pod Security profile the pod is rendered for: the server's (restricted when it meets restricted) */
  profile?: SecurityProfile;
  /** the server's node pool: its nodeSelector, node affinity and tolerations (the client runs beside what it measures) */
  placement?: { nodeSelector?: Record<string, string>; affinity?: { nodeAffinity: unknown }; tolerations?: unknown[] };
}

export const BENCH_LABEL = "vllmapp.dev/bench";
const TOKENIZER_DIR = "/tokenizer";

/** The files a tokenizer needs, for the copy from an object store (no weights). */
export const TOKENIZER_FILES = ["*.json", "*.model", "*.txt", "*.tiktoken", "*.jinja", "*.py"].flatMap((g) => [
  "--include",
  g,
]);

/**
 * The benchmark Job: the app's image, next to the server (same namespace), no retries, gone an hour
 * after it ends. Its pods are labelled vllmapp.dev/bench, not vllmapp.dev/app, so the Service, the
 * PodMonitor and `vllmapp logs` never take them for a replica.
 */
export function renderBenchJob(spec: BenchJobSpec): K8sObject {
  const labels = {
    "app.kubernetes.io/name": spec.app,
    "app.kubernetes.io/component": "bench",
    "app.kubernetes.io/managed-by": "vllmapp",
    [BENCH_LABEL]: spec.app,
  };
  const volumes: V1Volume[] = [{ name: "tmp", emptyDir: {} }];
  const mounts: V1VolumeMount[] = [{ name: "tmp", mountPath: "/tmp" }];
  const initContainers: V1Container[] = [];
  const t = spec.tokenizer;
  if (t.kind === "mount") {
    volumes.push(t.volume);
    mounts.push(t.mount);
  } else if (t.kind === "copy") {
    volumes.push({ name: "tokenizer", emptyDir: {} });
    mounts.push({ name: "tokenizer", mountPath: TOKENIZER_DIR, readOnly: true });
    initContainers.push({
      name: "tokenizer",
      image: t.image,
      command: ["rclone"],
      args: t.args,
      env: t.env,
      volumeMounts: [{ name: "tokenizer", mountPath: TOKENIZER_DIR }],
      resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "1Gi" } },
    });
  }
  const job: V1Job = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: spec.name, namespace: spec.namespace, labels },
    spec: {
      backoffLimit: 0,
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          enableServiceLinks: false,
          automountServiceAccountToken: false,
          ...(initContainers.length ? { initContainers } : {}),
          ...(spec.placement?.nodeSelector ? { nodeSelector: spec.placement.nodeSelector } : {}),
          ...(spec.placement?.affinity ? { affinity: spec.placement.affinity as never } : {}),
          ...(spec.placement?.tolerations ? { tolerations: spec.placement.tolerations as never } : {}),
          containers: [
            {
              name: "bench",
              image: spec.image,
              command: ["python3", "-c", WRAPPER, spec.config],
              env: [
                ...spec.env,
                { name: "HF_HOME", value: "/tmp/huggingface" },
                { name: "PYTHONUNBUFFERED", value: "1" },
              ],
              resources: { requests: { cpu: "1", memory: "2Gi" }, limits: { memory: "8Gi" } },
              volumeMounts: mounts,
            },
          ],
          volumes,
        },
      },
    },
  };
  securePod(job.spec!.template.spec!, spec.profile ?? "restricted");
  return job as unknown as K8sObject;
}

/** The tokenizer a copy lands in, inside the benchmark's container. */
export const COPIED_TOKENIZER = TOKENIZER_DIR;

/** Reads the wrapper's output line by line (either stream, any target): progress, results, failures. Pure. */
export class BenchOutput {
  readonly levels: BenchLevel[] = [];
  readonly warnings: string[] = [];
  /** the last lines that were not markers (vllm bench serve's own), for an error */
  readonly tail: string[] = [];
  current: { index: number; label: string } | undefined;
  progress: { done: number; total: number } | undefined;
  failed: { index: number; exitCode: number } | undefined;
  ended = false;

  constructor(
    private readonly plan: readonly Level[],
    private readonly req: BenchRequest,
    /** the series names of the image's release (countersFor) */
    private readonly counters: Counters = COUNTERS,
  ) {}

  /** One line (tqdm's \r updates inside it are fine); what changed, if anything. */
  feed(line: string): "level" | "progress" | "result" | "failed" | undefined {
    const ev = parseMarker(line);
    if (!ev) {
      const p = parseProgress(line);
      const text = line
        .split("\r")
        .filter((x) => x.trim())
        .at(-1)
        ?.trim();
      if (text) {
        this.tail.push(text);
        if (this.tail.length > 15) this.tail.shift();
      }
      if (p && this.current) {
        this.progress = p;
        return "progress";
      }
      return undefined;
    }
    switch (ev.kind) {
      case "level":
        this.current = { index: ev.index, label: ev.label };
        this.progress = undefined;
        return "level";
      case "result": {
        const level = this.plan[ev.index];
        if (level) this.levels.push(levelOf(level, ev, this.req, this.counters));
        return "result";
      }
      case "failed":
        this.failed = { index: ev.index, exitCode: ev.exitCode };
        return "failed";
      case "metrics-error":
        if (!this.warnings.length)
          this.warnings.push(
            `the server's /metrics could not be read (${ev.url}: ${ev.error}); the levels have no server counters`,
          );
        return undefined;
      case "end":
        this.ended = true;
        return undefined;
      default:
        return undefined;
    }
  }

  /** "concurrency 4 (2/3): 12/40 requests" */
  describe(): string {
    if (!this.current) return "starting vllm bench serve";
    const n = `${this.current.index + 1}/${this.plan.length}`;
    return `${this.current.label} (${n})${this.progress ? `: ${this.progress.done}/${this.progress.total} requests` : ""}`;
  }
}

/**
 * Feeds lines to `out` and shows its progress when it changes: per request on a terminal, once per
 * level without one (a CI log gets a line per level, not per request).
 */
export function feedWithProgress(
  out: BenchOutput,
  interactive: boolean,
  show: (progress: string) => void,
): (line: string) => void {
  let lastKey = "";
  return (line) => {
    if (!out.feed(line)) return;
    const key = interactive ? out.describe() : `${out.current?.index}`;
    if (key !== lastKey) show(out.describe());
    lastKey = key;
  };
}
