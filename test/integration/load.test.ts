/**
 * Load (issue #17, item 5): 200 apps from one vllm-app.yaml deployed onto kwok GPU nodes of this test's
 * own (a pool of their own, tainted so that no other test's pod lands there) with the vllmapp process's
 * peak RSS bounded; an unchanged re-deploy; status and list of the 200; and `logs --follow` of 20
 * replicas that really run on the test bed's real node, each printing numbered lines, every line counted.
 * No time is asserted here: the numbers are in BENCHMARKS.md (npm run bench:load).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { workdir, type CliRun } from "../support/cli.ts";
import { tbEnv, uniqueName, withNamespace } from "../support/testbed.ts";
import { cliIn, kubectl, kubectlJson, podsOf, startCli, waitUntil } from "./kubernetes-support.ts";

const APPS = 200;
const NODES = 4;
const GPUS_PER_NODE = 64;
/**
 * Peak RSS of `deploy` of the 200 apps, in MiB. Measured on the test bed (2 cores, Node.js 20): 180–184 MiB
 * for the first deploy (which waits for 200 rollouts: 4 watches each), 140–167 MiB for the unchanged one;
 * a one-app deploy peaks at about 60 MiB. The bound is about twice the measured peak: it catches memory that grows with
 * the square of the apps (a copy of every event per app) or a leak per request, not noise.
 */
const RSS_BOUND_MIB = 400;
const REPLICAS = 20;
const TICK_RATE = 20;
const FOLLOW_MS = 25_000;

const pool = uniqueName("load17-pool");
const names = Array.from({ length: APPS }, (_, i) => `load17-${String(i).padStart(3, "0")}`);
let ns: string;
let cleanup: () => Promise<void>;
let dir: string;
let cli: ReturnType<typeof cliIn>;

/** kwok-managed nodes (the annotation kwok's --manage-nodes-with-annotation-selector picks), as test/cluster/kwok/nodes.yaml makes them. */
function kwokNode(name: string) {
  const capacity = {
    cpu: "512",
    memory: "4Ti",
    pods: "110",
    "ephemeral-storage": "10Ti",
    "nvidia.com/gpu": String(GPUS_PER_NODE),
  };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
      labels: {
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/os": "linux",
        "kubernetes.io/hostname": name,
        type: "kwok",
        "vllmapp.dev/pool": pool,
        "load17-test": pool,
        "nvidia.com/gpu.present": "true",
        "nvidia.com/gpu.product": "NVIDIA-L4",
        "nvidia.com/gpu.count": String(GPUS_PER_NODE),
      },
    },
    spec: { taints: [{ key: "load17-test", value: pool, effect: "NoSchedule" }] },
    status: {
      capacity,
      allocatable: capacity,
      nodeInfo: {
        architecture: "amd64",
        operatingSystem: "linux",
        kubeletVersion: "v1.36.3",
        kubeProxyVersion: "v1.36.3",
        containerRuntimeVersion: "containerd://kwok",
        kernelVersion: "kwok",
        osImage: "kwok",
        bootID: "",
        machineID: "",
        systemUUID: "",
      },
    },
  };
}

function appsYaml(): string {
  return names
    .map(
      (name, i) => `name: ${name}
model_path: /models/m${i}
image: ${tbEnv("VLLM_STANDIN_IMAGE")}
resources: {gpu: "L4:1", cpu: "1", memory: 2Gi}
cluster_pool: ${pool}
pod_template:
  spec:
    tolerations: [{key: load17-test, operator: Exists, effect: NoSchedule}]
`,
    )
    .join("---\n");
}

/** The peak RSS (VmHWM) of a running CLI in MiB, read from /proc every 50 ms until it exits. */
function watchPeakRss(run: CliRun): Promise<number> {
  let peak = 0;
  const read = () => {
    try {
      const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${run.pid}/status`, "utf8"));
      if (m) peak = Math.max(peak, Number(m[1]) / 1024);
    } catch {
      // gone
    }
  };
  const timer = setInterval(read, 50);
  return run.then(() => {
    clearInterval(timer);
    return peak;
  });
}

/** kind/name → resourceVersion of every Deployment, Service and Secret in the namespace. */
async function versions(): Promise<Map<string, string>> {
  const list = await kubectlJson(["-n", ns, "get", "deployments,services,secrets"]);
  return new Map(list.items.map((o: any) => [`${o.kind}/${o.metadata.name}`, o.metadata.resourceVersion]));
}

before(async () => {
  await kubectl(["create", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: Array.from({ length: NODES }, (_, i) => kwokNode(`${pool}-${i}`)),
    }),
  });
  await waitUntil(`kwok nodes ${pool}-* Ready`, async () => {
    const nodes = await kubectlJson(["get", "nodes", "-l", `load17-test=${pool}`]);
    return (
      nodes.items.length === NODES &&
      nodes.items.every((n: any) => n.status.conditions?.some((c: any) => c.type === "Ready" && c.status === "True"))
    );
  });
  ({ ns, cleanup } = await withNamespace("load17"));
  dir = workdir({ "vllm-app.yaml": appsYaml() });
  cli = cliIn(dir);
});

after(async () => {
  // Not waiting: the 200 pods hold only this test's nodes' GPUs (the real node's replicas are gone by now,
  // see the logs test), and deleting 1,000 objects takes the namespace controller about a minute.
  // Pods still there when their node goes are removed by the pod garbage collector.
  await cleanup?.();
  await kubectl(["delete", "nodes", "-l", `load17-test=${pool}`, "--wait=false"], { allowFail: true });
});

test(`deploy of ${APPS} apps from one file: every app Ready, peak RSS under ${RSS_BOUND_MIB} MiB`, async (t) => {
  const run = startCli(["deploy", "-n", ns], dir);
  const peak = await watchPeakRss(run);
  const r = await run;
  t.diagnostic(`peak RSS ${peak.toFixed(0)} MiB`);
  assert.equal(r.exitCode, 0, r.stderr.slice(-3000));
  assert.ok(peak > 0, "the RSS was read");
  assert.ok(peak < RSS_BOUND_MIB, `peak RSS ${peak.toFixed(0)} MiB`);
  // a wait per app, 200 at once: no "possible EventEmitter memory leak" warning from Node
  assert.doesNotMatch(r.stderr, /Warning/);
  for (const name of names) {
    assert.ok(
      r.stdout.includes(
        `${name} (namespace ${ns})\n  created   Secret/${name}-api-key\n  created   Service/${name}\n  created   Deployment/${name}\n  created   NetworkPolicy/${name}\n  ready     1/1\n`,
      ),
      `${name}: created and ready in the output`,
    );
  }
  const deps = (await kubectlJson(["-n", ns, "get", "deployments"])).items;
  assert.deepEqual(deps.map((d: any) => d.metadata.name).sort(), names);
  for (const d of deps) {
    assert.equal(d.status.readyReplicas, 1, `${d.metadata.name} ready`);
    assert.ok(
      d.status.conditions.some((c: any) => c.type === "Available" && c.status === "True"),
      `${d.metadata.name} available`,
    );
  }
  const pods = (await kubectlJson(["-n", ns, "get", "pods"])).items;
  assert.equal(pods.length, APPS);
  assert.ok(
    pods.every((p: any) => p.spec.nodeName.startsWith(`${pool}-`)),
    "every pod on this test's nodes",
  );
});

test(`a second deploy of the ${APPS} apps changes nothing`, async (t) => {
  const before = await versions();
  const run = startCli(["deploy", "-n", ns], dir);
  const peak = await watchPeakRss(run);
  const r = await run;
  t.diagnostic(`peak RSS ${peak.toFixed(0)} MiB`);
  assert.equal(r.exitCode, 0, r.stderr.slice(-3000));
  assert.doesNotMatch(r.stderr, /Warning/);
  assert.ok(peak < RSS_BOUND_MIB, `peak RSS ${peak.toFixed(0)} MiB`);
  const actions = [...r.stdout.matchAll(/^ {2}(\S+) +(Secret|Service|Deployment)\/\S+$/gm)].map((m) => m[1]);
  assert.equal(actions.length, APPS * 3);
  assert.deepEqual([...new Set(actions)], ["unchanged"]);
  assert.deepEqual(await versions(), before);
});

test(`status --json and list show the ${APPS} apps, all ready`, () => {
  const s = cli(["status", "-n", ns, "--json"]);
  assert.equal(s.code, 0, s.stderr);
  const apps = JSON.parse(s.stdout).apps;
  assert.deepEqual(
    apps.map((a: any) => a.name),
    names,
  );
  for (const a of apps)
    assert.deepEqual([a.name, a.deployed, a.ready, a.replicas], [a.name, true, true, { ready: 1, desired: 1 }]);
  const l = cli(["list", "-n", ns]);
  assert.equal(l.code, 0, l.stderr);
  const rows = l.stdout.trimEnd().split("\n");
  assert.match(rows[0]!, /^NAME +READY +MODEL +AGE$/);
  assert.deepEqual(
    rows.slice(1).map((row) => row.split(/ +/).slice(0, 2)),
    names.map((n) => [n, "1/1"]),
  );
});

test(`logs --follow of ${REPLICAS} replicas running on the real node: every line of every replica once, in order`, async (t) => {
  const app = "load17-ticker";
  const node = tbEnv("VLLMAPP_REAL_NODE");
  const tickDir = workdir({
    "vllm-app.yaml": `name: ${app}
model_path: /models/tick
image: ${tbEnv("VLLM_STANDIN_IMAGE")}
# no GPU (the real node has 2): the replicas are pinned to the real node, which is tainted for GPU pods
resources: {gpu: 0, cpu: ["10m", "200m"], memory: ["32Mi", "128Mi"]}
scaling: {replicas: ${REPLICAS}}
requires_auth: false
env_vars: {STANDIN_TICK_RATE: "${TICK_RATE}"}
pod_template:
  spec:
    nodeSelector: {kubernetes.io/hostname: ${node}}
    tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
`,
  });
  t.after(async () => {
    // the next test file needs the real node's 20 pod slots
    await kubectl(["-n", ns, "delete", "deployment", app, "--wait=false"], { allowFail: true });
    await waitUntil(
      `the pods of ${app} gone`,
      async () => (await kubectlJson(["-n", ns, "get", "pods", "-l", `vllmapp.dev/app=${app}`])).items.length === 0,
      120_000,
      500,
    );
  });
  const d = startCli(["deploy", "-n", ns, "--timeout", "150s"], tickDir);
  const dr = await d;
  assert.equal(dr.exitCode, 0, dr.stderr.slice(-3000));
  const pods = (await podsOf(ns, app)).map((p) => p.metadata.name).sort();
  assert.equal(pods.length, REPLICAS);
  for (const p of await podsOf(ns, app)) assert.equal(p.spec.nodeName, node, `${p.metadata.name} on the real node`);

  const run = startCli(["logs", app, "-n", ns, "-f"], tickDir);
  let out = "";
  run.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  await waitUntil(
    "a tick line of every replica",
    async () =>
      pods.every(
        (p) => out.includes(`[${p}] (APIServer pid=`) && new RegExp(`^\\[${p}\\] .* tick \\d+$`, "m").test(out),
      ),
    60_000,
    200,
  );
  await new Promise((r) => setTimeout(r, FOLLOW_MS));
  run.kill("SIGINT");
  const r = await run;
  assert.equal(r.exitCode, 130, r.stderr);
  assert.equal(r.stderr, "error: interrupted: stopped streaming logs");

  // the raw stream (execa's r.stdout has its final newline stripped)
  const lines = out.split("\n");
  assert.equal(lines.pop(), "", "the output ends with a whole line");
  const byPod = new Map<string, string[]>(pods.map((p) => [p, []]));
  for (const l of lines) {
    const m = /^\[([^\]]+)\] (.*)$/.exec(l);
    assert.ok(m && byPod.has(m[1]!), `a line of one of the replicas: ${l}`);
    byPod.get(m[1]!)!.push(m[2]!);
  }
  let total = 0;
  for (const p of pods) {
    const got = byPod.get(p)!;
    const ticks = got
      .map((l) => /\[loggers\.py:257\] tick (\d+)$/.exec(l)?.[1])
      .filter((t) => t !== undefined)
      .map(Number);
    // every tick from the first, once, in order: no gap, no duplicate
    assert.deepEqual(
      ticks,
      Array.from({ length: ticks.length }, (_, i) => i + 1),
      `${p}: ticks 1…${ticks.length}`,
    );
    // followed live for FOLLOW_MS: at TICK_RATE a second that is hundreds; a tenth of it is a loose floor
    assert.ok(ticks.length >= (TICK_RATE * FOLLOW_MS) / 1000 / 10, `${p}: ${ticks.length} ticks`);
    // and every line (startup, probes' access log, ticks) is the container's log, line for line, from its start
    const log = (await kubectl(["-n", ns, "logs", p, "-c", "vllm"])).stdout.split("\n");
    assert.deepEqual(got, log.slice(0, got.length), `${p}: the followed lines are the start of its log`);
    total += ticks.length;
  }
  assert.ok(total >= REPLICAS * 50, `${total} tick lines in all`);
});
