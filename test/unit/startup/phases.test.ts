/**
 * The start-up phase classifier on REAL vLLM 0.32.0 logs (test/fixtures/vllm-0.32/: `docker logs -t` of
 * `deploy --local` of the test bed's tiny model on the real CPU image, from a host folder and through the
 * Hub replay), and on lines the CPU build never prints (GPU weights, torch.compile, CUDA graphs, the
 * Run:ai streamer), written as vLLM 0.32's source formats them. Plus the Kubernetes side: a pod's pull
 * events, its download init container and its Ready condition.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import {
  classifyLine,
  describeCurrent,
  describePhases,
  splitTimestamp,
  StartupTracker,
} from "../../../src/startup/phases.ts";
import { startupOf } from "../../../src/cluster/startup.ts";
import { ROOT } from "../../support/cli.ts";

const fixture = (name: string) =>
  readFileSync(path.join(ROOT, "test", "fixtures", "vllm-0.32", name), "utf8")
    .split("\n")
    .filter(Boolean);

/** The fixture through a tracker, the container having started `lead` ms before its first line. */
function replay(name: string, lead = 9000) {
  const lines = fixture(name);
  const first = splitTimestamp(lines[0]!)![0];
  const tracker = new StartupTracker(first - lead);
  const seen: string[] = [];
  for (const l of lines) {
    tracker.rawLine(l, 0);
    const r = tracker.report(splitTimestamp(l)![0]);
    if (seen.at(-1) !== r.phase) seen.push(r.phase);
  }
  return { tracker, seen };
}

test("a real start from a host folder: starting, loading (with the weights' time), initializing, ready", () => {
  const { tracker, seen } = replay("startup-local-folder.log");
  assert.deepEqual(seen, ["starting", "loading", "initializing", "ready"]);
  const r = tracker.report(Date.now());
  assert.equal(r.phase, "ready");
  assert.equal(r.progress, null);
  assert.deepEqual(
    r.phases.map((p) => p.phase),
    ["starting", "loading", "initializing", "ready"],
  );
  // 09:11:22.3 (9 s before the first line) → "Starting to load model" 09:11:50.116 → "Loading weights took" 09:11:50.295 → "Application startup complete." 09:11:54.991
  assert.deepEqual(
    r.phases.map((p) => p.seconds),
    [27.8, 0.2, 4.7, 0],
  );
  assert.equal(r.phases[1]!.detail, "weights in 0.04 s");
  assert.equal(r.elapsedSeconds, 32.7);
  assert.equal(
    describePhases(r),
    "starting 27.8 s, loading 0.2 s (weights in 0.04 s), initializing 4.7 s, ready at 32.7 s",
  );
});

test("a real start through the Hub: the download shows as files fetched; the late config fetch does not go back", () => {
  const { tracker, seen } = replay("startup-hf-download.log");
  // the tiny model's six files arrive within one line's 0 % and 100 % updates
  assert.deepEqual(seen, ["starting", "loading", "initializing", "ready"]);
  const r = tracker.report(Date.now());
  assert.deepEqual(
    r.phases.map((p) => p.phase),
    ["starting", "downloading", "loading", "initializing", "ready"],
  );
  assert.equal(r.phases[1]!.detail, "6 files");
  // vLLM fetches the repo's files again after "init engine … took": that is not a second download
  assert.equal(r.phases.filter((p) => p.phase === "downloading").length, 1);
});

test("mid-start, the current phase and its progress, from the real lines", () => {
  const lines = fixture("startup-hf-download.log");
  const fetching = lines.find((l) => l.includes("Fetching 6 files"))!;
  const ev = classifyLine(splitTimestamp(fetching)![1])!;
  assert.deepEqual(ev, { phase: "downloading", progress: "6/6 files", then: "starting", detail: "6 files" });
  const shard = lines.find((l) => l.includes("Loading safetensors checkpoint shards:   0%"))!;
  assert.deepEqual(classifyLine(splitTimestamp(shard)![1]), { phase: "loading", progress: "0/1 shards" });
  const t = new StartupTracker(0);
  t.line(splitTimestamp(lines.find((l) => l.includes("Starting to load model"))!)![1], 10_000);
  t.line(splitTimestamp(shard)![1], 11_000);
  const r = t.report(22_400);
  assert.equal(r.phase, "loading");
  assert.equal(describeCurrent(r), "loading 0/1 shards (12 s)");
  assert.equal(describeCurrent(r, 30), "loading 0/1 shards (0 s)");
});

test("GPU, compile, CUDA graph and streamer lines as vLLM 0.32's source formats them", () => {
  const cases: [string, object][] = [
    [
      "(EngineCore_DP0 pid=312) INFO 12-01 10:00:41 [gpu_model_runner.py:5150] Model loading took 15.27 GiB memory and 41.358113 seconds",
      { phase: "loading", then: "initializing", detail: "15.27 GiB in 41.4 s" },
    ],
    [
      "(EngineCore_DP0 pid=312) INFO 12-01 10:00:52 [backends.py:1167] Dynamo bytecode transform time: 9.87 s",
      { phase: "compiling" },
    ],
    [
      "(EngineCore_DP0 pid=312) INFO 12-01 10:01:10 [backends.py:399] Compiling a graph for compile range (1, 8192) takes 17.02 s",
      { phase: "compiling" },
    ],
    [
      "(EngineCore_DP0 pid=312) INFO 12-01 10:01:10 [backends.py:296] Directly load the compiled graph(s) for compile range (1, 8192) from the cache, took 2.415 s",
      { phase: "compiling", detail: "from the compile cache in 2.415 s" },
    ],
    [
      "(EngineCore_DP0 pid=312) INFO 12-01 10:01:12 [monitor.py:34] torch.compile and initial profiling/warmup run together took 29.61 s in total",
      { phase: "compiling", then: "initializing", detail: "torch.compile 29.61 s" },
    ],
    [
      "(EngineCore_DP0 pid=312) INFO 12-01 10:01:14 [gpu_worker.py:760] Available KV cache memory: 52.1 GiB",
      { phase: "initializing" },
    ],
    [
      "\rCapturing CUDA graphs (mixed prefill-decode, PIECEWISE):  45%|████▍     | 30/67 [00:02<00:02, 14.2it/s]",
      { phase: "capturing", progress: "30/67 graphs" },
    ],
    [
      "(EngineCore_DP0 pid=312) INFO 12-01 10:01:20 [gpu_model_runner.py:6582] Graph capturing finished in 7 secs, took 0.55 GiB",
      { phase: "capturing", then: "initializing", detail: "CUDA graphs in 7 s" },
    ],
    [
      "Loading safetensors using Runai Model Streamer:  40% Completed | 116/291 [00:04<00:06, 28.1it/s]",
      { phase: "loading", progress: "116/291 tensors streamed" },
    ],
    [
      "model-00002-of-00004.safetensors:  45%|████▌     | 2.23G/4.98G [00:10<00:12, 215MB/s]",
      { phase: "downloading", progress: "2.23G of 4.98G (model-00002-of-00004.safetensors)" },
    ],
    [
      "2026/12/01 10:00:30 INFO  : Transferred:   \t    1.234 GiB / 4.567 GiB, 27%, 50.123 MiB/s, ETA 1m6s",
      { phase: "downloading", progress: "1.234 GiB of 4.567 GiB (27%)" },
    ],
    ["INFO:     Application startup complete.", { phase: "ready" }],
  ];
  for (const [line, want] of cases) assert.deepEqual(classifyLine(line), want, line);
  assert.equal(classifyLine('INFO:     198.18.0.1:44580 - "GET /health HTTP/1.1" 200 OK'), undefined);
  // a whole GPU start: compile and graphs between the weights and ready
  const t = new StartupTracker(0);
  for (const [i, [line]] of cases.slice(0, 8).entries()) t.line(line, (i + 1) * 10_000);
  t.line("INFO:     Application startup complete.", 100_000);
  const r = t.report(200_000);
  assert.deepEqual(
    r.phases.map((p) => `${p.phase} ${p.seconds}`),
    ["starting 10", "loading 0", "initializing 50", "compiling 30", "capturing 10", "ready 0"],
  );
  assert.equal(r.phase, "ready");
});

test("on Kubernetes: the pull from events, the download init container, the server's lines, Ready from the condition", () => {
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "qwen3-abc", namespace: "ns", uid: "u1" },
    status: {
      initContainerStatuses: [
        {
          name: "model-download",
          state: { terminated: { startedAt: "2026-12-01T10:00:20Z", finishedAt: "2026-12-01T10:01:20Z", exitCode: 0 } },
        },
      ],
      containerStatuses: [{ name: "vllm", ready: false, state: { running: { startedAt: "2026-12-01T10:01:21Z" } } }],
      conditions: [{ type: "Ready", status: "False" }],
    },
  };
  const events = [
    {
      involvedObject: { kind: "Pod", name: "qwen3-abc", uid: "u1", fieldPath: "spec.containers{vllm}" },
      reason: "Pulling",
      message: 'Pulling image "vllm/vllm-openai:v0.19.0"',
      firstTimestamp: "2026-12-01T10:00:00Z",
    },
  ];
  const logs = [
    {
      container: "model-download",
      raw: "2026-12-01T10:00:50.000000000Z 2026/12/01 10:00:50 INFO  : Transferred:   \t    2.000 GiB / 4.000 GiB, 50%, 70 MiB/s, ETA 30s",
    },
    {
      container: "vllm",
      raw: "2026-12-01T10:01:40.000000000Z (EngineCore_DP0 pid=30) INFO 12-01 10:01:40 [gpu_model_runner.py:5040] Starting to load model /cache/models/qwen3...",
    },
  ];
  const at = Date.parse("2026-12-01T10:01:52Z");
  const r = startupOf(pod as any, events, logs, at)!;
  assert.equal(r.phase, "loading");
  assert.deepEqual(
    r.phases.map((p) => `${p.phase} ${p.seconds}`),
    ["pulling 20", "downloading 61", "starting 19", "loading 12"],
  );
  assert.equal(describeCurrent(r), "loading (12 s)");
  const ready = {
    ...pod,
    status: {
      ...pod.status,
      containerStatuses: [{ ...pod.status.containerStatuses[0], ready: true }],
      conditions: [{ type: "Ready", status: "True", lastTransitionTime: "2026-12-01T10:02:30Z" }],
    },
  };
  const done = startupOf(ready as any, events, logs, at + 600_000)!;
  assert.equal(done.phase, "ready");
  assert.equal(done.elapsedSeconds, 150);
  assert.match(
    describePhases(done),
    /^pulling 20\.0 s, downloading 61\.0 s, starting 19\.0 s, loading 50\.0 s, ready at 150\.0 s$/,
  );
  assert.equal(startupOf({ ...pod, status: {} } as any, [], [], at), undefined, "nothing started, nothing to say");
});

test("a line stamped a few ms before the engine's recorded start is this start's; one from seconds before is an earlier container's", () => {
  const started = Date.parse("2026-12-01T13:31:41.605Z");
  const line = (iso: string, text: string) =>
    `${iso} (EngineCore_DP0 pid=7) INFO 12-01 13:31:41 [gpu_model_runner.py:2602] ${text}`;
  // docker stamped the first line 3 ms before the container's StartedAt (seen on the test bed's engine)
  const soon = new StartupTracker(started);
  soon.rawLine(line("2026-12-01T13:31:41.602Z", "Starting to load model /models/tiny..."), Date.now());
  assert.equal(soon.report(started + 500).phase, "loading");
  const earlier = new StartupTracker(started);
  earlier.rawLine(line("2026-12-01T13:31:36.602Z", "Starting to load model /models/tiny..."), Date.now());
  assert.equal(earlier.report(started + 500).phase, "starting");
});
