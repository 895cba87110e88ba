/**
 * The readiness rules without the test bed: watch sequences recorded on the test bed
 * (test/fixtures/watch/*.json, by test/fixtures/watch/record.ts while `vllmapp deploy` ran) replayed
 * through `see` and the kind's viewer (src/cluster/rollout.ts) as the watch loop feeds them, at the
 * times they were seen. Each asserts the exact progress lines, the same the live loop printed, and the end.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Diagnosis } from "../../../src/cluster/diagnose.ts";
import type { Deployment, LeaderWorkerSet } from "../../../src/cluster/k8s-types.ts";
import {
  deploymentViewer,
  emptySeen,
  leaderWorkerSetViewer,
  ProgressLines,
  see,
  type Readiness,
  type Seeing,
  type Viewer,
} from "../../../src/cluster/rollout.ts";
import { ROOT } from "../../support/cli.ts";

interface Recording {
  app: string;
  namespace: string;
  kind: "deployment" | "lws";
  result: { ready: number; desired: number } | { error: string; message: string; hint?: string };
  printed: string[];
  seen: Seeing<unknown>[];
}

const load = (name: string) =>
  JSON.parse(readFileSync(path.join(ROOT, "test/fixtures/watch", `${name}.json`), "utf8")) as Recording;

/** The loop's part without the API: feed each sighting, look, show a line as a non-interactive spinner does (no line twice in a row). */
function replay<W, M>(rec: Recording, viewer: Viewer<W, M>): { lines: string[]; done?: Readiness; failed?: Diagnosis } {
  let seen = emptySeen<W>();
  let memo = viewer.memo;
  const progress = new ProgressLines(false);
  const lines = [viewer.waiting];
  const show = (l: string | undefined) => l !== undefined && l !== lines.at(-1) && lines.push(l);
  for (const s of rec.seen as Seeing<W>[]) {
    const next = see(seen, s, viewer.eventPrefix);
    if (next === seen) continue;
    seen = next;
    if (s.kind === "relist") continue;
    const looked = viewer.look(seen, memo, s.at);
    memo = looked.memo;
    const view = looked.view;
    if (view.kind === "absent") show(view.line);
    else if (view.kind === "done") return { lines, done: { ready: view.ready, desired: view.desired } };
    else if (view.kind === "progress" && view.diagnosis?.fatal) return { lines, failed: view.diagnosis };
    else if (view.kind === "progress") show(progress.next(view, s.at));
  }
  return { lines };
}

const replayDeployment = (rec: Recording) =>
  replay<Deployment, unknown>(rec, deploymentViewer(rec.app, rec.namespace) as Viewer<Deployment, unknown>);

test("recorded: a rollout that becomes ready after 20 s: the replica's start, then 1/1", () => {
  const rec = load("rollout-ready");
  const r = replayDeployment(rec);
  assert.deepEqual(r.lines, [
    "slowready: waiting for the rollout",
    "slowready: 0/1 ready",
    "slowready: 0/1 ready — slowready-6f9dd65889-qh82g: starting (0 s), 0 s in all",
  ]);
  assert.deepEqual(r.done, { ready: 1, desired: 1 });
  assert.deepEqual(r.done, rec.result);
  assert.deepEqual(
    r.lines,
    rec.printed.filter((l) => !l.startsWith("✔") && !l.includes(" startup (")),
    "the lines the live loop printed",
  );
});

test("recorded: a crash loop stops the wait with the crashed container named (fatal, with the logs to show)", () => {
  const rec = load("crash-loop");
  const r = replayDeployment(rec);
  assert.deepEqual(r.lines, [
    "crashy: waiting for the rollout",
    "crashy: 0/1 ready",
    "crashy: 0/1 ready — crashy-84d568bf4b-vs5hw: creating containers",
  ]);
  assert.deepEqual(r.failed, {
    reason: "container vllm of crashy-84d568bf4b-vs5hw keeps crashing (exit code 1, Error; 1 restarts)",
    hint: "see why: vllmapp logs crashy --previous",
    fatal: true,
    logsOf: { pod: "crashy-84d568bf4b-vs5hw", container: "vllm" },
  });
  assert.ok(
    "message" in rec.result &&
      rec.result.message.startsWith(
        `crashy failed: ${r.failed.reason}\n  last log lines of crashy-84d568bf4b-vs5hw:\n`,
      ),
    "the live loop said the same, with the log tail",
  );
  assert.deepEqual(r.lines, rec.printed);
});

test("recorded: an unschedulable pod (16 GPUs asked, 8 at most on a node) is fatal once the nodes are read", () => {
  const rec = load("unschedulable");
  const r = replayDeployment(rec);
  assert.deepEqual(r.lines, ["toobig: waiting for the rollout", "toobig: 0/1 ready"]);
  const reason =
    "cannot be scheduled: it asks for 16 nvidia.com/gpu per replica, and the most any matching node has is 8 (scheduler: 0/4 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint(s), 2 Insufficient nvidia.com/gpu)";
  assert.deepEqual(r.failed, {
    reason,
    hint: "lower resources.gpu (tensor parallelism across fewer GPUs), or add nodes with more GPUs",
    fatal: true,
  });
  assert.deepEqual(rec.result, { error: "AppFailedError", message: `toobig failed: ${reason}`, hint: r.failed.hint });
  assert.deepEqual(r.lines, rec.printed);
});

test("without the nodes (the nodes' sighting left out), the viewer waits for them rather than guess", () => {
  const rec = load("unschedulable");
  const r = replayDeployment({ ...rec, seen: rec.seen.filter((s) => s.kind !== "nodes") });
  assert.equal(r.failed, undefined);
  assert.equal(r.done, undefined);
});

test("a ResourceQuota refusal of the current ReplicaSet is final only once it has stood 20 s (a rollout's old pod may still count)", () => {
  const rec = load("crash-loop");
  const viewer = deploymentViewer(rec.app, rec.namespace);
  // the Deployment and its ReplicaSet as recorded before any pod, the ReplicaSet then refused by a quota
  let seen = emptySeen<Deployment>();
  for (const s of rec.seen as Seeing<Deployment>[])
    if (s.kind === "workload" || s.kind === "replicaset") seen = see(seen, s, viewer.eventPrefix);
  const rs = seen.replicaSets[0]!;
  const refusal = {
    type: "ReplicaFailure",
    status: "True",
    reason: "FailedCreate",
    message: `pods "${rs.metadata.name}-x" is forbidden: exceeded quota: gpu-quota, requested: requests.nvidia.com/gpu=1, used: requests.nvidia.com/gpu=1, limited: requests.nvidia.com/gpu=1`,
  };
  const workload = {
    ...seen.workload!,
    status: { ...seen.workload!.status, replicas: 0, updatedReplicas: 0, availableReplicas: 0, readyReplicas: 0 },
  };
  seen = { ...seen, workload, pods: [], replicaSets: [{ ...rs, status: { ...rs.status!, conditions: [refusal] } }] };
  const t0 = 1_000_000_000_000;
  const first = viewer.look(seen, viewer.memo, t0);
  assert.equal(first.view.kind, "progress");
  assert.equal(first.view.kind === "progress" && first.view.diagnosis?.fatal, false, "just refused: not final yet");
  const later = viewer.look(seen, first.memo, t0 + 19_000);
  assert.equal(later.view.kind === "progress" && later.view.diagnosis?.fatal, false);
  const final = viewer.look(seen, later.memo, t0 + 20_000);
  assert.equal(final.view.kind === "progress" && final.view.diagnosis?.fatal, true, "stood 20 s: final");
  assert.match(
    final.view.kind === "progress" ? final.view.diagnosis!.reason : "",
    /^ReplicaSet crashy-[a-z0-9]+ cannot create pods \(ResourceQuota gpu-quota\)/,
  );
  const podGone = viewer.look({ ...seen, podGoneAt: t0 + 15_000 }, later.memo, t0 + 20_000);
  assert.equal(
    podGone.view.kind === "progress" && podGone.view.diagnosis?.fatal,
    false,
    "a pod went away 5 s ago: its quota is not counted out yet",
  );
});

test("a LeaderWorkerSet: groups counted from the pods the controller labels; an unschedulable worker is named by role and rank once the nodes are read", () => {
  const viewer = leaderWorkerSetViewer("mn");
  const lws: LeaderWorkerSet = {
    metadata: { name: "mn-lws" },
    spec: { replicas: 2, leaderWorkerTemplate: { size: 2 } },
  };
  const pod = (group: number, worker: number, status: object): Seeing<LeaderWorkerSet> => ({
    at: 0,
    kind: "pod",
    type: "ADDED",
    object: {
      metadata: {
        name: `mn-lws-${group}${worker ? `-${worker}` : ""}`,
        uid: `${group}/${worker}`,
        labels: {
          "vllmapp.dev/app": "mn",
          "leaderworkerset.sigs.k8s.io/name": "mn-lws",
          "leaderworkerset.sigs.k8s.io/group-index": String(group),
          "leaderworkerset.sigs.k8s.io/worker-index": String(worker),
        },
      },
      status,
    },
  });
  const running = {
    phase: "Running",
    conditions: [{ type: "Ready", status: "True" }],
    containerStatuses: [
      { name: "vllm", image: "i", imageID: "", ready: true, restartCount: 0, state: { running: {} } },
    ],
  };
  const unschedulable = {
    phase: "Pending",
    conditions: [
      {
        type: "PodScheduled",
        status: "False",
        reason: "Unschedulable",
        message:
          "0/4 nodes are available: 4 Insufficient nvidia.com/gpu. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.",
      },
    ],
  };
  let seen = emptySeen<LeaderWorkerSet>();
  assert.deepEqual(viewer.look(seen, null, 0).view, { kind: "absent", line: "mn: waiting for LeaderWorkerSet mn-lws" });
  seen = see(seen, { at: 0, kind: "workload", type: "ADDED", object: lws }, viewer.eventPrefix);
  const none = viewer.look(seen, null, 0).view;
  assert.equal(none.kind === "progress" && none.line, "mn: 0/2 groups ready — LeaderWorkerSet mn-lws has no pods yet");
  for (const p of [pod(0, 0, running), pod(0, 1, running), pod(1, 0, running), pod(1, 1, unschedulable)])
    seen = see(seen, p, viewer.eventPrefix);
  assert.deepEqual(
    viewer.look(seen, null, 0).view,
    { kind: "nodes" },
    "the nodes first: they say more than the scheduler's counts",
  );
  seen = see(seen, { at: 0, kind: "nodes", nodes: undefined }, viewer.eventPrefix);
  const stuck = viewer.look(seen, null, 0).view;
  assert.equal(stuck.kind, "progress");
  assert.equal(
    stuck.kind === "progress" && stuck.line,
    "mn: 1/2 groups ready — worker 1 of group 1 (mn-lws-1-1): cannot be scheduled: not enough free nvidia.com/gpu: it asks for more than is free per replica (scheduler: 0/4 nodes are available: 4 Insufficient nvidia.com/gpu)",
  );
  assert.equal(stuck.kind === "progress" && stuck.diagnosis?.fatal, true);
  seen = see(seen, pod(1, 1, running), viewer.eventPrefix);
  assert.deepEqual(viewer.look(seen, null, 0).view, {
    kind: "done",
    ready: 2,
    desired: 2,
    line: "mn: 2/2 groups ready",
  });
});
