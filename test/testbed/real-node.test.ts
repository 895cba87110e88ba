/** Smoke tests of the test bed's real node: a kubelet that really runs pods, next to the kwok nodes. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { freePort, kubectl, kubectlJson, tbEnv, waitUntil, withNamespace } from "../support/testbed.ts";

const NODE = () => tbEnv("VLLMAPP_REAL_NODE");

function pod(ns: string, name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns, labels: { app: name } },
    spec: {
      nodeSelector: { "nvidia.com/gpu.product": "NVIDIA-A10G" },
      tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
      terminationGracePeriodSeconds: 2,
      enableServiceLinks: false,
      ...spec,
    },
  });
}

test("the real node is Ready, run by its own kubelet (not kwok), with A10G labels and 2 fake GPUs", async () => {
  const n = await kubectlJson<any>(["get", "node", NODE()]);
  assert.ok(n.status.conditions.some((c: any) => c.type === "Ready" && c.status === "True"));
  assert.equal(n.status.daemonEndpoints.kubeletEndpoint.Port, 10250, "served by the real kubelet, not kwok");
  assert.equal(n.metadata.annotations?.["kwok.x-k8s.io/node"], undefined);
  assert.equal(n.status.nodeInfo.kubeletVersion, "v1.36.3");
  assert.match(n.status.nodeInfo.containerRuntimeVersion, /^containerd:\/\//);
  assert.equal(n.metadata.labels["nvidia.com/gpu.product"], "NVIDIA-A10G");
  assert.equal(n.status.allocatable["nvidia.com/gpu"], "2");
  assert.deepEqual(n.spec.taints, [{ key: "nvidia.com/gpu", value: "present", effect: "NoSchedule" }]);
  assert.equal(tbEnv("VLLMAPP_REAL_GPU"), "A10G");
  const addr = n.status.addresses.find((a: any) => a.type === "InternalIP")?.address;
  assert.equal(addr, "198.19.0.1");
  // No kwok node carries the A10G product: an A10G request lands on the real node and nowhere else.
  const nodes = await kubectlJson<{ items: any[] }>(["get", "nodes", "-l", "nvidia.com/gpu.product=NVIDIA-A10G"]);
  assert.deepEqual(
    nodes.items.map((x) => x.metadata.name),
    [NODE()],
  );
});

test("a pod on the real node really runs: logs, exec, port-forward, GPU accounting", async () => {
  const { ns, cleanup } = await withNamespace("realnode");
  const image = tbEnv("VLLM_STANDIN_IMAGE");
  try {
    await kubectl(["apply", "-f", "-"], {
      input: pod(ns, "web", {
        containers: [
          {
            name: "vllm",
            image,
            args: ["tiny", "--port", "8000"],
            resources: {
              limits: { "nvidia.com/gpu": "1", memory: "256Mi", cpu: "500m" },
              requests: { cpu: "100m", memory: "64Mi" },
            },
            readinessProbe: { httpGet: { path: "/health", port: 8000 }, periodSeconds: 1 },
          },
        ],
      }),
    });
    await kubectl(["-n", ns, "wait", "--for=condition=Ready", "pod/web", "--timeout=90s"], { timeoutMs: 100_000 });
    const p = await kubectlJson<any>(["-n", ns, "get", "pod", "web"]);
    assert.equal(p.spec.nodeName, NODE());
    assert.match(p.status.podIP, /^198\.19\.0\.\d+$/);
    const logs = await kubectl(["-n", ns, "logs", "web"]);
    assert.match(logs.stdout, /GET \/health/);
    const ver = await kubectl(["-n", ns, "exec", "web", "--", "vllm", "--version"]);
    assert.match(ver.stdout, /\d+\.\d+\.\d+/);

    // port-forward: through the API server and the kubelet into the pod's network namespace
    const port = await freePort();
    const pf = spawn(
      tbEnv("VLLMAPP_TEST_KUBECTL"),
      ["-n", ns, "port-forward", "pod/web", `${port}:8000`, "--address", "127.0.0.1"],
      { stdio: "ignore" },
    );
    try {
      const body = await waitUntil(
        "port-forward answers",
        async () => {
          const r = await fetch(`http://127.0.0.1:${port}/v1/models`).catch(() => null);
          return r?.ok ? await r.text() : null;
        },
        30_000,
      );
      assert.match(body, /"tiny"/);
    } finally {
      pf.kill();
    }

    // a second pod asking for 2 more GPUs does not fit: 1 of 2 is in use
    await kubectl(["apply", "-f", "-"], {
      input: pod(ns, "greedy", {
        containers: [{ name: "c", image, resources: { limits: { "nvidia.com/gpu": "2" } } }],
      }),
    });
    const reason = await waitUntil("greedy pod unschedulable", async () => {
      const g = await kubectlJson<any>(["-n", ns, "get", "pod", "greedy"]);
      const c = g.status?.conditions?.find((x: any) => x.type === "PodScheduled");
      return c?.status === "False" ? c.message : null;
    });
    assert.match(reason, /Insufficient nvidia\.com\/gpu/);
  } finally {
    await cleanup();
  }
});
