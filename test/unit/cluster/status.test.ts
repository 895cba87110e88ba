/**
 * `status` without the test bed: what a deployed app's status says, from the objects read back
 * (src/cluster/status.ts `describeApp`, pure). The reads, the start-up and the not-ready reason are the
 * integration tests' (test/integration/*status*).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Deployment, Ingress, LeaderWorkerSet, Service } from "../../../src/cluster/k8s-types.ts";
import { describeApp, type AppObjects } from "../../../src/cluster/status.ts";

const DEP: Deployment = {
  metadata: {
    name: "qwen3",
    namespace: "team",
    creationTimestamp: "2020-01-01T00:00:00Z",
    annotations: {
      "vllmapp.dev/model-id": "qwen3-0.6b",
      "vllmapp.dev/model-uri": "hf://Qwen/Qwen3-0.6B",
      "vllmapp.dev/model-source": "huggingface",
      "vllmapp.dev/description": "the small one",
      "vllmapp.dev/links": JSON.stringify([
        { title: "docs", path: "/docs", is_relative: true },
        { title: "runbook", path: "https://wiki.example.com/qwen3" },
      ]),
    },
  },
  spec: {
    selector: {},
    template: {
      spec: {
        containers: [
          { name: "sidecar", image: "busybox" },
          {
            name: "vllm",
            image: "vllm/vllm-openai:v0.19.0",
            args: ["Qwen/Qwen3-0.6B", "--lora-modules", "sql=/adapters/sql", '{"name":"chat","path":"/adapters/chat"}'],
            env: [
              { name: "VLLM_API_KEY", valueFrom: { secretKeyRef: { name: "qwen3-api-key", key: "VLLM_API_KEY" } } },
            ],
          },
        ],
      },
    },
  },
};
const SVC: Service = { metadata: { name: "qwen3", namespace: "team" }, spec: { ports: [{ port: 8000 }] } };
const ING: Ingress = {
  metadata: { name: "qwen3" },
  spec: {
    tls: [{ hosts: ["qwen3.example.com"] }],
    rules: [{ host: "qwen3.example.com" }, { host: "plain.example.com" }],
  },
};
const objects = (o: Partial<AppObjects>): AppObjects => ({
  dep: undefined,
  lws: undefined,
  svc: undefined,
  ing: undefined,
  replicaSets: [],
  pods: [],
  events: [],
  route: null,
  ...o,
});

test("a Deployment's status: replicas, Service URL, Ingress URLs, model, the server's image, links, API key, adapters", () => {
  const s = describeApp("qwen3", "team", objects({ dep: DEP, svc: SVC, ing: ING }), DEP, {
    done: false,
    ready: 1,
    desired: 2,
  });
  assert.match(s.age ?? "", /^\d+d$/);
  assert.deepEqual(
    { ...s, age: null },
    {
      name: "qwen3",
      namespace: "team",
      deployed: true,
      ready: false,
      replicas: { ready: 1, desired: 2 },
      endpoint: "http://qwen3.team.svc.cluster.local:8000",
      ingress: ["https://qwen3.example.com", "http://plain.example.com"],
      route: null,
      modelId: "qwen3-0.6b",
      modelUri: "hf://Qwen/Qwen3-0.6B",
      modelSource: "huggingface",
      image: "vllm/vllm-openai:v0.19.0",
      created: "2020-01-01T00:00:00Z",
      age: null,
      description: "the small one",
      links: [
        { title: "docs", url: "https://qwen3.example.com/docs" },
        { title: "runbook", url: "https://wiki.example.com/qwen3" },
      ],
      requiresApiKey: true,
      apiKey: null,
      groups: null,
      adapters: ["sql", "chat"],
      timeline: null,
      container: null,
      state: null,
      reason: null,
      hint: null,
      startup: null,
    },
  );
});

test("without an Ingress or a Service: no endpoint, relative links against nothing stay paths; no key needed", () => {
  const bare: Deployment = {
    ...DEP,
    metadata: {
      ...DEP.metadata,
      annotations: { "vllmapp.dev/links": DEP.metadata.annotations!["vllmapp.dev/links"]! },
    },
    spec: { selector: {}, template: { spec: { containers: [{ name: "vllm", image: "img" }] } } },
  };
  const s = describeApp("qwen3", "team", objects({ dep: bare }), bare, { done: true, ready: 1, desired: 1 });
  assert.equal(s.ready, true);
  assert.equal(s.endpoint, null);
  assert.deepEqual(s.ingress, []);
  assert.deepEqual(s.links, [
    { title: "docs", url: "/docs" },
    { title: "runbook", url: "https://wiki.example.com/qwen3" },
  ]);
  assert.equal(s.requiresApiKey, false);
  assert.equal(s.modelId, null);
  assert.deepEqual(s.adapters, []);
});

test("a LeaderWorkerSet's status: the leader's server container, the groups", () => {
  const lws: LeaderWorkerSet = {
    metadata: { name: "big-lws", annotations: { "vllmapp.dev/model-id": "big" } },
    spec: {
      replicas: 1,
      leaderWorkerTemplate: {
        size: 2,
        leaderTemplate: { spec: { containers: [{ name: "vllm", image: "leader-image" }] } },
        workerTemplate: { spec: { containers: [{ name: "vllm", image: "worker-image" }] } },
      },
    },
  };
  const groups = [{ index: 0, ready: false, size: 2, pods: [] }];
  const s = describeApp("big", "team", objects({ lws }), lws, { done: false, ready: 0, desired: 1, groups });
  assert.equal(s.image, "leader-image");
  assert.equal(s.modelId, "big");
  assert.deepEqual(s.groups, groups);
  assert.deepEqual(s.replicas, { ready: 0, desired: 1 });
});
