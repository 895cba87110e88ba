/**
 * The start-up timeline (src/startup/timeline.ts, podTimeline in src/cluster/startup.ts): the kubelet's and
 * the autoscalers' event messages as their sources format them, a pod's start built from a recorded
 * sequence (events, container states, the download's and the server's log lines), the history kept in
 * `<app>-starts`, the startup-probe budget learned from it, and the advice for slow phases.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import {
  addToHistory,
  currentAndPrevious,
  downloadedBytes,
  entriesOf,
  formatTimeline,
  HISTORY_LENGTH,
  learnedBudget,
  parseGoDuration,
  parseHistory,
  parsePulled,
  parseSize,
  recordOf,
  timelineLines,
  weightBytes,
  withAdvice,
} from "../../../src/startup/timeline.ts";
import { podTimeline } from "../../../src/cluster/startup.ts";
import type { StartRecord, TimelineEntry } from "../../../src/target.ts";
import { ROOT } from "../../support/cli.ts";

test("Go durations as the kubelet prints them", () => {
  assert.equal(parseGoDuration("3.512s"), 3.512);
  assert.equal(parseGoDuration("845ms"), 0.845);
  assert.equal(parseGoDuration("1m41.2s"), 101.2);
  assert.equal(parseGoDuration("1h0m5s"), 3605);
  assert.equal(parseGoDuration("12"), undefined);
  assert.equal(parseGoDuration("3.5s extra"), undefined);
});

test("the kubelet's Pulled message: duration, duration with waiting, image size; 'already present' is no pull", () => {
  // pkg/kubelet/images/image_manager.go: "Successfully pulled image %q in %v (%v including waiting). Image size: %v bytes."
  assert.deepEqual(
    parsePulled(
      'Successfully pulled image "127.0.0.1:5000/vllmapp/vllm-cpu:0.32.0-ab" in 1m41.2s (1m42.003s including waiting). Image size: 6123456789 bytes.',
    ),
    {
      image: "127.0.0.1:5000/vllmapp/vllm-cpu:0.32.0-ab",
      seconds: 101.2,
      withWaiting: 102.003,
      bytes: 6123456789,
    },
  );
  assert.deepEqual(
    parsePulled(
      'Successfully pulled image "rclone/rclone:1.71.1" in 845ms (845ms including waiting). Image size: 21000000 bytes.',
    ),
    { image: "rclone/rclone:1.71.1", seconds: 0.845, withWaiting: 0.845, bytes: 21000000 },
  );
  assert.equal(parsePulled('Container image "vllmapp-vllm-cpu:0.32.0-ab" already present on machine'), "present");
  assert.equal(
    parsePulled('Container image "x:1" already present on machine and can be accessed by the pod'),
    "present",
  );
  assert.equal(parsePulled('Pulling image "x:1"'), undefined);
});

test("sizes and the bytes a download or a load moved", () => {
  assert.equal(parseSize("4.000 GiB"), 4 * 2 ** 30);
  assert.equal(parseSize("512 B"), 512);
  assert.equal(parseSize("1.5 MiB"), 1572864);
  assert.equal(parseSize("2 GB"), 2e9);
  assert.equal(parseSize("lots"), undefined);
  assert.equal(
    downloadedBytes([
      "INFO  : Transferred:   \t    2.000 GiB / 4.000 GiB, 50%, 70 MiB/s, ETA 30s",
      "INFO  : Transferred:   \t    4.000 GiB / 4.000 GiB, 100%, 68 MiB/s, ETA 0s",
    ]),
    4 * 2 ** 30,
  );
  assert.equal(downloadedBytes(["nothing"]), null);
  // vLLM 0.32's weight_utils line (the CPU image prints it too) and the GPU runner's
  assert.equal(
    weightBytes([
      "(EngineCore pid=23) INFO 12-01 09:12:39 [weight_utils.py:1108] Filesystem type for checkpoints: EXT4. Checkpoint size: 14.96 GiB. Available RAM: 18.92 GiB.",
    ]),
    Math.round(14.96 * 2 ** 30),
  );
  assert.equal(
    weightBytes(["INFO [gpu_model_runner.py:4100] Model loading took 15.2 GiB memory and 31.4 seconds"]),
    Math.round(15.2 * 2 ** 30),
  );
});

/** A recorded sequence: a GPU pod that waited for the cluster autoscaler, pulled two images, downloaded the model, then started. */
function recordedPod(ready: boolean) {
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "qwen3-7d9f-x2b", namespace: "ns", uid: "u1", creationTimestamp: "2026-12-01T10:00:00Z" },
    status: {
      conditions: [
        { type: "PodScheduled", status: "True", lastTransitionTime: "2026-12-01T10:04:44Z" },
        ...(ready
          ? [{ type: "Ready", status: "True", lastTransitionTime: "2026-12-01T10:12:00Z" }]
          : [{ type: "Ready", status: "False", lastTransitionTime: "2026-12-01T10:04:44Z" }]),
      ],
      initContainerStatuses: [
        {
          name: "model-download",
          state: { terminated: { startedAt: "2026-12-01T10:06:30Z", finishedAt: "2026-12-01T10:07:30Z", exitCode: 0 } },
        },
      ],
      containerStatuses: [
        { name: "vllm", restartCount: 0, ready, state: { running: { startedAt: "2026-12-01T10:09:15Z" } } },
      ],
    },
  };
  const ev = (reason: string, message: string, at: string, fieldPath?: string) => ({
    involvedObject: { kind: "Pod", name: "qwen3-7d9f-x2b", uid: "u1", ...(fieldPath ? { fieldPath } : {}) },
    reason,
    message,
    firstTimestamp: at,
    lastTimestamp: at,
  });
  const events = [
    ev(
      "FailedScheduling",
      "0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.",
      "2026-12-01T10:00:01Z",
    ),
    ev("TriggeredScaleUp", "pod triggered scale-up: [{eks-gpu-a10g 0->1 (max: 4)}]", "2026-12-01T10:00:10Z"),
    {
      involvedObject: { kind: "Pod", name: "qwen3-7d9f-x2b", uid: "u1" },
      reason: "Scheduled",
      message: "Successfully assigned ns/qwen3-7d9f-x2b to ip-10-0-1-7",
      eventTime: "2026-12-01T10:04:44.120000Z",
      firstTimestamp: null,
    },
    ev(
      "Pulling",
      'Pulling image "rclone/rclone:1.71.1"',
      "2026-12-01T10:04:50Z",
      "spec.initContainers{model-download}",
    ),
    ev(
      "Pulled",
      'Successfully pulled image "rclone/rclone:1.71.1" in 4.2s (4.2s including waiting). Image size: 24000000 bytes.',
      "2026-12-01T10:04:54Z",
      "spec.initContainers{model-download}",
    ),
    ev("Pulling", 'Pulling image "vllm/vllm-openai:v0.32.0"', "2026-12-01T10:07:31Z", "spec.containers{vllm}"),
    ev(
      "Pulled",
      'Successfully pulled image "vllm/vllm-openai:v0.32.0" in 1m41s (1m41.5s including waiting). Image size: 9800000000 bytes.',
      "2026-12-01T10:09:12Z",
      "spec.containers{vllm}",
    ),
    // another pod's event is not this start's
    {
      ...ev(
        "Pulled",
        'Successfully pulled image "x" in 9s (9s including waiting). Image size: 1 bytes.',
        "2026-12-01T10:09:12Z",
      ),
      involvedObject: { kind: "Pod", name: "other", uid: "u2" },
    },
  ];
  const logs = [
    {
      container: "model-download",
      raw: "2026-12-01T10:07:29.000000000Z 2026/12/01 10:07:29 INFO  : Transferred:   \t   15.000 GiB / 15.000 GiB, 100%, 256 MiB/s, ETA 0s",
    },
    {
      container: "vllm",
      raw: "2026-12-01T10:09:30.000000000Z (APIServer pid=1) INFO 12-01 10:09:30 [api_server.py:1900] vLLM API server version 0.32.0",
    },
    {
      container: "vllm",
      raw: "2026-12-01T10:09:50.000000000Z (EngineCore_DP0 pid=30) INFO 12-01 10:09:50 [gpu_model_runner.py:5040] Starting to load model /cache/models/qwen3...",
    },
    {
      container: "vllm",
      raw: "2026-12-01T10:09:50.500000000Z (EngineCore_DP0 pid=30) INFO 12-01 10:09:50 [weight_utils.py:1108] Filesystem type for checkpoints: EXT4. Checkpoint size: 15.00 GiB. Available RAM: 180.00 GiB.",
    },
    {
      container: "vllm",
      raw: "2026-12-01T10:10:50.000000000Z (EngineCore_DP0 pid=30) INFO 12-01 10:10:50 [default_loader.py:501] Loading weights took 59.80 seconds",
    },
    {
      container: "vllm",
      raw: "2026-12-01T10:10:52.000000000Z (EngineCore_DP0 pid=30) INFO 12-01 10:10:52 [backends.py:600] Dynamo bytecode transform time: 9.80 s",
    },
    {
      container: "vllm",
      raw: "2026-12-01T10:11:32.000000000Z (EngineCore_DP0 pid=30) INFO 12-01 10:11:32 [monitor.py:34] torch.compile takes 40.10 s in total",
    },
    {
      container: "vllm",
      raw: "2026-12-01T10:11:33.000000000Z (EngineCore_DP0 pid=30) INFO 12-01 10:11:33 [gpu_model_runner.py:4420] Capturing CUDA graphs (mixed prefill-decode, PIECEWISE): 100%|██████████| 67/67 [00:20<00:00,  3.3it/s]",
    },
    {
      container: "vllm",
      raw: "2026-12-01T10:11:53.000000000Z (EngineCore_DP0 pid=30) INFO 12-01 10:11:53 [gpu_model_runner.py:4500] Graph capturing finished in 20 secs, took 0.50 GiB",
    },
    {
      container: "vllm",
      raw: "2026-12-01T10:11:59.000000000Z (APIServer pid=1) INFO:     Application startup complete.",
    },
  ];
  return { pod, events, logs };
}

test("a recorded GPU start: each phase with its seconds, bytes and rate; slow ones get advice", () => {
  const { pod, events, logs } = recordedPod(true);
  const start = podTimeline(pod as any, events as any, logs, Date.parse("2026-12-01T10:20:00Z"))!;
  assert.equal(start.id, "qwen3-7d9f-x2b#0");
  assert.equal(start.at, Date.parse("2026-12-01T10:00:00Z"));
  assert.equal(start.serverSeconds, 165);
  assert.deepEqual(
    start.entries.map((e) => [e.phase, e.seconds, e.bytes]),
    [
      ["scheduling", 284, null],
      ["image-pull", 105.7, 9824000000],
      ["download", 60, 15 * 2 ** 30],
      ["loading", 60, Math.round(15 * 2 ** 30)],
      ["compiling", 40, null],
      ["capturing", 20, null],
      // the process start (10:09:15 → 10:09:50) and the engine's set-up between the others
      ["initializing", 44, null],
      ["ready", 720, null],
    ],
  );
  const by = Object.fromEntries(start.entries.map((e) => [e.phase, e]));
  assert.equal(
    by.scheduling!.detail,
    "274 s of it for a new node (cluster-autoscaler: pod triggered scale-up: [{eks-gpu-a10g 0->1 (max: 4)}])",
  );
  assert.equal(
    by["image-pull"]!.detail,
    "92.9 MB/s, rclone/rclone:1.71.1 24.0 MB in 4.2 s; vllm/vllm-openai:v0.32.0 9.8 GB in 101 s",
  );
  assert.equal(by.download!.detail, "268 MB/s");
  assert.equal(by.loading!.detail, "268 MB/s, weights in 59.80 s");
  assert.equal(by.compiling!.detail, "torch.compile 40.10 s");
  assert.equal(by.ready!.detail, "the server answered 165 s after its process started");
  // slow: ≥ 30 s and ≥ 10 % of the 720 s start (72 s): scheduling and the image pull, not the rest
  assert.deepEqual(
    start.entries.filter((e) => e.advice).map((e) => e.phase),
    ["scheduling", "image-pull"],
  );
  assert.match(by.scheduling!.advice!, /keep one warm .* kaito #2325\)$/);
  assert.equal(
    by["image-pull"]!.advice,
    "the image pull took 106 s at 92.9 MB/s: pre-pull the image on the GPU nodes (a DaemonSet, or a node image that has it) to save up to 106 s per new node (image pull was 101 s of a 966 s start in kaito #2325)",
  );
});

test("a start still under way: the phase it is in runs up to now; nothing is ready", () => {
  const { pod, events, logs } = recordedPod(false);
  const start = podTimeline(pod as any, events as any, logs.slice(0, 4), Date.parse("2026-12-01T10:10:00Z"))!;
  assert.deepEqual(
    start.entries.map((e) => [e.phase, e.seconds]),
    [
      ["scheduling", 284],
      ["image-pull", 105.7],
      ["download", 60],
      ["loading", 10],
      ["initializing", 35],
    ],
  );
  assert.equal(start.serverSeconds, null);
});

test("Karpenter's Nominated event, and a pod that pulled nothing (the image was on the node)", () => {
  const pod = {
    metadata: { name: "a-1", uid: "u", creationTimestamp: "2026-12-01T10:00:00Z" },
    status: {
      conditions: [{ type: "PodScheduled", status: "True", lastTransitionTime: "2026-12-01T10:01:30Z" }],
      containerStatuses: [{ name: "vllm", restartCount: 0, state: { waiting: { reason: "ContainerCreating" } } }],
    },
  };
  const events = [
    {
      involvedObject: { name: "a-1", uid: "u" },
      reason: "Nominated",
      message: "Pod should schedule on: nodeclaim/gpu-l4-8q2ws",
      eventTime: "2026-12-01T10:00:05.000000Z",
    },
    {
      involvedObject: { name: "a-1", uid: "u" },
      reason: "Pulled",
      message: 'Container image "vllm/vllm-openai:v0.32.0" already present on machine',
      firstTimestamp: "2026-12-01T10:01:31Z",
    },
  ];
  const start = podTimeline(pod as any, events as any, [], Date.parse("2026-12-01T10:01:40Z"))!;
  assert.deepEqual(
    start.entries.map((e) => [e.phase, e.seconds, e.detail]),
    [["scheduling", 90, "85 s of it for a new node (Karpenter: Pod should schedule on: nodeclaim/gpu-l4-8q2ws)"]],
  );
});

test("a server container restarted in place is a start of its own: its process's phases only", () => {
  const { pod, events, logs } = recordedPod(true);
  const restarted = {
    ...pod,
    status: {
      ...pod.status,
      containerStatuses: [
        { name: "vllm", restartCount: 1, ready: true, state: { running: { startedAt: "2026-12-01T10:09:15Z" } } },
      ],
    },
  };
  const start = podTimeline(restarted as any, events as any, logs, Date.parse("2026-12-01T10:20:00Z"))!;
  assert.equal(start.id, "qwen3-7d9f-x2b#1");
  assert.deepEqual(
    start.entries.map((e) => e.phase),
    ["loading", "compiling", "capturing", "initializing", "ready"],
  );
  assert.equal(start.entries.at(-1)!.seconds, 165);
});

test("the real vLLM CPU log (fixture) through podTimeline: loading, initializing, ready", () => {
  const lines = readFileSync(path.join(ROOT, "test/fixtures/vllm-0.32/startup-local-folder.log"), "utf8")
    .split("\n")
    .filter(Boolean);
  const first = lines[0]!.slice(0, 30);
  const started = new Date(Date.parse(first.split(" ")[0]!) - 9000).toISOString();
  const last = lines.at(-1)!.split(" ")[0]!;
  const pod = {
    metadata: { name: "tiny-1", uid: "u", creationTimestamp: new Date(Date.parse(started) - 2000).toISOString() },
    status: {
      conditions: [
        {
          type: "PodScheduled",
          status: "True",
          lastTransitionTime: new Date(Date.parse(started) - 1000).toISOString(),
        },
        { type: "Ready", status: "True", lastTransitionTime: last },
      ],
      containerStatuses: [{ name: "vllm", restartCount: 0, ready: true, state: { running: { startedAt: started } } }],
    },
  };
  const start = podTimeline(
    pod as any,
    [],
    lines.map((raw) => ({ container: "vllm", raw })),
    Date.parse(last) + 60_000,
  )!;
  assert.deepEqual(
    start.entries.map((e) => e.phase),
    ["scheduling", "loading", "initializing", "ready"],
  );
  assert.ok(
    start.entries.every((e) => e.advice === null),
    "a tiny model's start has nothing slow",
  );
});

const rec = (id: string, serverSeconds: number | null, ready = true): StartRecord => ({
  id,
  at: "2026-12-01T10:00:00.000Z",
  ready,
  seconds: (serverSeconds ?? 0) + 10,
  serverSeconds,
  phases: [
    { phase: "image-pull", seconds: 10, bytes: 5e9, detail: null, advice: null },
    { phase: "ready", seconds: (serverSeconds ?? 0) + 10, bytes: null, detail: null, advice: null },
  ],
});

test("the history: newest first, one record per start, at most HISTORY_LENGTH, and nothing but phases, seconds and bytes", () => {
  let h: StartRecord[] = [];
  for (let i = 0; i < 12; i++) h = addToHistory(h, rec(`p-${i}#0`, 60 + i));
  assert.equal(h.length, HISTORY_LENGTH);
  assert.deepEqual(
    h.slice(0, 2).map((r) => r.id),
    ["p-11#0", "p-10#0"],
  );
  h = addToHistory(h, rec("p-10#0", 99));
  assert.deepEqual(
    h.slice(0, 2).map((r) => [r.id, r.serverSeconds]),
    [
      ["p-10#0", 99],
      ["p-11#0", 71],
    ],
  );
  const entries: TimelineEntry[] = [
    { phase: "download", seconds: 60, bytes: 1e9, detail: "from s3://bucket/secret-path", advice: "x" },
    { phase: "ready", seconds: 90, bytes: null, detail: "y", advice: null },
  ];
  const r = recordOf("p#0", Date.parse("2026-12-01T10:00:00Z"), entries, 20);
  assert.deepEqual(r, {
    id: "p#0",
    at: "2026-12-01T10:00:00.000Z",
    ready: true,
    seconds: 90,
    serverSeconds: 20,
    phases: [
      { phase: "download", seconds: 60, bytes: 1e9, detail: null, advice: null },
      { phase: "ready", seconds: 90, bytes: null, detail: null, advice: null },
    ],
  });
  assert.deepEqual(parseHistory(JSON.stringify([r, { junk: 1 }])), [r]);
  assert.deepEqual(parseHistory("{not json"), []);
  assert.deepEqual(parseHistory(undefined), []);
  // stored entries get their rate and advice back
  assert.deepEqual(
    entriesOf(r).map((e) => [e.phase, e.detail]),
    [
      ["download", "16.7 MB/s"],
      ["ready", null],
    ],
  );
});

test("current and previous: the live start, and the newest stored start that is not it", () => {
  const live = {
    id: "p-2#0",
    entries: [{ phase: "ready" as const, seconds: 50, bytes: null, detail: null, advice: null }],
  };
  // deploy recorded the live start already: the one before is the next record
  const t1 = currentAndPrevious(live, [rec("p-2#0", 40), rec("p-1#0", 30)]);
  assert.deepEqual([t1.currentId, t1.previousId, t1.current], ["p-2#0", "p-1#0", live.entries]);
  // a start nobody recorded (kubectl rollout restart): the newest stored one is the one before
  const t2 = currentAndPrevious({ ...live, id: "p-3#0" }, [rec("p-2#0", 40), rec("p-1#0", 30)]);
  assert.deepEqual([t2.currentId, t2.previousId], ["p-3#0", "p-2#0"]);
  // no pod now: the stored ones
  const t3 = currentAndPrevious(undefined, [rec("p-2#0", 40), rec("p-1#0", 30)]);
  assert.deepEqual([t3.currentId, t3.previousId], ["p-2#0", "p-1#0"]);
  assert.deepEqual(currentAndPrevious(undefined, []), { current: [], previous: [], currentId: null, previousId: null });
});

test("the learned startup budget: p95 of the server's starts × 2, whole minutes, at least 5 min; a deployed budget of at least 1.5 × p95 is kept", () => {
  assert.equal(learnedBudget([rec("a", 100), rec("b", 120)]), undefined, "fewer than 3 ready starts");
  const h = [rec("a", 100), rec("b", 400), rec("c", 130), rec("d", null, false), rec("e", 110)];
  // ready starts with a server time: 100, 400, 130, 110 → p95 (nearest rank) = 400 → 800 s → 840 s (14 min)
  assert.deepEqual(learnedBudget(h), { seconds: 840, p95: 400, starts: 4 }, "no Deployment yet");
  assert.deepEqual(
    learnedBudget(h, 1800),
    { seconds: 1800, p95: 400, starts: 4 },
    "the 30 min default is long enough: kept, no rollout for the budget alone",
  );
  assert.deepEqual(learnedBudget(h, 600), { seconds: 600, p95: 400, starts: 4 }, "600 s = 1.5 × p95: kept");
  assert.deepEqual(learnedBudget(h, 590), { seconds: 840, p95: 400, starts: 4 }, "too short: raised");
  assert.deepEqual(
    learnedBudget([rec("a", 20), rec("b", 25), rec("c", 30)]),
    { seconds: 300, p95: 30, starts: 3 },
    "the floor",
  );
  const slow = [rec("a", 1500), rec("b", 1700), rec("c", 1650)];
  assert.deepEqual(
    learnedBudget(slow, 1800),
    { seconds: 3420, p95: 1700, starts: 3 },
    "a model whose starts near the 30 min default gets 57 min",
  );
});

test("advice names the gain and its source; a phase from the compile cache gets none", () => {
  const e = (
    phase: TimelineEntry["phase"],
    seconds: number,
    bytes: number | null = null,
    detail: string | null = null,
  ): TimelineEntry => ({ phase, seconds, bytes, detail, advice: null });
  const out = withAdvice([
    e("image-pull", 101, 5.6e9),
    e("download", 62, 2e10),
    e("loading", 300, 5.5e11),
    e("compiling", 42),
    e("capturing", 54),
    e("initializing", 94),
    e("ready", 966),
  ]);
  const by = Object.fromEntries(out.map((x) => [x.phase, x.advice]));
  assert.match(by["image-pull"]!, /^the image pull took 101 s at 55\.4 MB\/s: pre-pull .* kaito #2325\)$/);
  assert.equal(by.download, null, "62 s is under 10 % of 966 s");
  assert.match(
    by.loading!,
    /^the weights loaded in 300 s at 1\.8 GB\/s: stream them .*RUNAI_STREAMER_CONCURRENCY.* 14×\)$/,
  );
  assert.equal(by.compiling, null);
  assert.equal(by.initializing, null);
  const cached = withAdvice([e("compiling", 200, null, "from the compile cache in 180 s"), e("ready", 300)]);
  assert.equal(cached[0]!.advice, null);
  const compiled = withAdvice([e("compiling", 200), e("capturing", 60), e("ready", 300)]);
  assert.match(compiled[0]!.advice!, /keep vLLM's compile cache on a volume \(cache:\).*about 140 s saved here/);
  assert.match(compiled[1]!.advice!, /54 s → 7 s warm, about 51 s saved here/);
});

test("the text: one line per phase, advice under a slow one, both starts", () => {
  const lines = formatTimeline([
    { phase: "image-pull", seconds: 101.5, bytes: 5.6e9, detail: "55.2 MB/s", advice: null },
    { phase: "loading", seconds: 2, bytes: null, detail: null, advice: null },
    { phase: "ready", seconds: 130, bytes: null, detail: null, advice: null },
  ]);
  assert.deepEqual(lines, [
    "    image-pull   101.5 s  5.6 GB, 55.2 MB/s",
    "    loading        2.0 s",
    "    ready        130.0 s",
  ]);
  assert.deepEqual(
    timelineLines({
      current: [{ phase: "ready", seconds: 3, bytes: null, detail: null, advice: "x" }],
      previous: [],
      currentId: "p#0",
      previousId: null,
    }),
    ["  start now (p#0):", "    ready     3.0 s", "           advice: x", "  start before:", "    (none recorded)"],
  );
});
