/**
 * The Kubernetes renderer's pod builder (render/kubernetes/pod.ts) and the one place that decides where
 * a model, a draft and an adapter land and how they are copied (render/kubernetes/artifacts.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import type { V1Container, V1PodSpec } from "@kubernetes/client-node";
import { plan } from "../../../src/app/plan.ts";
import { nodePlanIo } from "../../../src/app/node-io.ts";
import { PodBuilder } from "../../../src/render/kubernetes/pod.ts";
import type { K8sObject } from "../../../src/render/types.ts";
import { workdir } from "../../support/cli.ts";

test("the pod builder replaces a volume by name and a mount by path, keeps the template's first, and writes them once", () => {
  const server: V1Container = { name: "vllm", volumeMounts: [{ name: "dshm", mountPath: "/dev/shm" }] };
  const pod: V1PodSpec = {
    containers: [server],
    volumes: [{ name: "dshm", emptyDir: {} }],
    initContainers: [{ name: "template-init" }],
  };
  const b = new PodBuilder(pod, server);
  b.addVolume({ name: "cache", emptyDir: {} }).addVolume({ name: "dshm", emptyDir: { medium: "Memory" } });
  b.addMount({ name: "cache", mountPath: "/cache" }).addMount({ name: "other", mountPath: "/cache" });
  b.addInit({ name: "copy" });
  assert.equal(b.hasMount("other"), true);
  assert.equal(b.hasMount("cache"), false, "the mount at /cache was replaced");
  assert.deepEqual(pod.volumes, [{ name: "dshm", emptyDir: {} }], "nothing is written before finish()");
  b.finish();
  assert.deepEqual(pod.volumes, [
    { name: "dshm", emptyDir: { medium: "Memory" } },
    { name: "cache", emptyDir: {} },
  ]);
  assert.deepEqual(server.volumeMounts, [
    { name: "dshm", mountPath: "/dev/shm" },
    { name: "other", mountPath: "/cache" },
  ]);
  assert.deepEqual(
    pod.initContainers!.map((c) => c.name),
    ["template-init", "copy"],
  );
});

test("the pod builder's scheduling: tolerations add up, required and preferred node terms, node selectors merge", () => {
  const pod: V1PodSpec = {
    containers: [{ name: "vllm" }],
    tolerations: [{ key: "t", operator: "Exists" }],
    nodeSelector: { a: "1" },
  };
  const b = new PodBuilder(pod, pod.containers[0]!);
  b.tolerate([{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
  b.requireNodes([{ key: "nvidia.com/gpu.product", operator: "In", values: ["NVIDIA-L4"] }]);
  b.preferNodes(
    [
      { key: "spot", operator: "In", values: ["true"] },
      { key: "cap", operator: "In", values: ["SPOT"] },
    ],
    50,
  );
  b.selectNodes({ pool: "gpu" });
  assert.deepEqual(
    pod.tolerations!.map((t) => t.key),
    ["t", "nvidia.com/gpu"],
  );
  assert.deepEqual(pod.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution, {
    nodeSelectorTerms: [
      { matchExpressions: [{ key: "nvidia.com/gpu.product", operator: "In", values: ["NVIDIA-L4"] }] },
    ],
  });
  assert.deepEqual(
    pod.affinity!.nodeAffinity!.preferredDuringSchedulingIgnoredDuringExecution!.map((p) => [
      p.weight,
      p.preference.matchExpressions![0]!.key,
    ]),
    [
      [50, "spot"],
      [50, "cap"],
    ],
  );
  assert.deepEqual(pod.nodeSelector, { a: "1", pool: "gpu" });
});

async function podOf(yaml: string): Promise<{ pod: V1PodSpec; args: string[] }> {
  const dir = workdir({ "vllm-app.yaml": yaml });
  const p = await plan(
    { file: path.join(dir, "vllm-app.yaml"), target: "kubernetes", params: new Map() },
    nodePlanIo({ hostHome: "/home/dev" }),
  );
  assert.deepEqual(p.errors, []);
  const dep = p.apps[0]!.rendered.objects!.find((o: K8sObject) => o.kind === "Deployment") as unknown as {
    spec: { template: { spec: V1PodSpec } };
  };
  return { pod: dep.spec.template.spec, args: p.apps[0]!.rendered.serve.args };
}
const flag = (args: string[], name: string) => args.slice(args.indexOf(name) + 1);

test("artifacts: a PVC model, an object-store draft and adapters of both kinds land where vLLM is told they are", async () => {
  const yaml = [
    "name: app",
    "model_path: pvc://weights/qwen",
    "draft_model_path: s3://bucket/draft/",
    "speculative_config: {num_speculative_tokens: 3}",
    "lora: {adapters: [{name: sql, source: s3://bucket/sql/}, {name: Ft_1, source: pvc://adapters/ft}], max_rank: 16}",
    "",
  ].join("\n");
  const { pod, args } = await podOf(yaml);
  const vllm = pod.containers.find((c) => c.name === "vllm")!;
  const claims = pod
    .volumes!.filter((v) => v.persistentVolumeClaim)
    .map((v) => [v.name, v.persistentVolumeClaim!.claimName, v.persistentVolumeClaim!.readOnly]);
  assert.deepEqual(claims, [
    ["model", "weights", true],
    ["lora-ft-1", "adapters", true],
  ]);
  assert.ok(vllm.volumeMounts!.some((m) => m.name === "model" && m.mountPath === "/mnt/model" && m.readOnly));
  assert.ok(
    vllm.volumeMounts!.some((m) => m.name === "lora-ft-1" && m.mountPath === "/mnt/adapters/Ft_1" && m.readOnly),
  );
  assert.equal(args[0], "/mnt/model/qwen");
  const draftTo = JSON.parse(flag(args, "--speculative-config")[0]!).model as string;
  const adapters = new Map(
    flag(args, "--lora-modules")
      .filter((a) => a.startsWith("{"))
      .map((a) => JSON.parse(a) as { name: string; path: string })
      .map((a) => [a.name, a.path]),
  );
  assert.ok(adapters.get("Ft_1")!.startsWith("/mnt/adapters/Ft_1"));
  // the copies: into the paths vLLM is given, the draft first
  // rclone copy :s3:BUCKET/PREFIX --s3-env-auth --s3-provider=Other TO …
  assert.deepEqual(
    pod.initContainers!.map((c) => [c.name, c.args![1], c.args![4]]),
    [
      ["draft-download", ":s3:bucket/draft", draftTo],
      ["adapter-sql", ":s3:bucket/sql", adapters.get("sql")],
    ],
  );
  for (const c of pod.initContainers!)
    assert.deepEqual(
      c.volumeMounts![0],
      { name: "cache", mountPath: "/cache" },
      `${c.name} copies into the cache volume`,
    );
});

test("artifacts: an object-store model is copied into the cache unless vLLM streams it", async () => {
  const copied = await podOf("name: app\nmodel_path: s3://bucket/models/qwen/\nstream_model: false\n");
  assert.deepEqual(
    copied.pod.initContainers!.map((c) => [c.name, c.args![4]]),
    [["model-download", "/cache/models/app"]],
  );
  assert.equal(copied.args[0], "/cache/models/app");
  const streamed = await podOf("name: app\nmodel_path: s3://bucket/models/qwen/\n");
  assert.equal(streamed.pod.initContainers, undefined);
});
