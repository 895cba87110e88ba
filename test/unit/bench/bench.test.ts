/**
 * vllmapp bench, the pure parts: the levels a request runs, the `vllm bench serve` argv, the flags,
 * the wrapper's REAL output (test/fixtures/vllm-0.32/bench-wrapper.cri.log: the wrapper run in the real
 * vLLM 0.32 image against the tiny model, stdout and stderr as a pod's log) read back into levels, the
 * Kubernetes Job (tokenizer from the Hub, an object store, a PVC), and the table.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import {
  BenchOutput,
  countersFor,
  feedWithProgress,
  parseProgress,
  planLevels,
  renderBenchJob,
  vllmBenchArgs,
  WRAPPER,
  wrapperConfig,
} from "../../../src/bench/bench.ts";
import { metricsCatalog } from "../../../src/vllm/metrics.ts";
import { benchFailure, benchJobName, benchJobSpec, tokenizerFor } from "../../../src/cluster/bench.ts";
import { benchOptionsSchema, formatBench } from "../../../src/commands/bench.ts";
import { parseOptions } from "../../../src/commands/options.ts";
import { AppFailedError, InterruptedError, ReadinessTimeoutError, UsageError } from "../../../src/errors.ts";
import type { BenchRequest } from "../../../src/target.ts";
import { ROOT } from "../../support/cli.ts";

const req = (o: Partial<BenchRequest> = {}): BenchRequest => ({
  concurrency: [1, 4, 16],
  requestRates: [],
  inputLen: 256,
  outputLen: 128,
  percentiles: [50, 90, 99],
  slo: {},
  seed: 0,
  timeoutSeconds: 1800,
  keep: false,
  ...o,
});
const opts = (raw: Record<string, unknown>) => parseOptions(benchOptionsSchema, raw);

test("the levels: a concurrency sweep by default, or request rates capped by one concurrency", () => {
  assert.deepEqual(planLevels(req()), [
    { concurrency: 1, requestRate: null, numPrompts: 8, seed: 0 },
    { concurrency: 4, requestRate: null, numPrompts: 16, seed: 1 },
    { concurrency: 16, requestRate: null, numPrompts: 64, seed: 2 },
  ]);
  assert.deepEqual(planLevels(req({ concurrency: [32], requestRates: [0.5, 4], numPrompts: 20 })), [
    { concurrency: 32, requestRate: 0.5, numPrompts: 20, seed: 0 },
    { concurrency: 32, requestRate: 4, numPrompts: 20, seed: 1 },
  ]);
});

test("vllm bench serve's flags: random dataset, streamed completions, percentiles, goodput", () => {
  const r = req({ slo: { ttftMs: 500, tpotMs: 50 } });
  assert.deepEqual(
    vllmBenchArgs(
      { baseUrl: "http://qwen3.ns.svc.cluster.local:8000", model: "qwen3-0.6b", tokenizer: "Qwen/Qwen3-0.6B" },
      r,
      planLevels(r)[1]!,
    ),
    [
      "--backend",
      "openai",
      "--base-url",
      "http://qwen3.ns.svc.cluster.local:8000",
      "--endpoint",
      "/v1/completions",
      "--model",
      "qwen3-0.6b",
      "--tokenizer",
      "Qwen/Qwen3-0.6B",
      "--dataset-name",
      "random",
      "--random-input-len",
      "256",
      "--random-output-len",
      "128",
      "--num-prompts",
      "16",
      "--seed",
      "1",
      "--percentile-metrics",
      "ttft,tpot,itl,e2el",
      "--metric-percentiles",
      "50,90,99",
      "--max-concurrency",
      "4",
      "--goodput",
      "ttft:500",
      "tpot:50",
    ],
  );
});

test("flags: lists, an SLO with units, conflicts and nonsense are usage errors", () => {
  const o = opts({ concurrency: "1,8", slo: "ttft=0.5s,itl=50ms,e2el=2s", inputLen: "1024", percentiles: "50,99.9" });
  assert.deepEqual(o.req.concurrency, [1, 8]);
  assert.deepEqual(o.req.slo, { ttftMs: 500, tpotMs: 50, e2elMs: 2000 });
  assert.deepEqual(o.req.percentiles, [50, 99.9]);
  assert.equal(o.req.inputLen, 1024);
  assert.deepEqual(opts({ requestRate: "2,4" }).req, req({ concurrency: [], requestRates: [2, 4] }));
  assert.throws(() => opts({ concurrency: "1,x" }), /--concurrency 1,x: expected whole numbers above 0/);
  assert.throws(
    () => opts({ concurrency: "1,4", requestRate: "2" }),
    (e: unknown) => e instanceof UsageError && /sweep one of them/.test(e.message),
  );
  assert.throws(() => opts({ slo: "latency=1s" }), /the SLO keys are ttft, itl/);
  assert.throws(() => opts({ slo: "ttft=soon" }), /--slo ttft=soon: not a duration/);
});

/** The recorded log, as the pod log API serves it (no CRI prefix). */
const recorded = () =>
  readFileSync(path.join(ROOT, "test", "fixtures", "vllm-0.32", "bench-wrapper.cri.log"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => l.replace(/^\S+ (stdout|stderr) [FP] /, ""));

test("the real wrapper's output reads back into levels: TTFT, ITL, throughput, goodput, the server's counters", () => {
  // recorded with --concurrency 1,4 --num-prompts 8 --input-len 64 --output-len 32 --slo ttft=500ms,itl=50ms
  const r = req({ concurrency: [1, 4], numPrompts: 8, inputLen: 64, outputLen: 32, slo: { ttftMs: 500, tpotMs: 50 } });
  const out = new BenchOutput(planLevels(r), r);
  const seen: string[] = [];
  for (const line of recorded()) if (out.feed(line) === "level") seen.push(out.describe());
  assert.deepEqual(seen, ["concurrency 1 (1/2)", "concurrency 4 (2/2)"]);
  assert.equal(out.ended, true);
  assert.equal(out.failed, undefined);
  assert.equal(out.levels.length, 2);
  for (const [i, l] of out.levels.entries()) {
    assert.equal(l.concurrency, [1, 4][i]);
    assert.deepEqual(l.requests, { completed: 8, failed: 0 });
    for (const s of [l.ttftMs, l.itlMs, l.tpotMs, l.e2elMs])
      for (const k of ["mean", "median", "p50", "p90", "p99"] as const) assert.equal(typeof s[k], "number", k);
    assert.ok(
      l.throughput.requestsPerSecond! > 0 &&
        l.throughput.outputTokensPerSecond! > 0 &&
        l.throughput.totalTokensPerSecond! > 0,
    );
    assert.ok(l.goodput && l.goodput.requestsPerSecond > 0 && l.goodput.fraction! > 0 && l.goodput.fraction! <= 1);
    assert.ok(l.server, "the /metrics counters were read before and after");
    assert.ok(l.server.requests >= 8, `${l.server.requests} requests`);
    assert.equal(l.server.generationTokens >= 8 * 32, true);
    assert.equal(l.server.preemptions, 0);
  }
  assert.deepEqual(
    parseProgress("\r  0%|          | 0/8 [00:00<?, ?it/s]\r 62%|██████▎   | 5/8 [00:00<00:00, 17.30it/s]"),
    { done: 5, total: 8 },
  );
});

test("a level that fails stops with its exit code; the last lines of vllm bench's output are kept", () => {
  const r = req({ concurrency: [1] });
  const out = new BenchOutput(planLevels(r), r);
  for (const l of [
    '@@vllmapp-bench begin {"levels": 1}',
    '@@vllmapp-bench level {"index": 0, "label": "concurrency 1"}',
    "OSError: vllmapp-test/missing is not a local folder",
    '@@vllmapp-bench failed {"index": 0, "exitCode": 1}',
  ])
    out.feed(l);
  assert.deepEqual(out.failed, { index: 0, exitCode: 1 });
  assert.equal(out.ended, false);
  assert.deepEqual(out.tail, ["OSError: vllmapp-test/missing is not a local folder"]);
});

const DEP = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: {
    name: "qwen3",
    namespace: "ns",
    labels: { "vllmapp.dev/app": "qwen3" },
    annotations: { "vllmapp.dev/model-uri": "Qwen/Qwen3-0.6B", "vllmapp.dev/model-id": "qwen3-0.6b" },
  },
  spec: {
    template: {
      spec: {
        containers: [
          {
            name: "vllm",
            image: "vllm/vllm-openai:v0.19.0",
            args: ["Qwen/Qwen3-0.6B", "--served-model-name", "qwen3-0.6b", "--port", "8000"],
            ports: [{ name: "http", containerPort: 8000 }],
            env: [
              { name: "HF_HOME", value: "/cache/huggingface" },
              { name: "HF_ENDPOINT", value: "http://hub.internal" },
              { name: "HF_TOKEN", valueFrom: { secretKeyRef: { name: "qwen3-secrets", key: "HF_TOKEN" } } },
              { name: "VLLM_API_KEY", valueFrom: { secretKeyRef: { name: "qwen3-api-key", key: "VLLM_API_KEY" } } },
            ],
            volumeMounts: [{ name: "cache", mountPath: "/cache" }],
          },
        ],
        volumes: [{ name: "cache", emptyDir: {} }],
      },
    },
  },
};
const SVC = {
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "qwen3", namespace: "ns" },
  spec: { ports: [{ name: "http", port: 8000 }] },
};
const POD = { apiVersion: "v1", kind: "Pod", metadata: { name: "qwen3-abc" }, status: { podIP: "198.19.0.77" } };

test("the Job: the server's image and environment, the API key by secretKeyRef, pods labelled as a bench, never a replica", () => {
  const r = req({ concurrency: [2] });
  const { spec, baseUrl, model } = benchJobSpec(
    DEP as any,
    SVC as any,
    [POD as any],
    r,
    benchJobName("qwen3", new Date("2026-12-01T10:20:30Z"), "a1b2c3"),
  );
  assert.equal(spec.name, "qwen3-bench-261201102030-a1b2c3");
  assert.equal(baseUrl, "http://qwen3.ns.svc.cluster.local:8000");
  assert.equal(model, "qwen3-0.6b");
  const job = renderBenchJob(spec) as any;
  assert.equal(job.metadata.namespace, "ns");
  assert.deepEqual(job.spec.template.metadata.labels, {
    "app.kubernetes.io/name": "qwen3",
    "app.kubernetes.io/component": "bench",
    "app.kubernetes.io/managed-by": "vllmapp",
    "vllmapp.dev/bench": "qwen3",
  });
  assert.equal(
    job.spec.template.metadata.labels["vllmapp.dev/app"],
    undefined,
    "the Service selects vllmapp.dev/app: a bench pod must not carry it",
  );
  assert.equal(job.spec.backoffLimit, 0);
  assert.equal(job.spec.template.spec.restartPolicy, "Never");
  const c = job.spec.template.spec.containers[0];
  assert.equal(c.image, "vllm/vllm-openai:v0.19.0", "no new image: the server's own");
  assert.deepEqual(c.command.slice(0, 3), ["python3", "-c", WRAPPER]);
  const config = JSON.parse(c.command[3]);
  assert.deepEqual(config.metrics, ["http://198.19.0.77:8000/metrics"]);
  assert.deepEqual(config.levels[0].args.slice(0, 10), [
    "--backend",
    "openai",
    "--base-url",
    "http://qwen3.ns.svc.cluster.local:8000",
    "--endpoint",
    "/v1/completions",
    "--model",
    "qwen3-0.6b",
    "--tokenizer",
    "Qwen/Qwen3-0.6B",
  ]);
  const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
  assert.deepEqual(env.OPENAI_API_KEY, { secretKeyRef: { name: "qwen3-api-key", key: "VLLM_API_KEY" } });
  assert.deepEqual(env.HF_TOKEN, { secretKeyRef: { name: "qwen3-secrets", key: "HF_TOKEN" } });
  assert.equal(env.HF_ENDPOINT, "http://hub.internal");
  assert.equal(env.HF_HOME, "/tmp/huggingface", "not the server's cache volume, which the Job does not mount");
  assert.equal(env.VLLM_API_KEY, undefined);
  assert.ok(!JSON.stringify(job).includes('"value":"sk-'), "no secret value anywhere");
});

test("the tokenizer: from the Hub as is, copied out of an object store, or the server's PVC mounted read-only", () => {
  assert.deepEqual(tokenizerFor(DEP as any, DEP.spec.template.spec.containers[0]), {
    kind: "as-is",
    tokenizer: "Qwen/Qwen3-0.6B",
  });
  const s3 = structuredClone(DEP) as any;
  s3.metadata.annotations["vllmapp.dev/model-uri"] = "s3://models/qwen3";
  s3.spec.template.spec.containers[0].args[0] = "s3://models/qwen3";
  s3.spec.template.spec.containers[0].env.push(
    { name: "AWS_ENDPOINT_URL", value: "http://minio:9000" },
    { name: "AWS_SECRET_ACCESS_KEY", valueFrom: { secretKeyRef: { name: "s3", key: "secret" } } },
  );
  const copy = tokenizerFor(s3, s3.spec.template.spec.containers[0]) as any;
  assert.equal(copy.kind, "copy");
  assert.deepEqual(copy.args.slice(0, 5), [
    "copy",
    ":s3:models/qwen3",
    "--s3-env-auth",
    "--s3-provider=Other",
    "/tokenizer",
  ]);
  assert.ok(copy.args.includes("--max-depth") && copy.args.includes("*.json"), "tokenizer files only, no weights");
  assert.deepEqual(
    copy.env.map((e: any) => e.name),
    ["AWS_ENDPOINT_URL", "AWS_SECRET_ACCESS_KEY", "RCLONE_S3_ENDPOINT"],
  );
  const job = renderBenchJob({ ...benchJobSpec(s3, SVC as any, [], req(), "x").spec }) as any;
  assert.equal(job.spec.template.spec.initContainers[0].image, "rclone/rclone:1.71.1");
  assert.ok(JSON.parse(job.spec.template.spec.containers[0].command[3]).levels[0].args.includes("/tokenizer"));
  const pvc = structuredClone(DEP) as any;
  pvc.spec.template.spec.containers[0].args[0] = "/mnt/model/qwen3";
  pvc.spec.template.spec.containers[0].volumeMounts.push({ name: "model", mountPath: "/mnt/model", readOnly: true });
  pvc.spec.template.spec.volumes.push({ name: "model", persistentVolumeClaim: { claimName: "weights" } });
  pvc.metadata.annotations["vllmapp.dev/model-uri"] = "pvc://weights/qwen3";
  assert.deepEqual(tokenizerFor(pvc, pvc.spec.template.spec.containers[0]), {
    kind: "mount",
    tokenizer: "/mnt/model/qwen3",
    volume: { name: "model", persistentVolumeClaim: { claimName: "weights", readOnly: true } },
    mount: { name: "model", mountPath: "/mnt/model", readOnly: true },
  });
});

test("the table: one row per level, p50/p99 pairs, goodput with its SLO, the server's counters", () => {
  const r = req({ concurrency: [1, 4], numPrompts: 8, inputLen: 64, outputLen: 32, slo: { ttftMs: 500, tpotMs: 50 } });
  const out = new BenchOutput(planLevels(r), r);
  for (const line of recorded()) out.feed(line);
  const text = formatBench({
    app: "tiny",
    namespace: null,
    target: "docker",
    endpoint: "http://127.0.0.1:18517",
    model: "tiny",
    image: "vllmapp-vllm-cpu:0.32.0",
    tool: { name: "vllm bench serve", ranIn: "container x" },
    workload: { dataset: "random", inputLen: 64, outputLen: 32, seed: 0, percentiles: [50, 90, 99], slo: r.slo },
    levels: out.levels,
  });
  assert.match(
    text,
    /^CONC +OK\/FAIL +REQ\/S +OUT TOK\/S +TTFT p50\/p99 ms +ITL p50\/p99 ms +TPOT p50\/p99 ms +E2E p99 ms +GOODPUT$/m,
  );
  assert.match(text, /^1 +8\/0 +[\d.]+ +[\d.]+ +[\d.]+ \/ [\d.]+ .* \d+%$/m);
  assert.match(text, /^4 +8\/0 /m);
  assert.match(text, /^goodput = share of requests with TTFT ≤ 500 ms and mean ITL \(TPOT\) ≤ 50 ms$/m);
  assert.match(text, /^LEVEL +REQUESTS +PROMPT TOKENS +GENERATED TOKENS +PREEMPTIONS +PREFIX CACHE HITS$/m);
});

test("warm-up requests before each level, when asked (tune's trials start from a fresh server): --num-warmups", () => {
  const r = req({ requestRates: [2], concurrency: [], warmups: 2 });
  const args = vllmBenchArgs({ baseUrl: "http://127.0.0.1:8000", model: "m", tokenizer: "/m" }, r, planLevels(r)[0]!);
  assert.deepEqual(args.slice(args.indexOf("--request-rate")), ["--request-rate", "2", "--num-warmups", "2"]);
  assert.equal(
    vllmBenchArgs(
      { baseUrl: "http://127.0.0.1:8000", model: "m", tokenizer: "/m" },
      req(),
      planLevels(req())[0]!,
    ).includes("--num-warmups"),
    false,
  );
});

test("the progress shown: once per level without a terminal, on every change of the request count on one", () => {
  const r = req({ concurrency: [1, 4], numPrompts: 8, inputLen: 64, outputLen: 32 });
  const shown = (interactive: boolean) => {
    const lines: string[] = [];
    const feed = feedWithProgress(new BenchOutput(planLevels(r), r), interactive, (p) => lines.push(p));
    for (const line of recorded()) feed(line);
    return lines;
  };
  assert.deepEqual(shown(false), ["concurrency 1 (1/2)", "concurrency 4 (2/2)"]);
  assert.deepEqual(shown(true), [
    "concurrency 1 (1/2)",
    "concurrency 1 (1/2): 8/8 requests",
    "concurrency 4 (2/2)",
    "concurrency 4 (2/2): 8/8 requests",
  ]);
});

test("the metrics scraped: each ready pod's IP (an IPv6 one in brackets), the Service's when none has one", () => {
  const pods = [POD, { ...POD, status: { podIP: "fd00::5" } }, { ...POD, status: {} }];
  const metrics = (ps: unknown[]) =>
    JSON.parse(benchJobSpec(DEP as never, SVC as never, ps as never, req(), "j").spec.config).metrics;
  assert.deepEqual(metrics(pods), ["http://198.19.0.77:8000/metrics", "http://[fd00::5]:8000/metrics"]);
  assert.deepEqual(metrics([{ ...POD, status: {} }]), ["http://qwen3.ns.svc.cluster.local:8000/metrics"]);
});

test("how a Kubernetes benchmark run that did not end well reads: Ctrl-C, out of time, failed; nothing when it ended well", () => {
  const r = req({ concurrency: [1, 4], numPrompts: 8, inputLen: 64, outputLen: 32 });
  const job = { app: "qwen3", namespace: "ns", name: "qwen3-bench-1" };
  const fresh = new BenchOutput(planLevels(r), r);
  const interrupted = benchFailure(job, fresh, "interrupted", undefined, 600);
  assert.ok(interrupted instanceof InterruptedError);
  assert.equal(
    interrupted.message,
    "interrupted: stopped reading the benchmark of qwen3; Job qwen3-bench-1 goes on (kubectl delete job -n ns qwen3-bench-1)",
  );
  const late = benchFailure(job, fresh, "timeout", undefined, 600);
  assert.ok(late instanceof ReadinessTimeoutError);
  assert.equal(late.message, "the benchmark of qwen3 did not finish within 10m (at starting vllm bench serve)");
  assert.equal(late.hint, "the Job stays for an hour for a look: kubectl logs -n ns job/qwen3-bench-1");
  const silent = benchFailure(job, fresh, undefined, 1, 600);
  assert.ok(silent instanceof AppFailedError);
  assert.equal(silent.message, "the benchmark of qwen3 failed (Job qwen3-bench-1, exit code 1); it printed no results");
  const done = new BenchOutput(planLevels(r), r);
  for (const line of recorded()) done.feed(line);
  assert.equal(benchFailure(job, done, undefined, 0, 600), undefined);
  assert.match(
    benchFailure(job, done, undefined, undefined, 600)?.message ?? "",
    /^the benchmark of qwen3 failed \(Job qwen3-bench-1, exit code \?\)\n {2}last log lines:\n {4}P90 TPOT/,
  );
});

test("bench reads /metrics under the names the image's vLLM release serves, for every release in metrics.json", () => {
  const cat = metricsCatalog();
  assert.ok(cat.releases.length >= 10, "the metrics catalog lists the scanned releases");
  for (const release of cat.releases) {
    const counters = countersFor(`vllm/vllm-openai:v${release}`);
    for (const [key, series] of Object.entries(counters)) {
      const fam = cat.families[series.replace(/_total$/, "")];
      assert.ok(fam, `${release}: ${series} is in metrics.json`);
      assert.ok(
        fam.releases.includes(release),
        `${release}: ${key} is read as ${series}, which vLLM ${release} defines`,
      );
      assert.ok(!fam.hidden_in.includes(release), `${release}: ${series} is served without --show-hidden-metrics`);
    }
    // the wrapper scrapes exactly those names
    const config = JSON.parse(
      wrapperConfig({ baseUrl: "http://x", model: "m", tokenizer: "t" }, req(), [], [], counters),
    );
    assert.deepEqual(config.counters, Object.values(counters));
  }
  // an image whose release is not known: the newest names
  assert.equal(countersFor("registry.example/custom:latest").prefixQueries, "vllm:prefix_cache_queries_total");
});

test("a level's server counters are read under the names bench was given (an older release's), not the newest", () => {
  const r = req({ concurrency: [1] });
  const counters = {
    ...countersFor(undefined),
    prefixQueries: "vllm:gpu_prefix_cache_queries_total",
    prefixHits: "vllm:gpu_prefix_cache_hits_total",
  };
  const out = new BenchOutput(planLevels(r), r, counters);
  const snapshot = (q: number, h: number) => ({
    "vllm:request_success_total": q / 10,
    "vllm:prompt_tokens_total": q,
    "vllm:generation_tokens_total": q / 2,
    "vllm:num_preemptions_total": 0,
    "vllm:gpu_prefix_cache_queries_total": q,
    "vllm:gpu_prefix_cache_hits_total": h,
  });
  const ev = {
    index: 0,
    result: { completed: 4, duration: 2 },
    before: snapshot(100, 20),
    after: snapshot(300, 120),
    seconds: 2,
  };
  assert.equal(out.feed(`@@vllmapp-bench result ${JSON.stringify(ev)}`), "result");
  assert.equal(out.levels[0]!.server?.prefixCacheHitRate, 0.5);
  assert.equal(out.levels[0]!.server?.requests, 20);
});
