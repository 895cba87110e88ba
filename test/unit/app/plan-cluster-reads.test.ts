/**
 * The plan is final (issue 26 step 5): what it reads from a cluster (app/cluster-reads.ts, here a recorded
 * stand-in) decides the namespace, the PodTemplate merged into the pods, the learned start-up budget and the
 * sync waves, in the objects the plan holds (the preflight's report of an unread PodTemplate: test/integration/kubernetes-preflight).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import type { ClusterReads } from "../../../src/app/cluster-reads.ts";
import { nodePlanIo } from "../../../src/app/node-io.ts";
import { plan, type Plan } from "../../../src/app/plan.ts";
import type { K8sObject } from "../../../src/render/types.ts";
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

/** A cluster of one PodTemplate ("house" in namespace "team-a"), whose context names namespace "ctx"; every read is logged. */
function cluster(log: string[], budget?: number): ClusterReads {
  return {
    defaultNamespace: async () => (log.push("defaultNamespace"), "ctx"),
    podTemplate: async (ns, name) => (
      log.push(`podTemplate ${ns}/${name}`),
      ns === "team-a" && name === "house"
        ? { template: HOUSE }
        : { problem: `PodTemplate ${name} (pod_template) does not exist in namespace ${ns}` }
    ),
    learnedBudget: async (app, ns) => (log.push(`learnedBudget ${ns}/${app}`), budget),
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
