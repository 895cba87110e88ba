/** Smoke tests of the test bed's Kubernetes side: real apiserver/scheduler/controllers, kwok GPU nodes. */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { kubectl, kubectlJson, waitUntil, withNamespace } from "../support/testbed.ts";

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/testbed");

function deployment(
  ns: string,
  name: string,
  opts: { gpus: number; nodeSelector?: Record<string, string>; image?: string; annotations?: Record<string, string> },
): string {
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: ns },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations: opts.annotations ?? {} },
        spec: {
          nodeSelector: opts.nodeSelector ?? {},
          containers: [
            {
              name: "vllm",
              image: opts.image ?? "vllm/vllm-openai:v0.19.0",
              args: ["Qwen/Qwen3-0.6B", "--port", "8000"],
              resources: { limits: { "nvidia.com/gpu": String(opts.gpus) } },
            },
          ],
        },
      },
    },
  });
}

test("the four kwok GPU nodes are Ready with their GPUs, labels and taints", async () => {
  const nodes = await kubectlJson<{ items: any[] }>(["get", "nodes"]);
  const byName = new Map(nodes.items.map((n) => [n.metadata.name, n]));
  const expect: Record<string, { gpus: string; product: string }> = {
    "kwok-a100-0": { gpus: "8", product: "NVIDIA-A100-SXM4-80GB" },
    "kwok-l4-0": { gpus: "8", product: "NVIDIA-L4" },
    "kwok-h100-spot-0": { gpus: "8", product: "NVIDIA-H100-80GB-HBM3" },
    "kwok-l4-pool-0": { gpus: "4", product: "NVIDIA-L4" },
  };
  for (const [name, e] of Object.entries(expect)) {
    const n = byName.get(name);
    assert.ok(n, `node ${name} exists`);
    assert.equal(n.status.allocatable["nvidia.com/gpu"], e.gpus, name);
    assert.equal(n.status.capacity["nvidia.com/gpu"], e.gpus, name);
    assert.equal(n.metadata.labels["nvidia.com/gpu.product"], e.product, name);
    assert.equal(n.metadata.labels.type, "kwok", name);
    assert.equal(n.metadata.annotations["kwok.x-k8s.io/node"], "fake", name);
    assert.ok(
      n.status.conditions.some((c: any) => c.type === "Ready" && c.status === "True"),
      `${name} Ready`,
    );
  }
  const a100 = byName.get("kwok-a100-0");
  assert.deepEqual(
    {
      cpu: a100.status.allocatable.cpu,
      memory: a100.status.allocatable.memory,
      pods: a100.status.allocatable.pods,
      eph: a100.status.allocatable["ephemeral-storage"],
    },
    { cpu: "96", memory: "1Ti", pods: "110", eph: "2Ti" },
  );
  const spot = byName.get("kwok-h100-spot-0");
  assert.equal(spot.metadata.labels["cloud.google.com/gke-spot"], "true");
  assert.deepEqual(
    spot.spec.taints.map((t: any) => `${t.key}=${t.value}:${t.effect}`),
    ["cloud.google.com/gke-spot=true:NoSchedule"],
  );
  const pool = byName.get("kwok-l4-pool-0");
  assert.equal(pool.metadata.labels["vllmapp.dev/pool"], "inference");
  assert.equal(pool.status.allocatable["nvidia.com/mig-1g.10gb"], "7");
  // kwok served node addresses on loopback only (the real node has the pod bridge's address: real-node.test.ts)
  for (const n of nodes.items.filter((x) => x.metadata.labels.type === "kwok")) {
    assert.deepEqual(
      n.status.addresses.map((a: any) => a.address),
      ["127.0.0.1", "localhost"],
      `${n.metadata.name} addresses`,
    );
  }
});

test("kubectl and the apiserver report the pinned Kubernetes version", async () => {
  const v = await kubectlJson<any>(["version"]);
  assert.match(v.clientVersion.gitVersion, /^v1\.\d+\.\d+$/);
  assert.equal(v.serverVersion.gitVersion, v.clientVersion.gitVersion);
});

test("a 1-GPU Deployment pinned to L4 rolls out Ready on an L4 node and its logs come back through the API", async () => {
  const { ns, cleanup } = await withNamespace("tb-l4");
  try {
    await kubectl(["apply", "-f", "-"], {
      input: deployment(ns, "qwen", { gpus: 1, nodeSelector: { "nvidia.com/gpu.product": "NVIDIA-L4" } }),
    });
    await kubectl(["-n", ns, "rollout", "status", "deploy/qwen", "--timeout=60s"]);
    const pods = await kubectlJson<{ items: any[] }>(["-n", ns, "get", "pods", "-l", "app=qwen"]);
    assert.equal(pods.items.length, 1);
    const pod = pods.items[0];
    assert.ok(
      ["kwok-l4-0", "kwok-l4-pool-0"].includes(pod.spec.nodeName),
      `scheduled on an L4 node, got ${pod.spec.nodeName}`,
    );
    assert.equal(pod.status.phase, "Running");
    assert.ok(pod.status.conditions.some((c: any) => c.type === "Ready" && c.status === "True"));
    const logs = await kubectl(["-n", ns, "logs", "deploy/qwen", "-c", "vllm"]);
    assert.match(logs.stdout, /vLLM API server version 0\.19\.0/);
    assert.match(logs.stdout, /Starting vLLM API server on http:\/\/0\.0\.0\.0:8000/);
    assert.match(logs.stdout.trimEnd(), /Application startup complete\.$/);
    // --timestamps / --tail work too (the log file is in CRI format)
    const t = await kubectl(["-n", ns, "logs", pod.metadata.name, "--tail=1", "--timestamps"]);
    assert.match(t.stdout, /^2026-01-01T00:00:\d\d(\.\d+)?Z .*Application startup complete\.\n$/);
  } finally {
    await cleanup();
  }
});

test("a 16-GPU Deployment stays Pending with the scheduler's reason in the events", async () => {
  const { ns, cleanup } = await withNamespace("tb-big");
  try {
    await kubectl(["apply", "-f", "-"], { input: deployment(ns, "huge", { gpus: 16 }) });
    const msg = await waitUntil("a FailedScheduling event", async () => {
      const ev = await kubectlJson<{ items: any[] }>([
        "-n",
        ns,
        "get",
        "events",
        "--field-selector",
        "reason=FailedScheduling",
      ]);
      return ev.items.map((e) => e.message as string).find((m) => /Insufficient nvidia\.com\/gpu/.test(m));
    });
    // four kwok nodes and the real node; the spot node and the real node (nvidia.com/gpu taint) are tainted
    assert.match(msg, /^0\/5 nodes are available: .*Insufficient nvidia\.com\/gpu/);
    assert.match(msg, /2 node\(s\) had untolerated taint/);
    const pods = await kubectlJson<{ items: any[] }>(["-n", ns, "get", "pods", "-l", "app=huge"]);
    assert.equal(pods.items[0].status.phase, "Pending");
    assert.ok(
      pods.items[0].status.conditions.some(
        (c: any) => c.type === "PodScheduled" && c.status === "False" && c.reason === "Unschedulable",
      ),
    );
  } finally {
    await cleanup();
  }
});

test("a batch/v1 Job completes (pod-complete stage), and simulate=fail makes it fail", async () => {
  const { ns, cleanup } = await withNamespace("tb-job");
  try {
    const job = (name: string, annotations: Record<string, string>) =>
      JSON.stringify({
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name, namespace: ns },
        spec: {
          backoffLimit: 0,
          template: {
            metadata: { annotations },
            spec: {
              restartPolicy: "Never",
              containers: [{ name: "train", image: "trainer:1", resources: { limits: { "nvidia.com/gpu": "1" } } }],
            },
          },
        },
      });
    await kubectl(["apply", "-f", "-"], { input: job("ok", { "vllmapp-testbed/run-duration": "1s" }) });
    await kubectl(["apply", "-f", "-"], { input: job("bad", { "vllmapp-testbed/simulate": "fail" }) });
    await kubectl(["-n", ns, "wait", "--for=condition=Complete", "job/ok", "--timeout=60s"]);
    await kubectl(["-n", ns, "wait", "--for=condition=Failed", "job/bad", "--timeout=60s"]);
    const pods = await kubectlJson<{ items: any[] }>(["-n", ns, "get", "pods", "-l", "job-name=bad"]);
    assert.equal(pods.items[0].status.containerStatuses[0].state.terminated.exitCode, 1);
  } finally {
    await cleanup();
  }
});

test("failure simulation: invalid image, crashloop and OOM pods never become Ready", async () => {
  const { ns, cleanup } = await withNamespace("tb-sim");
  try {
    await kubectl(["apply", "-f", "-"], {
      input: deployment(ns, "badimage", { gpus: 1, image: "vllmapp.invalid/vllm-openai:nope" }),
    });
    await kubectl(["apply", "-f", "-"], {
      input: deployment(ns, "crashy", { gpus: 1, annotations: { "vllmapp-testbed/simulate": "crashloop" } }),
    });
    await kubectl(["apply", "-f", "-"], {
      input: deployment(ns, "oomy", { gpus: 1, annotations: { "vllmapp-testbed/simulate": "oom" } }),
    });
    const status = (app: string) =>
      waitUntil(`a pod of ${app} with container status`, async () => {
        const pods = await kubectlJson<{ items: any[] }>(["-n", ns, "get", "pods", "-l", `app=${app}`]);
        return pods.items[0]?.status?.containerStatuses?.[0] ? pods.items[0] : undefined;
      });

    const bad = await waitUntil("ImagePullBackOff", async () => {
      const p = await status("badimage");
      return p.status.containerStatuses[0].state.waiting?.reason === "ImagePullBackOff" ? p : undefined;
    });
    assert.equal(bad.status.phase, "Pending");
    assert.match(bad.status.containerStatuses[0].state.waiting.message, /vllmapp\.invalid\/vllm-openai:nope/);
    const ev = await kubectlJson<{ items: any[] }>([
      "-n",
      ns,
      "get",
      "events",
      "--field-selector",
      `involvedObject.name=${bad.metadata.name}`,
    ]);
    assert.ok(
      ev.items.some((e) => e.message === "Error: ErrImagePull"),
      "ErrImagePull event",
    );

    const crash = await status("crashy");
    const cs = crash.status.containerStatuses[0];
    assert.equal(cs.name, "vllm");
    assert.equal(cs.state.waiting.reason, "CrashLoopBackOff");
    assert.equal(cs.lastState.terminated.exitCode, 1);
    assert.ok(cs.restartCount > 0);
    assert.equal(crash.status.phase, "Running");

    const oom = (await status("oomy")).status.containerStatuses[0];
    assert.equal(oom.lastState.terminated.reason, "OOMKilled");
    assert.equal(oom.lastState.terminated.exitCode, 137);
    assert.equal(oom.state.waiting.reason, "CrashLoopBackOff");

    for (const app of ["badimage", "crashy", "oomy"]) {
      const p = await status(app);
      assert.ok(!p.status.conditions.some((c: any) => c.type === "Ready" && c.status === "True"), `${app} never Ready`);
    }
    const dep = await kubectlJson<any>(["-n", ns, "get", "deploy", "crashy"]);
    assert.ok(!dep.status.readyReplicas, "no ready replicas");
  } finally {
    await cleanup();
  }
});

test("a Logs object (kwok CRD) gives one pod its own log file", async () => {
  const { ns, cleanup } = await withNamespace("tb-logs");
  try {
    await kubectl(["apply", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "crashy", namespace: ns, annotations: { "vllmapp-testbed/simulate": "crashloop" } },
        spec: { containers: [{ name: "vllm", image: "vllm/vllm-openai:v0.19.0" }] },
      }),
    });
    await kubectl(["apply", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "kwok.x-k8s.io/v1alpha1",
        kind: "Logs",
        metadata: { name: "crashy", namespace: ns }, // name = pod name
        spec: {
          logs: [
            {
              containers: ["vllm"],
              logsFile: path.join(FIXTURES, "vllm-crash.log"),
              previousLogsFile: path.join(FIXTURES, "vllm-crash.log"),
            },
          ],
        },
      }),
    });
    const out = await waitUntil(
      "crash log through kubectl logs",
      async () => {
        const r = await kubectl(["-n", ns, "logs", "crashy"], { allowFail: true });
        return r.code === 0 && /Traceback/.test(r.stdout) ? r.stdout : undefined;
      },
      30_000,
    );
    assert.match(out, /RuntimeError: Engine core initialization failed/);
  } finally {
    await cleanup();
  }
});
