/**
 * The real node's Service network (cluster-net.mjs): a pod on the real node reaches a Service by its DNS name
 * (CoreDNS on 198.19.0.1, cluster.local) and by its ClusterIP (kube-proxy's iptables rules), as on any cluster.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Resolver } from "node:dns/promises";
import { kubectl, kubectlJson, tbEnv, waitUntil, withNamespace } from "../support/testbed.ts";

const onRealNode = {
  nodeSelector: { "nvidia.com/gpu.product": "NVIDIA-A10G" },
  tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
  terminationGracePeriodSeconds: 2,
  enableServiceLinks: false,
};

/** A pod that GETs `url` once with rclone (the test bed's rclone image: a static Go binary, Go's own resolver). */
function client(ns: string, name: string, url: string): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns },
    spec: {
      ...onRealNode,
      restartPolicy: "Never",
      containers: [
        {
          name: "get",
          image: tbEnv("RCLONE_IMAGE_REGISTRY"),
          args: ["copyurl", "--quiet", "--stdout", url],
          resources: { limits: { cpu: "200m", memory: "128Mi" } },
        },
      ],
    },
  });
}

async function output(ns: string, name: string): Promise<string> {
  const phase = await waitUntil(
    `pod ${name} finished`,
    async () => {
      const p = await kubectlJson<any>(["-n", ns, "get", "pod", name]);
      return ["Succeeded", "Failed"].includes(p.status?.phase) ? p.status.phase : null;
    },
    120_000,
    500,
  );
  const logs = (await kubectl(["-n", ns, "logs", name])).stdout;
  assert.equal(phase, "Succeeded", `pod ${name}: ${logs}`);
  return logs;
}

test("a pod on the real node reaches a Service by its DNS name and by its ClusterIP", async () => {
  const { ns, cleanup } = await withNamespace("clusternet");
  try {
    await kubectl(["apply", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: [
          {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: "web", namespace: ns, labels: { app: "web" } },
            spec: {
              ...onRealNode,
              containers: [
                {
                  name: "vllm",
                  image: tbEnv("VLLM_STANDIN_IMAGE"),
                  args: ["tiny", "--port", "8000"],
                  resources: { limits: { memory: "256Mi", cpu: "500m" }, requests: { cpu: "100m", memory: "64Mi" } },
                  readinessProbe: { httpGet: { path: "/health", port: 8000 }, periodSeconds: 1 },
                },
              ],
            },
          },
          {
            apiVersion: "v1",
            kind: "Service",
            metadata: { name: "web", namespace: ns },
            spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8000 }] },
          },
        ],
      }),
    });
    await kubectl(["-n", ns, "wait", "--for=condition=Ready", "pod/web", "--timeout=90s"], { timeoutMs: 100_000 });
    const svc = await kubectlJson<any>(["-n", ns, "get", "service", "web"]);
    const ip: string = svc.spec.clusterIP;
    // 198.19.128.0/20: neither a private range nor Docker's pool nor the pod subnet
    assert.match(ip, /^198\.19\.(12[89]|1[34]\d)\.\d+$/);
    const kubernetes = await kubectlJson<any>(["-n", "default", "get", "service", "kubernetes"]);
    assert.equal(kubernetes.spec.clusterIP, "198.19.128.1");

    // CoreDNS answers the host too, on the pod bridge address
    const dns = new Resolver({ timeout: 2000, tries: 1 });
    dns.setServers([tbEnv("VLLMAPP_CLUSTER_DNS")]);
    assert.deepEqual(await dns.resolve4(`web.${ns}.svc.cluster.local`), [ip]);

    const full = `http://web.${ns}.svc.cluster.local/v1/models`;
    await kubectl(["apply", "-f", "-"], { input: client(ns, "by-name", full) });
    await kubectl(["apply", "-f", "-"], { input: client(ns, "by-short-name", "http://web/v1/models") });
    await kubectl(["apply", "-f", "-"], { input: client(ns, "by-ip", `http://${ip}/v1/models`) });
    for (const name of ["by-name", "by-short-name", "by-ip"]) {
      const body = JSON.parse(await output(ns, name));
      assert.deepEqual(
        body.data.map((m: { id: string }) => m.id),
        ["tiny"],
        name,
      );
    }
    // the clients resolved through the cluster DNS (the kubelet's clusterDNS and search path)
    const p = await kubectlJson<any>(["-n", ns, "get", "pod", "by-name"]);
    assert.equal(p.spec.dnsPolicy, "ClusterFirst");
  } finally {
    await cleanup();
  }
});
