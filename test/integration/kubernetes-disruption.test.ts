/**
 * What the rendered PodDisruptionBudget does during a node drain, on two kwok GPU nodes of one L4 each:
 * draining the first node evicts its replica, whose replacement cannot become ready (the other node's
 * GPU is taken); draining the second node then waits (the eviction API refuses while only one replica
 * is ready) and finishes once the replacement is ready. One replica stays ready throughout. Replicas that
 * are not ready (still loading) never block a drain (unhealthyPodEvictionPolicy: AlwaysAllow).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { workdir } from "../support/cli.ts";
import { tbEnv } from "../support/testbed.ts";
import {
  cliIn,
  kubectl,
  kubectlJson,
  kwokGpuNode,
  podsOf,
  waitUntil,
  withNamespaceFreed,
} from "./kubernetes-support.ts";

const ID = randomBytes(3).toString("hex");
/** every node of this file carries this taint and label (the app tolerates and selects them), so no other pod lands on them and the app lands nowhere else */
const TAINT = { key: "disruption-test", value: ID, effect: "NoSchedule" };
const APP = "drained";
const NODES = [`dis-a-${ID}`, `dis-b-${ID}`] as const;
let ns: string;
let cleanup: () => Promise<void>;
const created: string[] = [];

function appDir(name: string, annotations = ""): string {
  return workdir({
    "vllm-app.yaml": `name: ${name}
model_path: /models/m
resources: {gpu: "L4:1", cpu: "1", memory: 2Gi}
scaling: {replicas: 2}
pod_template:
${annotations ? `  metadata:\n    annotations: {${annotations}}\n` : ""}  spec:
    nodeSelector: {disruption-test: "${ID}"}
    tolerations: [{key: disruption-test, operator: Exists, effect: NoSchedule}]
`,
  });
}

/** a kwok node with one L4, labelled as GPU feature discovery does, only this file's pods on it */
async function kwokL4Node(name: string): Promise<void> {
  created.push(name);
  await kwokGpuNode(
    name,
    {
      "disruption-test": ID,
      "nvidia.com/gpu.present": "true",
      "nvidia.com/gpu.product": "NVIDIA-L4",
      "nvidia.com/gpu.count": "1",
      "nvidia.com/cuda.driver-version.full": "580.82.07",
      "nvidia.com/cuda.driver.major": "580",
      "nvidia.com/cuda.driver.minor": "82",
      "nvidia.com/cuda.driver.rev": "07",
    },
    [TAINT],
    { gpus: "1", cpu: "32", memory: "128Gi" },
  );
}

const isReady = (p: any) => p.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True");

/** node name → ready pods of the app on it (pods being deleted do not count) */
async function readyByNode(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const p of await podsOf(ns, APP)) if (isReady(p)) out[p.spec.nodeName] = (out[p.spec.nodeName] ?? 0) + 1;
  return out;
}

const readyCount = async () => Object.values(await readyByNode()).reduce((a, b) => a + b, 0);

/** kubectl drain in the background: its exit code and output once it ends */
function startDrain(
  node: string,
  timeout = "120s",
): { done: Promise<{ code: number | null; output: string }>; output: () => string } {
  let output = "";
  const child = spawn(
    tbEnv("VLLMAPP_TEST_KUBECTL"),
    ["drain", node, "--ignore-daemonsets", "--delete-emptydir-data", `--timeout=${timeout}`],
    { env: process.env, stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const done = new Promise<{ code: number | null; output: string }>((resolve) =>
    child.on("close", (code) => resolve({ code, output })),
  );
  return { done, output: () => output };
}

before(async () => {
  ({ ns, cleanup } = await withNamespaceFreed("vk-dis"));
  await Promise.all(NODES.map(kwokL4Node));
});

after(async () => {
  await kubectl(["uncordon", ...NODES], { allowFail: true });
  await cleanup();
  if (created.length)
    await kubectl(["delete", "node", ...created, "--wait=true", "--timeout=60s"], { allowFail: true });
});

test("draining both nodes of a 2-replica app one after the other keeps one replica ready: the second drain waits for the replacement", async () => {
  const dir = appDir(APP);
  const r = cliIn(dir)(["deploy", "-n", ns, "--timeout", "3m"]);
  assert.equal(r.code, 0, r.stderr);
  const pdb = await kubectlJson(["-n", ns, "get", "poddisruptionbudget", APP]);
  assert.equal(pdb.spec.maxUnavailable, 1);
  await waitUntil(
    "the PDB allows one disruption",
    async () => (await kubectlJson(["-n", ns, "get", "poddisruptionbudget", APP])).status?.disruptionsAllowed === 1,
  );
  assert.deepEqual(await readyByNode(), { [NODES[0]]: 1, [NODES[1]]: 1 }, "one replica on each node (one L4 each)");

  // drain the first node: its replica is evicted; the replacement stays Pending (the other L4 is taken, this node is cordoned)
  const first = startDrain(NODES[0]);
  const firstDone = await first.done;
  assert.equal(firstDone.code, 0, firstDone.output);
  assert.match(firstDone.output, new RegExp(`node/${NODES[0]} drained`));
  await waitUntil("the replacement is Pending and the PDB allows no disruption", async () => {
    const pods = await podsOf(ns, APP);
    const pdbNow = await kubectlJson(["-n", ns, "get", "poddisruptionbudget", APP]);
    return (
      pods.length === 2 &&
      pods.some((p) => !p.spec.nodeName) &&
      pdbNow.status?.disruptionsAllowed === 0 &&
      pdbNow.status?.currentHealthy === 1
    );
  });
  assert.deepEqual(await readyByNode(), { [NODES[1]]: 1 });

  // drain the second node while the replacement is not ready: the eviction is refused and retried, the replica stays
  const second = startDrain(NODES[1]);
  let minReady = Infinity;
  await waitUntil(
    "the second drain to be refused by the disruption budget",
    async () => /disruption budget/.test(second.output()),
    60_000,
  );
  const watchUntil = Date.now() + 12_000; // kubectl retries the eviction every 5 s: at least two more refusals
  while (Date.now() < watchUntil) {
    minReady = Math.min(minReady, await readyCount());
    await new Promise((res) => setTimeout(res, 500));
  }
  assert.deepEqual(
    await readyByNode(),
    { [NODES[1]]: 1 },
    `the replica on ${NODES[1]} is still ready while the drain waits:\n${second.output()}`,
  );
  assert.equal((await kubectlJson(["get", "node", NODES[1]])).spec.unschedulable, true, "the second node is cordoned");

  // the first node comes back: the replacement is scheduled there and becomes ready; then the drain evicts the second replica
  await kubectl(["uncordon", NODES[0]]);
  const watching = (async () => {
    let done = false;
    void second.done.then(() => (done = true));
    while (!done) {
      minReady = Math.min(minReady, await readyCount());
      await new Promise((res) => setTimeout(res, 250));
    }
  })();
  const secondDone = await second.done;
  await watching;
  assert.equal(secondDone.code, 0, secondDone.output);
  assert.match(secondDone.output, /Cannot evict pod as it would violate the pod's disruption budget/);
  assert.match(secondDone.output, new RegExp(`node/${NODES[1]} drained`));
  assert.equal(minReady, 1, "never fewer than one ready replica during the drains");
  assert.deepEqual(await readyByNode(), { [NODES[0]]: 1 }, "the replica on the uncordoned node serves");
});

test("replicas that are not ready yet (loading the model) do not block a drain: the budget lets unhealthy pods go", async () => {
  // the first test's app leaves; both nodes take pods again
  await kubectl(["-n", ns, "delete", "deployment,poddisruptionbudget", "-l", `vllmapp.dev/app=${APP}`, "--wait=true"]);
  await waitUntil("the first app's pods to be gone", async () => (await podsOf(ns, APP)).length === 0);
  await kubectl(["uncordon", ...NODES]);
  const loading = "loading";
  const r = cliIn(appDir(loading, `vllmapp-testbed/ready-delay: "10m"`))(["deploy", "-n", ns, "--no-wait"]);
  assert.equal(r.code, 0, r.stderr);
  await waitUntil("two replicas Running, not ready, one per node", async () => {
    const pods = await podsOf(ns, loading);
    return (
      pods.length === 2 &&
      pods.every((p) => p.status?.phase === "Running" && !isReady(p)) &&
      new Set(pods.map((p) => p.spec.nodeName)).size === 2
    );
  });
  const pdb = await waitUntil("the PDB to count no healthy pod", async () => {
    const p = await kubectlJson(["-n", ns, "get", "poddisruptionbudget", loading]);
    return p.status?.observedGeneration === p.metadata.generation && p.status?.currentHealthy === 0 && p.status;
  });
  assert.equal(pdb.disruptionsAllowed, 0);
  // with the default policy (IfHealthyBudget) this eviction is refused until the drain times out
  const drained = await startDrain(NODES[0], "40s").done;
  assert.equal(drained.code, 0, drained.output);
  assert.doesNotMatch(drained.output, /disruption budget/);
  assert.match(drained.output, new RegExp(`node/${NODES[0]} drained`));
  assert.deepEqual(
    (await podsOf(ns, loading)).filter((p) => p.spec.nodeName === NODES[0]),
    [],
  );
});
