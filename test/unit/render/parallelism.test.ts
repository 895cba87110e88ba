/**
 * parallelism: (src/render/parallelism.ts, src/render/leader-worker-set.ts): tensor × pipeline × data
 * against the GPUs, the nodes it takes, vLLM's flags, and the LeaderWorkerSet of a multi-node app. Rendered
 * in-process on the source, and the errors a user must see (exit 2 with the numbers).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { errorsOf, firstOfKind as kind, objectsOf, planOf } from "../../support/plan.ts";

const HF = "name: big\nmodel_hf_path: meta-llama/Llama-3.1-405B-Instruct\n";

test("parallelism: TP × PP × DP must equal GPUs per pod × nodes; the error gives the numbers", async () => {
  assert.deepEqual(await errorsOf(`${HF}resources: {gpu: H100:8}\nparallelism: {tensor: 8, pipeline: 2, nodes: 1}\n`), [
    "parallelism: parallelism does not add up: tensor 8 × pipeline 2 × data 1 = 16 GPUs, but the app has 8 GPUs per pod (resources.gpu) × 1 node = 8 | make tensor × pipeline × data equal GPUs per pod × nodes (or nodes: 2)",
  ]);
  assert.deepEqual(await errorsOf(`${HF}resources: {gpu: H100:8}\nparallelism: {tensor: 4, nodes: 2}\n`), [
    "parallelism: parallelism does not add up: tensor 4 × pipeline 1 × data 1 = 4 GPUs, but the app has 8 GPUs per pod (resources.gpu) × 2 nodes = 16 | make tensor × pipeline × data equal GPUs per pod × nodes",
  ]);
  assert.deepEqual(
    await errorsOf(`${HF}resources: {gpu: H100:8}\nparallelism: {data: 16, data_local: 4, nodes: 2}\n`),
    [
      "parallelism.data_local: parallelism does not add up: data 16 is not data_local 4 per pod × 2 nodes = 8 | set data_local: 8",
    ],
  );
  assert.match(
    (await errorsOf(`${HF}parallelism: {tensor: 2}\n`)).join("\n"),
    /resources\.gpu: parallelism asks for tensor 2 × pipeline 1 × data 1 = 2 GPUs on 1 node, but the app requests no GPUs/,
  );
});

test("parallelism: nodes follow from tensor × pipeline × data; the sizes become vLLM's flags", async () => {
  const p = await planOf(`${HF}resources: {gpu: H100:8}\nparallelism: {tensor: 8, pipeline: 2}\n`);
  assert.deepEqual(p.errors, []);
  const lws = kind(p.apps[0]!.rendered.objects!, "LeaderWorkerSet");
  assert.equal(lws.spec.leaderWorkerTemplate.size, 2);
  const single = await planOf(`${HF}resources: {gpu: H100:4}\nparallelism: {pipeline: 2}\n`);
  assert.deepEqual(single.errors, []);
  assert.deepEqual(single.apps[0]!.rendered.serve.args.slice(-4), [
    "--tensor-parallel-size",
    "2",
    "--pipeline-parallel-size",
    "2",
  ]);
  assert.equal(kind(single.apps[0]!.rendered.objects!, "Deployment").kind, "Deployment");
});

test("parallelism: data ÷ data_local gives the nodes; a MIG slice is one device; expert on one GPU warns; one node passes the backend as written", async () => {
  const dp = await planOf(`${HF}resources: {gpu: H200:8}\nparallelism: {data: 16, data_local: 8, expert: true}\n`);
  assert.deepEqual(dp.errors, []);
  const args = dp.apps[0]!.rendered.serve.args;
  assert.deepEqual(args.slice(args.indexOf("--data-parallel-size"), args.indexOf("--node-rank")), [
    "--data-parallel-size",
    "16",
    "--data-parallel-size-local",
    "8",
    "--enable-expert-parallel",
    "--distributed-executor-backend",
    "mp",
    "--nnodes",
    "2",
  ]);
  const mig = await errorsOf(
    `${HF}resources: {gpu: {type: A100, count: 1, partition: 3g.20gb}}\nparallelism: {tensor: 2}\n`,
  );
  assert.deepEqual(
    mig.filter((e) => /MIG/.test(e)),
    [
      "parallelism: a MIG slice (3g.20gb) is one device: it cannot be split tensor 2 × pipeline 1 × data 1 = 2 GPUs | use whole GPUs for tensor, pipeline or data parallelism",
    ],
  );
  const one = await planOf(`${HF}resources: {gpu: L4:1}\nparallelism: {expert: true, backend: mp}\n`);
  assert.deepEqual(one.errors, []);
  assert.deepEqual(one.apps[0]!.rendered.serve.args.slice(-3), [
    "--enable-expert-parallel",
    "--distributed-executor-backend",
    "mp",
  ]);
  assert.deepEqual(
    one.warnings.filter((w) => w.path === "parallelism.expert").map((w) => w.message),
    ["expert: true with one GPU in all has nothing to spread the experts over"],
  );
});

test("with parallelism:, hand-written parallel flags in extra_args are errors pointing there; without it the per-pod sizes are checked, multi-node flags never allowed", async () => {
  const flags = `extra_args: [-tp, "8", --pipeline-parallel-size, "2", --nnodes, "2", --headless, --enable-expert-parallel]\n`;
  const withBlock = await errorsOf(`${HF}resources: {gpu: H100:8}\nparallelism: {tensor: 8}\n${flags}`);
  assert.deepEqual(
    withBlock.filter((e) => /set by vllmapp from/.test(e)),
    [
      "extra_args: --tensor-parallel-size is set by vllmapp from parallelism.tensor; remove it from extra_args | write it as parallelism: {tensor: …} in vllm-app.yaml",
      "extra_args: --pipeline-parallel-size is set by vllmapp from parallelism.pipeline; remove it from extra_args | write it as parallelism: {pipeline: …} in vllm-app.yaml",
      "extra_args: --nnodes is set by vllmapp from parallelism.nodes; remove it from extra_args | write it as parallelism: {nodes: …} in vllm-app.yaml",
      "extra_args: --headless is set by vllmapp from parallelism.nodes; remove it from extra_args | write it as parallelism: {nodes: …} in vllm-app.yaml",
      "extra_args: --enable-expert-parallel is set by vllmapp from parallelism.expert; remove it from extra_args | write it as parallelism: {expert: …} in vllm-app.yaml",
    ],
  );
  const without = await errorsOf(`${HF}resources: {gpu: H100:8}\n${flags}`);
  assert.deepEqual(
    without.filter((e) => /set by vllmapp from/.test(e)).map((e) => e.split(" is set")[0]),
    ["extra_args: --nnodes", "extra_args: --headless", "extra_args: --enable-expert-parallel"],
  );
  assert.ok(
    without.some((e) =>
      /tensor 8 × pipeline 2 × data-parallel-per-pod 1 = 16 workers, but the pod asks for 8 GPUs/.test(e),
    ),
    without.join("\n"),
  );
});

test("nodes > 1: --local is a clear error, and a name too long for the LeaderWorkerSet's pods is refused with the limit", async () => {
  const two = `${HF}resources: {gpu: H100:8}\nparallelism: {tensor: 8, pipeline: 2}\n`;
  assert.match(
    (await errorsOf(two, "docker")).join("\n"),
    /parallelism\.nodes: nodes: 2 needs Kubernetes with LeaderWorkerSet: one Docker host runs one pod/,
  );
  const long = two.replace("name: big", `name: ${"a".repeat(48)}`);
  assert.deepEqual(
    (await errorsOf(long)).filter((e) => e.startsWith("name:")),
    [
      `name: name "${"a".repeat(48)}" is 48 characters; with nodes > 1 it may have at most 46: the LeaderWorkerSet's pods are <name>-lws-<group>-<rank> and their revision label <name>-lws-<group>-<10 characters> must stay within 63 | shorten name`,
    ],
  );
  assert.deepEqual(await errorsOf(long.replace("a".repeat(48), "a".repeat(46))), []);
  assert.match(
    (
      await errorsOf(
        `${two}parallelism: {tensor: 8, pipeline: 2, backend: ray}\n`.replace(
          /parallelism: \{tensor: 8, pipeline: 2\}\n/,
          "",
        ),
      )
    ).join("\n"),
    /backend: ray across nodes is not supported/,
  );
});

test("nodes > 1: the client Service selects leaders only, the autoscaler targets the LeaderWorkerSet, workers are headless and probe-less", async () => {
  const objs = await objectsOf(
    `${HF}resources: {gpu: H100:8}\nparallelism: {tensor: 8, pipeline: 2, nodes: 2}\nscaling: {replicas: [1, 3]}\n`,
  );
  assert.deepEqual(
    objs.map((o) => `${o.kind}/${o.metadata.name}`),
    [
      "Secret/big-api-key",
      "Service/big",
      "LeaderWorkerSet/big-lws",
      "PodDisruptionBudget/big",
      "NetworkPolicy/big",
      "ScaledObject/big",
      "PodMonitor/big",
    ],
  );
  assert.deepEqual(kind(objs, "Service").spec.selector, { "vllmapp.dev/app": "big", "vllmapp.dev/role": "leader" });
  assert.deepEqual(kind(objs, "ScaledObject").spec.scaleTargetRef, {
    apiVersion: "leaderworkerset.x-k8s.io/v1",
    kind: "LeaderWorkerSet",
    name: "big-lws",
  });
  const lws = kind(objs, "LeaderWorkerSet");
  assert.equal(lws.spec.replicas, undefined, "autoscaled: KEDA owns replicas");
  assert.equal(lws.spec.startupPolicy, "LeaderCreated");
  assert.equal(lws.spec.leaderWorkerTemplate.restartPolicy, "RecreateGroupOnPodRestart");
  const leader = lws.spec.leaderWorkerTemplate.leaderTemplate.spec.containers[0];
  const worker = lws.spec.leaderWorkerTemplate.workerTemplate.spec.containers[0];
  assert.ok(leader.startupProbe && leader.readinessProbe && !leader.args.includes("--headless"));
  assert.ok(!worker.startupProbe && !worker.readinessProbe && !worker.livenessProbe && !worker.ports);
  assert.deepEqual(worker.args, [...leader.args, "--headless"]);
  const size = (a: string[], f: string) => Number(a[a.indexOf(f) + 1]);
  assert.equal(
    size(leader.args, "--tensor-parallel-size") * size(leader.args, "--pipeline-parallel-size"),
    8 * 2,
    "TP × PP = GPUs per pod × nodes",
  );
  const wait = lws.spec.leaderWorkerTemplate.workerTemplate.spec.initContainers.at(-1);
  assert.equal(wait.name, "wait-for-leader");
  assert.deepEqual(wait.command.slice(-2), ["29501", "1800"], "bounded by startup_timeout");
  assert.ok(!worker.env.some((e: any) => e.name === "VLLM_API_KEY"));
});
