/**
 * The plan is final (issue 26 step 5): what it reads from a cluster (app/cluster-reads.ts, here a recorded
 * stand-in) decides the namespace, the PodTemplate merged into the pods, the learned start-up budget, the
 * labelling of GPU nodes (when the file names none) and the sync waves, in the objects the plan holds (the preflight's report of an unread PodTemplate: test/integration/kubernetes-preflight).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import type { ClusterReads } from "../../../src/app/cluster-reads.ts";
import { nodePlanIo } from "../../../src/app/node-io.ts";
import { plan, type Plan } from "../../../src/app/plan.ts";
import type { K8sObject } from "../../../src/render/types.ts";
import { chooseGpuScheme } from "../../../src/cluster/gpu-nodes.ts";
import type { Node } from "../../../src/cluster/k8s-types.ts";
import { workdir } from "../../support/cli.ts";

const HOUSE = {
  metadata: { labels: { team: "ml-platform" }, creationTimestamp: null },
  spec: {
    containers: [
      { name: "vllm", image: "overridden", env: [{ name: "HOUSE", value: "1" }] },
      { name: "sidecar", image: "busybox:1.36" },
    ],
  },
};

/**
 * A cluster of one PodTemplate ("house" in namespace "team-a"), whose context names namespace "ctx", and
 * `nodes` (none unless given); every read is logged.
 */
function cluster(log: string[], budget?: number, nodes: Node[] = []): ClusterReads {
  return {
    defaultNamespace: async () => (log.push("defaultNamespace"), "ctx"),
    podTemplate: async (ns, name) => (
      log.push(`podTemplate ${ns}/${name}`),
      ns === "team-a" && name === "house"
        ? { template: HOUSE }
        : { problem: `PodTemplate ${name} (pod_template) does not exist in namespace ${ns}` }
    ),
    learnedBudget: async (app, ns) => (log.push(`learnedBudget ${ns}/${app}`), budget),
    gpuScheme: async (app, file, objects) => (
      log.push(`gpuScheme ${app.name}`),
      chooseGpuScheme(app, file, objects, nodes)
    ),
    serverMinor: async () => 36,
    jobOutput: async () => assert.fail("no run outputs here"),
  };
}

async function planOf(
  yaml: string,
  reads: ClusterReads | undefined,
  opts: { namespace?: string; syncWaves?: boolean } = {},
): Promise<Plan> {
  const dir = workdir({ "vllm-app.yaml": yaml });
  return plan(
    { file: path.join(dir, "vllm-app.yaml"), target: "kubernetes", params: new Map(), ...opts },
    { ...nodePlanIo({ hostHome: "/home/dev" }), ...(reads ? { cluster: reads } : {}) },
  );
}

const deployment = (p: Plan, app: string) =>
  p.apps.find((a) => a.rendered.name === app)!.rendered.objects!.find((o) => o.kind === "Deployment") as K8sObject & {
    spec: any;
  };

test("the namespace: --namespace, else the file's, else the context's, read once and only when an app needs it", async () => {
  const yaml =
    'name: a\nmodel_path: /m\nresources: {gpu: "L4:1"}\nnamespace: team-a\n---\nname: b\nmodel_path: /m\nresources: {gpu: "L4:1"}\n---\nname: c\nmodel_path: /m\nresources: {gpu: "L4:1"}\n';
  const log: string[] = [];
  const p = await planOf(yaml, cluster(log));
  assert.deepEqual(
    p.apps.map((a) => [a.rendered.name, a.namespace, ...new Set(a.rendered.objects!.map((o) => o.metadata.namespace))]),
    [
      ["a", "team-a", "team-a"],
      ["b", "ctx", "ctx"],
      ["c", "ctx", "ctx"],
    ],
  );
  assert.equal(log.filter((l) => l === "defaultNamespace").length, 1);
  const flagged = await planOf(yaml, cluster([]), { namespace: "flag" });
  assert.deepEqual(
    flagged.apps.map((a) => a.namespace),
    ["flag", "flag", "flag"],
  );
  // no cluster (render without --resolve): no namespace, as before
  assert.deepEqual(
    (await planOf(yaml, undefined)).apps.map((a) => a.namespace),
    ["team-a", undefined, undefined],
  );
});

test("a pod_template by name is merged into the plan's Deployment; one that cannot be read is carried for the preflight", async () => {
  const log: string[] = [];
  const p = await planOf(
    'name: a\nmodel_path: /m\nresources: {gpu: "L4:1"}\nnamespace: team-a\npod_template: house\n---\nname: b\nmodel_path: /m\nresources: {gpu: "L4:1"}\npod_template: house\n',
    cluster(log),
  );
  const pod = deployment(p, "a").spec.template;
  assert.equal(pod.metadata.labels.team, "ml-platform");
  assert.equal(pod.metadata.creationTimestamp, undefined);
  assert.deepEqual(
    pod.spec.containers.map((c: { name: string }) => c.name),
    ["vllm", "sidecar"],
  );
  assert.notEqual(pod.spec.containers[0].image, "overridden", "vllmapp's fields win");
  assert.ok(pod.spec.containers[0].env.some((e: { name: string }) => e.name === "HOUSE"));
  assert.deepEqual(
    p.apps.map((a) => a.podTemplate),
    [{ name: "house" }, { name: "house", problem: "PodTemplate house (pod_template) does not exist in namespace ctx" }],
  );
  assert.equal(deployment(p, "b").spec.template.metadata.labels.team, undefined);
  // the render's note that the pod is shown without the PodTemplate stays only where it was not merged
  assert.deepEqual(
    p.warnings.filter((w) => w.path === "pod_template").map((w) => w.app),
    ["b"],
  );
  assert.ok(log.includes("podTemplate team-a/house") && log.includes("podTemplate ctx/house"));
});

test("the start-up budget learned from the app's starts is in the plan's Deployment (not where the file sets startup_timeout)", async () => {
  const p = await planOf(
    'name: a\nmodel_path: /m\nresources: {gpu: "L4:1"}\n---\nname: b\nmodel_path: /m\nresources: {gpu: "L4:1"}\nstartup_timeout: 5m\n',
    cluster([], 601),
  );
  const probe = (app: string) => deployment(p, app).spec.template.spec.containers[0].startupProbe;
  // whole periods of the rendered probe, at least the budget
  const period = probe("a").periodSeconds;
  assert.equal(probe("a").failureThreshold, Math.ceil(601 / period));
  assert.equal(p.apps[0]!.startupSeconds, Math.ceil(601 / period) * period);
  assert.equal(p.apps[1]!.startupSeconds, undefined);
  assert.equal(probe("b").failureThreshold * probe("b").periodSeconds, 300);
});

test("sync waves are decided from the file's graph, in the objects the plan holds", async () => {
  const yaml =
    'name: a\nmodel_path: /m\nresources: {gpu: "L4:1"}\n---\nname: b\nmodel_path: /m\nresources: {gpu: "L4:1"}\ndepends_on: [a]\n';
  const p = await planOf(yaml, undefined);
  assert.deepEqual(
    p.apps.map((a) => [
      ...new Set(a.rendered.objects!.map((o) => o.metadata.annotations?.["argocd.argoproj.io/sync-wave"])),
    ]),
    [["0"], ["1"]],
  );
  const none = await planOf(yaml, undefined, { syncWaves: false });
  assert.ok(
    none.apps.every((a) =>
      a.rendered.objects!.every((o) => o.metadata.annotations?.["argocd.argoproj.io/sync-wave"] === undefined),
    ),
  );
});

const gpuNode = (name: string, labels: Record<string, string>): Node => ({
  apiVersion: "v1",
  kind: "Node",
  metadata: { name, labels: { "kubernetes.io/hostname": name, ...labels } },
  status: { allocatable: { "nvidia.com/gpu": "4" }, capacity: { "nvidia.com/gpu": "4" } },
});
const GKE_T4 = gpuNode("gke-t4-0", { "cloud.google.com/gke-accelerator": "nvidia-tesla-t4" });
const GFD_L4 = gpuNode("gfd-l4-0", { "nvidia.com/gpu.product": "NVIDIA-L4" });

test("GPU nodes with the type labelled only the GKE way: the plan renders with GKE's labels (the objects of the file that names them) and warns", async () => {
  const yaml = 'name: t4app\nmodel_path: /m\nresources: {gpu: "T4:1"}\npod_template: house\nnamespace: team-a\n';
  const log: string[] = [];
  const p = await planOf(yaml, cluster(log, undefined, [GKE_T4, GFD_L4]));
  assert.deepEqual(p.errors, []);
  assert.equal(p.apps[0]!.gpuScheme, "gke");
  const warning = p.warnings.find((w) => w.path === "resources.gpu");
  assert.deepEqual(warning && { severity: warning.severity, line: warning.line, message: warning.message }, {
    severity: "warning",
    line: 3,
    message: `t4app: no node has nvidia.com/gpu.product in (Tesla-T4) (GPU feature discovery's labels, the default), but 1 GPU node with T4 (gke-t4-0) is labelled the GKE way (cloud.google.com/gke-accelerator): deploying with node_labels: {scheme: gke}; write it in ${p.apps[0]!.loaded.file} to make it explicit`,
  });
  const pod = deployment(p, "t4app").spec.template;
  assert.deepEqual(pod.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms, [
    { matchExpressions: [{ key: "cloud.google.com/gke-accelerator", operator: "In", values: ["nvidia-tesla-t4"] }] },
  ]);
  assert.equal(pod.metadata.labels.team, "ml-platform", "the PodTemplate merged into the pod rendered again");
  // the PodTemplate is read once, the nodes asked once
  assert.deepEqual(
    log.filter((l) => !l.startsWith("learnedBudget")),
    ["podTemplate team-a/house", "gpuScheme t4app"],
  );
  const named = await planOf(`${yaml}node_labels: {scheme: gke}\n`, cluster([], undefined, [GKE_T4, GFD_L4]));
  assert.equal(named.apps[0]!.gpuScheme, undefined);
  assert.deepEqual(p.apps[0]!.rendered.objects, named.apps[0]!.rendered.objects);
});

test("GPU nodes with GPU feature discovery's labels for the type, a file that names node_labels, no cluster: the default labels, nothing said", async () => {
  const yaml = 'name: l4app\nmodel_path: /m\nresources: {gpu: "L4:1"}\nnamespace: team-a\n';
  const gfdAffinity = [{ key: "nvidia.com/gpu.product", operator: "In", values: ["NVIDIA-L4"] }];
  for (const [p, asked] of [
    [await planOf(yaml, cluster([], undefined, [GKE_T4, GFD_L4])), true],
    [await planOf(yaml, undefined), false],
  ] as const) {
    assert.equal(p.apps[0]!.gpuScheme, undefined);
    assert.deepEqual(
      p.warnings.filter((w) => w.path === "resources.gpu"),
      [],
    );
    assert.deepEqual(
      deployment(p, "l4app").spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution
        .nodeSelectorTerms[0].matchExpressions,
      gfdAffinity,
      asked ? "over the nodes" : "without a cluster",
    );
  }
  const log: string[] = [];
  await planOf(`${yaml}node_labels: {scheme: karpenter}\n`, cluster(log, undefined, [GKE_T4]));
  assert.ok(!log.some((l) => l.startsWith("gpuScheme")), "a file that names node_labels asks no nodes");
});
