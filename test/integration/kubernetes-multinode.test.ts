/**
 * Multi-node apps on the test bed's real API server with the real LeaderWorkerSet CRD (v0.10.0, vendored
 * in test/fixtures/crds): preflight without the CRD, a server-side dry run, a real server-side apply with
 * the ApplySet and pruning, and the ScaledObject targeting the LWS. kwok has no LWS controller, so the
 * test creates the pods the controller would (its names and labels) and checks status, diagnosis and logs.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { ROOT, workdir } from "../support/cli.ts";
import { cliIn, kubectl, kubectlJson, podLogs, waitUntil, withNamespaceFreed } from "./kubernetes-support.ts";

const LWS_CRD = path.join(ROOT, "test", "fixtures", "crds", "leaderworkerset.yaml");
const KEDA_CRD = path.join(ROOT, "test", "fixtures", "crds", "keda-scaledobjects.yaml");
// an autoscaled app gets the PodMonitor its ScaledObject's query reads
const PODMONITOR_CRD = path.join(ROOT, "test", "fixtures", "crds", "monitoring.coreos.com_podmonitors.yaml");
let ns = "";
let cleanup: () => Promise<void> = async () => {};

before(async () => {
  ({ ns, cleanup } = await withNamespaceFreed("multinode"));
  await kubectl(["delete", "-f", LWS_CRD, "--ignore-not-found", "--wait=true"], { allowFail: true });
});

after(async () => {
  await cleanup();
  await kubectl(["delete", "-f", LWS_CRD, "--ignore-not-found", "--wait=false"], { allowFail: true });
  await kubectl(["delete", "-f", KEDA_CRD, "--ignore-not-found", "--wait=false"], { allowFail: true });
  await kubectl(["delete", "-f", PODMONITOR_CRD, "--ignore-not-found", "--wait=false"], { allowFail: true });
});

/** A 2-node app on kwok's L4 nodes: tensor 4 per pod × pipeline 2 across the two pods. */
function appYaml(name: string, extra = ""): string {
  return `name: ${name}
model_hf_path: Qwen/Qwen3-0.6B
requires_auth: false
resources: {gpu: L4:4, cpu: "1", memory: 2Gi}
parallelism: {tensor: 4, pipeline: 2, nodes: 2}
${extra}`;
}

async function installCrds(): Promise<void> {
  for (const [file, crd] of [
    [LWS_CRD, "leaderworkersets.leaderworkerset.x-k8s.io"],
    [KEDA_CRD, "scaledobjects.keda.sh"],
    [PODMONITOR_CRD, "podmonitors.monitoring.coreos.com"],
  ] as const) {
    const r = await kubectl(["apply", "--server-side", "-f", file], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    await waitUntil(
      `CRD ${crd} established`,
      async () => {
        const got = await kubectlJson(["get", "crd", crd]).catch(() => undefined);
        return (got?.status?.conditions ?? []).some((c: any) => c.type === "Established" && c.status === "True");
      },
      60_000,
      250,
    );
  }
}

test("preflight without the LeaderWorkerSet CRD: exit 3, naming the CRD and how to install LWS; nothing applied", async () => {
  const dir = workdir({ "vllm-app.yaml": appYaml("mn-nocrd") });
  const r = cliIn(dir)(["deploy", "-n", ns, "--no-wait"]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(
    r.stderr,
    /the cluster serves no LeaderWorkerSet \(leaderworkerset\.x-k8s\.io\/v1\): the CRD leaderworkersets\.leaderworkerset\.x-k8s\.io is not installed/,
  );
  assert.match(
    r.stderr,
    /hint: parallelism\.nodes > 1 runs on a LeaderWorkerSet: install LWS .*helm install lws oci:\/\/registry\.k8s\.io\/lws\/charts\/lws/,
  );
  const left = await kubectlJson(["-n", ns, "get", "services,secrets", "-l", "vllmapp.dev/app=mn-nocrd"]);
  assert.deepEqual(left.items, []);
});

test("with the CRD: a server-side dry run accepts the LWS and the ScaledObject targeting it; a real apply lists the kind in the ApplySet, and going back to one node prunes it", async () => {
  await installCrds();
  const name = "mn-apply";
  const dir = workdir({ "vllm-app.yaml": appYaml(name, "scaling: {replicas: [1, 2]}\n") });
  const cli = cliIn(dir);
  const dry = cli(["deploy", "-n", ns, "--dry-run=server", "-o", "json"]);
  assert.equal(dry.code, 0, dry.stderr);
  const planned = JSON.parse(dry.stdout).apps[0].changes.map((c: any) => `${c.action} ${c.kind}/${c.name}`);
  assert.deepEqual(planned.sort(), [
    "create LeaderWorkerSet/mn-apply-lws",
    "create NetworkPolicy/mn-apply",
    "create PodDisruptionBudget/mn-apply",
    "create PodMonitor/mn-apply",
    "create ScaledObject/mn-apply",
    "create Service/mn-apply",
  ]);
  const r = cli(["deploy", "-n", ns, "--no-wait"]);
  assert.equal(r.code, 0, r.stderr);
  const lws = await kubectlJson(["-n", ns, "get", "leaderworkerset", `${name}-lws`]);
  assert.equal(lws.spec.leaderWorkerTemplate.size, 2);
  assert.equal(lws.spec.startupPolicy, "LeaderCreated");
  assert.equal(lws.spec.leaderWorkerTemplate.restartPolicy, "RecreateGroupOnPodRestart");
  const worker = lws.spec.leaderWorkerTemplate.workerTemplate.spec;
  assert.ok(worker.containers[0].args.includes("--headless") && !worker.containers[0].readinessProbe);
  assert.equal(worker.initContainers.at(-1).name, "wait-for-leader");
  const so = await kubectlJson(["-n", ns, "get", "scaledobject", name]);
  assert.deepEqual(so.spec.scaleTargetRef, {
    apiVersion: "leaderworkerset.x-k8s.io/v1",
    kind: "LeaderWorkerSet",
    name: `${name}-lws`,
  });
  const svc = await kubectlJson(["-n", ns, "get", "service", name]);
  assert.deepEqual(svc.spec.selector, { "vllmapp.dev/app": name, "vllmapp.dev/role": "leader" });
  const parent = await kubectlJson(["-n", ns, "get", "secret", `applyset-${name}`]);
  assert.match(
    parent.metadata.annotations["applyset.kubernetes.io/contains-group-kinds"],
    /(^|,)LeaderWorkerSet\.leaderworkerset\.x-k8s\.io(,|$)/,
  );
  // the same app on one node: a Deployment, and the LWS is pruned
  writeFileSync(
    path.join(dir, "vllm-app.yaml"),
    appYaml(name, "scaling: {replicas: [1, 2]}\n").replace(
      "parallelism: {tensor: 4, pipeline: 2, nodes: 2}",
      "parallelism: {tensor: 4}",
    ),
  );
  const again = cli(["deploy", "-n", ns, "--no-wait", "-o", "json"]);
  assert.equal(again.code, 0, again.stderr);
  const changes = JSON.parse(again.stdout).apps[0].changes.map((c: any) => `${c.action} ${c.kind}/${c.name}`);
  assert.ok(changes.includes(`prune LeaderWorkerSet/${name}-lws`), changes.join("\n"));
  assert.ok(changes.includes(`create Deployment/${name}`), changes.join("\n"));
  await waitUntil(
    "the LWS to be gone",
    async () => (await kubectl(["-n", ns, "get", "leaderworkerset", `${name}-lws`], { allowFail: true })).code !== 0,
    30_000,
  );
  const d = cli(["delete", "-n", ns, name]);
  assert.equal(d.code, 0, d.stderr);
});

/** The pod the LWS controller would make for group `g`, rank `rank`, from the rendered template. */
function groupPod(lws: any, g: number, rank: number): any {
  const tpl = rank === 0 ? lws.spec.leaderWorkerTemplate.leaderTemplate : lws.spec.leaderWorkerTemplate.workerTemplate;
  const name = rank === 0 ? `${lws.metadata.name}-${g}` : `${lws.metadata.name}-${g}-${rank}`;
  const labels = {
    ...tpl.metadata.labels,
    "leaderworkerset.sigs.k8s.io/name": lws.metadata.name,
    "leaderworkerset.sigs.k8s.io/group-index": String(g),
    "leaderworkerset.sigs.k8s.io/worker-index": String(rank),
  };
  // kwok runs no init containers' commands; the wait-for-leader step is the controller's business here
  const { initContainers: _i, ...spec } = tpl.spec;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels, annotations: { "leaderworkerset.sigs.k8s.io/size": "2" } },
    spec,
  };
}

test("status and logs understand groups: pods created as the LWS controller would, one group ready, one with an unschedulable worker named by role and rank", async () => {
  await installCrds();
  const name = "mn-groups";
  const dir = workdir({ "vllm-app.yaml": appYaml(name, "scaling: {replicas: 2}\n") });
  const cli = cliIn(dir);
  const r = cli(["deploy", "-n", ns, "--no-wait"]);
  assert.equal(r.code, 0, r.stderr);
  const none = JSON.parse(cli(["status", "-n", ns, "--json", name]).stdout).apps[0];
  assert.equal(none.ready, false);
  assert.match(none.reason, /LeaderWorkerSet mn-groups-lws has no pods yet/);
  assert.match(none.hint, /is the LeaderWorkerSet controller running\?/);
  const lws = await kubectlJson(["-n", ns, "get", "leaderworkerset", `${name}-lws`]);
  // group 0 fits the 8-GPU L4 node; group 1's leader takes the 4-GPU pool node, and its worker has nowhere to go
  for (const [g, rank] of [
    [0, 0],
    [0, 1],
    [1, 0],
    [1, 1],
  ] as const) {
    const c = await kubectl(["-n", ns, "create", "-f", "-"], { input: JSON.stringify(groupPod(lws, g, rank)) });
    assert.equal(c.code, 0, c.stderr);
  }
  const status = await waitUntil(
    "group 0 ready and group 1's worker unschedulable",
    async () => {
      const s = JSON.parse(cli(["status", "-n", ns, "--json", name]).stdout).apps[0];
      return s.groups?.[0]?.ready && /cannot be scheduled/.test(s.reason ?? "") ? s : undefined;
    },
    60_000,
    500,
  );
  assert.deepEqual(status.replicas, { ready: 1, desired: 2 });
  assert.equal(status.ready, false);
  assert.deepEqual(
    status.groups.map((g: any) => [g.index, g.ready, g.pods.map((p: any) => `${p.role}${p.rank} ${p.phase}`)]),
    [
      [0, true, ["leader0 Running", "worker1 Running"]],
      [1, false, ["leader0 Running", "worker1 Pending"]],
    ],
  );
  assert.match(status.reason, /^worker 1 of group 1 \(mn-groups-lws-1-1\): cannot be scheduled: /);
  const text = cli(["status", "-n", ns, name]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /ready\s+1\/2 groups/);
  assert.match(text.stdout, /group\s+group 0: ready — leader Running; worker 1 Running/);
  assert.match(text.stdout, /group\s+group 1: 1\/2 up — leader Running; worker 1 Pending/);
  // logs: every pod of every group, prefixed with its role and rank
  const file = path.join(workdir(), "vllm.log");
  writeFileSync(file, "2026-01-01T00:00:00.000000000Z stdout F (APIServer pid=1) INFO started\n");
  for (const pod of [`${name}-lws-0`, `${name}-lws-0-1`]) await podLogs(ns, pod, file);
  const logs = await waitUntil(
    "logs of group 0",
    async () => {
      const l = cli(["logs", "-n", ns, name, "--replica", `${name}-lws-0-1`]);
      return l.code === 0 && l.stdout.includes("started") ? l : undefined;
    },
    30_000,
    500,
  );
  assert.match(logs.stdout, /^\[mn-groups-lws-0-1 worker 1\] \(APIServer pid=1\) INFO started$/m);
  const leaderLogs = cli(["logs", "-n", ns, name, "--replica", `${name}-lws-0`]);
  assert.match(leaderLogs.stdout, /^\[mn-groups-lws-0 leader\] /m);
  // the pods are the test's own (no controller owns them): it removes them itself
  await kubectl(["-n", ns, "delete", "pods", "-l", "leaderworkerset.sigs.k8s.io/name=mn-groups-lws", "--wait=false"]);
  const d = cli(["delete", "-n", ns, name]);
  assert.equal(d.code, 0, d.stderr);
});
