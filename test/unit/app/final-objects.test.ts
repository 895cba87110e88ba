/**
 * The last steps of planning an app's objects (app/final-objects.ts), on hand-written workloads: a named
 * PodTemplate under both pods of a LeaderWorkerSet and under a Deployment's pod, and the startup budget.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { withPodTemplate, withStartBudget, withSyncWave, SYNC_WAVE } from "../../../src/app/final-objects.ts";
import type { K8sObject } from "../../../src/render/types.ts";

const pod = (image: string) => ({ spec: { containers: [{ name: "vllm", image }] } });
const lws: K8sObject = {
  apiVersion: "leaderworkerset.x-k8s.io/v1",
  kind: "LeaderWorkerSet",
  metadata: { name: "big" },
  spec: { replicas: 1, leaderWorkerTemplate: { size: 2, leaderTemplate: pod("l"), workerTemplate: pod("w") } },
};
const deployment = (probe?: Record<string, number>): K8sObject => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "small" },
  spec: {
    replicas: 1,
    template: { spec: { containers: [{ name: "vllm", image: "d", ...(probe ? { startupProbe: probe } : {}) }] } },
  },
});
const service: K8sObject = { apiVersion: "v1", kind: "Service", metadata: { name: "small" } };
const house = {
  metadata: { labels: { team: "ml" }, creationTimestamp: null },
  spec: { containers: [{ name: "sidecar", image: "busybox" }], priorityClassName: "high" },
};

test("a PodTemplate goes under both pods of a LeaderWorkerSet and under a Deployment's pod; other objects stay as they were", () => {
  const [l, d, s] = withPodTemplate([lws, deployment(), service], house) as [K8sObject, K8sObject, K8sObject];
  const merged = (image: string) => ({
    metadata: { labels: { team: "ml" } },
    spec: {
      containers: [
        { name: "sidecar", image: "busybox" },
        { name: "vllm", image },
      ],
      priorityClassName: "high",
    },
  });
  assert.deepEqual(l.spec, {
    replicas: 1,
    leaderWorkerTemplate: { size: 2, leaderTemplate: merged("l"), workerTemplate: merged("w") },
  });
  assert.deepEqual(d.spec, { replicas: 1, template: merged("d") });
  assert.equal(s, service);
  assert.deepEqual(lws.spec, {
    replicas: 1,
    leaderWorkerTemplate: { size: 2, leaderTemplate: pod("l"), workerTemplate: pod("w") },
  });
});

test("the startup budget is whole probe periods, at least one; without a startup probe nothing changes", () => {
  const budget = withStartBudget([service, deployment({ periodSeconds: 15, failureThreshold: 4 })], 100);
  assert.equal(budget.seconds, 105);
  assert.deepEqual(budget.objects[1]!.spec, {
    replicas: 1,
    template: {
      spec: { containers: [{ name: "vllm", image: "d", startupProbe: { periodSeconds: 15, failureThreshold: 7 } }] },
    },
  });
  assert.equal(withStartBudget([deployment({})], 1).seconds, 10);
  assert.deepEqual(withStartBudget([deployment()], 100), { objects: [deployment()] });
  assert.equal(withSyncWave([service], 2)[0]!.metadata.annotations?.[SYNC_WAVE], "2");
});
