/**
 * service_account, parallelism (LeaderWorkerSet), lora, speculative decoding: rendered in-process on the
 * source, as users write them, and the errors a user must see (exit 2 with the numbers).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { plan, type Plan } from "../../src/app/plan.ts";
import { nodePlanIo } from "../../src/app/node-io.ts";
import type { K8sObject } from "../../src/render/types.ts";
import { workdir } from "../helpers.ts";

async function planOf(yaml: string, target: "kubernetes" | "docker" = "kubernetes", files: Record<string, string> = {}): Promise<Plan> {
  const dir = workdir({ "vllm-app.yaml": yaml, ...files });
  return plan({ file: path.join(dir, "vllm-app.yaml"), target, params: new Map() }, nodePlanIo({ hostHome: "/home/dev" }));
}

async function objectsOf(yaml: string): Promise<K8sObject[]> {
  const p = await planOf(yaml);
  assert.deepEqual(p.errors, []);
  return p.apps[0]!.rendered.objects!;
}

const kind = (objs: K8sObject[], k: string) => objs.find((o) => o.kind === k) as any;
const errorsOf = async (yaml: string, target: "kubernetes" | "docker" = "kubernetes") => (await planOf(yaml, target)).errors.map((e) => `${e.path}: ${e.message}${e.hint ? ` | ${e.hint}` : ""}`);

const BASE = "name: finetuned\nmodel_path: s3://ml-models/qwen3/\nstream_model: false\nresources: {gpu: L4:1}\n";

test("service_account sets the pod's serviceAccountName and keeps its token mounted, and nothing else in any object changes", async () => {
  const without = await objectsOf(BASE);
  assert.equal(kind(without, "Deployment").spec.template.spec.automountServiceAccountToken, false);
  const withSa = await objectsOf(`${BASE}service_account: model-reader\n`);
  const dep = kind(withSa, "Deployment");
  assert.equal(dep.spec.template.spec.serviceAccountName, "model-reader");
  assert.equal(dep.spec.template.spec.automountServiceAccountToken, undefined);
  delete dep.spec.template.spec.serviceAccountName;
  delete kind(without, "Deployment").spec.template.spec.automountServiceAccountToken;
  assert.deepEqual(withSa, without);
});

test("service_account: a Kubernetes name; on Docker a note, not an error", async () => {
  assert.match((await errorsOf(`${BASE}service_account: Model_Reader\n`)).join("\n"), /service_account: not a Kubernetes ServiceAccount name/);
  const p = await planOf(`${BASE}service_account: model-reader\n`, "docker");
  assert.deepEqual(p.errors, []);
  assert.ok(p.warnings.some((w) => w.severity === "note" && /^model-reader is a Kubernetes identity/.test(w.message)));
});

test("service_account and no credentials on this machine: deploy warns 'not checked from here', check still fails", async () => {
  const { sourceResolver } = await import("../../src/models/resolve.ts");
  const saved = { ...process.env };
  const home = workdir();
  // no keys, no profile files, no instance metadata lookups (nothing leaves this machine)
  for (const k of Object.keys(process.env)) if (k.startsWith("AWS_")) delete process.env[k];
  Object.assign(process.env, { HOME: home, AWS_EC2_METADATA_DISABLED: "true", AWS_CONFIG_FILE: path.join(home, "none"), AWS_SHARED_CREDENTIALS_FILE: path.join(home, "none") });
  try {
    const planWith = async (mode: "deploy" | "check", yaml: string) => {
      const resolve = sourceResolver({ mode, jobOutput: () => Promise.reject(new Error("unused")) });
      return plan({ file: path.join(workdir({ "vllm-app.yaml": yaml }), "vllm-app.yaml"), target: "kubernetes", params: new Map() }, nodePlanIo({ resolve }));
    };
    const deploy = await planWith("deploy", `${BASE}service_account: model-reader\n`);
    assert.deepEqual(deploy.errors, []);
    const warnings = deploy.reports[0]!.diagnostics.map((d) => `${d.severity}: ${d.message}`);
    assert.ok(warnings.some((n) => /^warning: no AWS credentials found to read s3:\/\/ml-models\/qwen3, so it was not checked from here: the pods get their own credentials from service account model-reader/.test(n)), warnings.join("\n"));
    const check = await planWith("check", `${BASE}service_account: model-reader\n`);
    assert.match(check.errors.map((e) => e.message).join("\n"), /no AWS credentials found/);
    const without = await planWith("deploy", BASE);
    assert.match(without.errors.map((e) => e.message).join("\n"), /no AWS credentials found/);
  } finally {
    process.env = saved;
  }
});

const HF = "name: big\nmodel_hf_path: meta-llama/Llama-3.1-405B-Instruct\n";

test("parallelism: TP × PP × DP must equal GPUs per pod × nodes; the error gives the numbers", async () => {
  assert.deepEqual(await errorsOf(`${HF}resources: {gpu: H100:8}\nparallelism: {tensor: 8, pipeline: 2, nodes: 1}\n`), [
    "parallelism: parallelism does not add up: tensor 8 × pipeline 2 × data 1 = 16 GPUs, but the app has 8 GPUs per pod (resources.gpu) × 1 node = 8 | make tensor × pipeline × data equal GPUs per pod × nodes (or nodes: 2)",
  ]);
  assert.deepEqual(await errorsOf(`${HF}resources: {gpu: H100:8}\nparallelism: {tensor: 4, nodes: 2}\n`), [
    "parallelism: parallelism does not add up: tensor 4 × pipeline 1 × data 1 = 4 GPUs, but the app has 8 GPUs per pod (resources.gpu) × 2 nodes = 16 | make tensor × pipeline × data equal GPUs per pod × nodes",
  ]);
  assert.deepEqual(await errorsOf(`${HF}resources: {gpu: H100:8}\nparallelism: {data: 16, data_local: 4, nodes: 2}\n`), [
    "parallelism.data_local: parallelism does not add up: data 16 is not data_local 4 per pod × 2 nodes = 8 | set data_local: 8",
  ]);
  assert.match((await errorsOf(`${HF}parallelism: {tensor: 2}\n`)).join("\n"), /resources\.gpu: parallelism asks for tensor 2 × pipeline 1 × data 1 = 2 GPUs on 1 node, but the app requests no GPUs/);
});

test("parallelism: nodes follow from tensor × pipeline × data; the sizes become vLLM's flags", async () => {
  const p = await planOf(`${HF}resources: {gpu: H100:8}\nparallelism: {tensor: 8, pipeline: 2}\n`);
  assert.deepEqual(p.errors, []);
  const lws = kind(p.apps[0]!.rendered.objects!, "LeaderWorkerSet");
  assert.equal(lws.spec.leaderWorkerTemplate.size, 2);
  const single = await planOf(`${HF}resources: {gpu: H100:4}\nparallelism: {pipeline: 2}\n`);
  assert.deepEqual(single.errors, []);
  assert.deepEqual(single.apps[0]!.rendered.serve.args.slice(-4), ["--tensor-parallel-size", "2", "--pipeline-parallel-size", "2"]);
  assert.equal(kind(single.apps[0]!.rendered.objects!, "Deployment").kind, "Deployment");
});

test("with parallelism:, hand-written parallel flags in extra_args are errors pointing there; without it the per-pod sizes are checked, multi-node flags never allowed", async () => {
  const flags = `extra_args: [-tp, "8", --pipeline-parallel-size, "2", --nnodes, "2", --headless, --enable-expert-parallel]\n`;
  const withBlock = await errorsOf(`${HF}resources: {gpu: H100:8}\nparallelism: {tensor: 8}\n${flags}`);
  assert.deepEqual(withBlock.filter((e) => /set by vllmapp from/.test(e)), [
    "extra_args: --tensor-parallel-size is set by vllmapp from parallelism.tensor; remove it from extra_args | write it as parallelism: {tensor: …} in vllm-app.yaml",
    "extra_args: --pipeline-parallel-size is set by vllmapp from parallelism.pipeline; remove it from extra_args | write it as parallelism: {pipeline: …} in vllm-app.yaml",
    "extra_args: --nnodes is set by vllmapp from parallelism.nodes; remove it from extra_args | write it as parallelism: {nodes: …} in vllm-app.yaml",
    "extra_args: --headless is set by vllmapp from parallelism.nodes; remove it from extra_args | write it as parallelism: {nodes: …} in vllm-app.yaml",
    "extra_args: --enable-expert-parallel is set by vllmapp from parallelism.expert; remove it from extra_args | write it as parallelism: {expert: …} in vllm-app.yaml",
  ]);
  const without = await errorsOf(`${HF}resources: {gpu: H100:8}\n${flags}`);
  assert.deepEqual(without.filter((e) => /set by vllmapp from/.test(e)).map((e) => e.split(" is set")[0]), ["extra_args: --nnodes", "extra_args: --headless", "extra_args: --enable-expert-parallel"]);
  assert.ok(without.some((e) => /tensor 8 × pipeline 2 × data-parallel-per-pod 1 = 16 workers, but the pod asks for 8 GPUs/.test(e)), without.join("\n"));
});

test("nodes > 1: --local is a clear error, and a name too long for the LeaderWorkerSet's pods is refused with the limit", async () => {
  const two = `${HF}resources: {gpu: H100:8}\nparallelism: {tensor: 8, pipeline: 2}\n`;
  assert.match((await errorsOf(two, "docker")).join("\n"), /parallelism\.nodes: nodes: 2 needs Kubernetes with LeaderWorkerSet: one Docker host runs one pod/);
  const long = two.replace("name: big", `name: ${"a".repeat(48)}`);
  assert.deepEqual((await errorsOf(long)).filter((e) => e.startsWith("name:")), [
    `name: name "${"a".repeat(48)}" is 48 characters; with nodes > 1 it may have at most 46: the LeaderWorkerSet's pods are <name>-lws-<group>-<rank> and their revision label <name>-lws-<group>-<10 characters> must stay within 63 | shorten name`,
  ]);
  assert.deepEqual(await errorsOf(long.replace("a".repeat(48), "a".repeat(46))), []);
  assert.match((await errorsOf(`${two}parallelism: {tensor: 8, pipeline: 2, backend: ray}\n`.replace(/parallelism: \{tensor: 8, pipeline: 2\}\n/, ""))).join("\n"), /backend: ray across nodes is not supported/);
});

test("nodes > 1: the client Service selects leaders only, the autoscaler targets the LeaderWorkerSet, workers are headless and probe-less", async () => {
  const objs = await objectsOf(`${HF}resources: {gpu: H100:8}\nparallelism: {tensor: 8, pipeline: 2, nodes: 2}\nscaling: {replicas: [1, 3]}\n`);
  assert.deepEqual(objs.map((o) => `${o.kind}/${o.metadata.name}`), ["Secret/big-api-key", "Service/big", "LeaderWorkerSet/big-lws", "PodDisruptionBudget/big", "NetworkPolicy/big", "ScaledObject/big", "PodMonitor/big"]);
  assert.deepEqual(kind(objs, "Service").spec.selector, { "vllmapp.dev/app": "big", "vllmapp.dev/role": "leader" });
  assert.deepEqual(kind(objs, "ScaledObject").spec.scaleTargetRef, { apiVersion: "leaderworkerset.x-k8s.io/v1", kind: "LeaderWorkerSet", name: "big-lws" });
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
  assert.equal(size(leader.args, "--tensor-parallel-size") * size(leader.args, "--pipeline-parallel-size"), 8 * 2, "TP × PP = GPUs per pod × nodes");
  const wait = lws.spec.leaderWorkerTemplate.workerTemplate.spec.initContainers.at(-1);
  assert.equal(wait.name, "wait-for-leader");
  assert.deepEqual(wait.command.slice(-2), ["29501", "1800"], "bounded by startup_timeout");
  assert.ok(!worker.env.some((e: any) => e.name === "VLLM_API_KEY"));
});

test("lora: flags from the adapters (rank rounded up to vLLM's choices), owned flags in extra_args are errors", async () => {
  const { planLora, roundRank } = await import("../../src/render/lora.ts");
  const { appConfigSchema } = await import("../../src/config/schema.ts");
  const z = await import("zod/mini");
  const app = z.parse(appConfigSchema, { name: "m", model_hf_path: "meta-llama/Llama-3.1-8B-Instruct", lora: { adapters: [{ name: "sql", source: "org/sql-lora" }, { name: "ft", source: "s3://b/ft/" }] } });
  const p = planLora(app, "llama", "kubernetes", new Set(), new Map([["sql", 12], ["ft", 8]]));
  assert.deepEqual(p.problems, []);
  assert.deepEqual(p.args, ["--enable-lora", "--max-loras", "2", "--max-lora-rank", "16", "--lora-modules", '{"name":"sql","path":"org/sql-lora","base_model_name":"llama"}', '{"name":"ft","path":"/cache/adapters/ft","base_model_name":"llama"}']);
  assert.equal(roundRank(33), 64);
  const tooSmall = planLora(z.parse(appConfigSchema, { ...app, lora: { ...app.lora, max_rank: 8 } }), "llama", "kubernetes", new Set(["--lora-modules"]), new Map([["sql", 12]]));
  assert.deepEqual(tooSmall.problems.map((x) => x.message), [
    "--lora-modules is set by vllmapp from lora:; remove it from extra_args",
    "max_rank 8 is below the rank of sql (r=12): vLLM refuses to load it",
  ]);
  const dyn = planLora(z.parse(appConfigSchema, { ...app, lora: { dynamic: true } }), "llama", "kubernetes", new Set());
  assert.deepEqual([dyn.args, dyn.env], [["--enable-lora", "--max-loras", "1"], [["VLLM_ALLOW_RUNTIME_LORA_UPDATING", "True"]]]);
});

test("lora: an adapter trained on another base model is reported", async () => {
  const { baseModelMismatch } = await import("../../src/models/resolve.ts");
  const hf = { kind: "hf", repo: "meta-llama/Llama-3.1-8B-Instruct" } as const;
  assert.equal(baseModelMismatch("meta-llama/Llama-3.1-8B-Instruct", hf), undefined);
  assert.equal(baseModelMismatch("/data/models/Llama-3.1-8B-Instruct", hf), undefined);
  assert.equal(baseModelMismatch("Qwen/Qwen3-8B", hf), "it was trained on Qwen/Qwen3-8B, and the app serves meta-llama/Llama-3.1-8B-Instruct");
  assert.equal(baseModelMismatch("tiny-llama", { kind: "path", path: "/models/tiny-llama" }), undefined);
});

test("speculative decoding: the draft's container path in --speculative-config, merged with speculative_config; Flyte's rules", async () => {
  const yaml = "name: spec\nmodel_hf_path: meta-llama/Llama-3.1-8B-Instruct\ndraft_model_hf_path: meta-llama/Llama-3.2-1B-Instruct\n";
  const p = await planOf(`${yaml}speculative_config: {num_speculative_tokens: 5, prompt_lookup_max: 4}\n`);
  assert.deepEqual(p.errors, []);
  const args = p.apps[0]!.rendered.serve.args;
  assert.deepEqual(JSON.parse(args[args.indexOf("--speculative-config") + 1]!), { model: "meta-llama/Llama-3.2-1B-Instruct", num_speculative_tokens: 5, method: "draft_model", prompt_lookup_max: 4 });
  assert.deepEqual(await errorsOf(yaml), ["speculative_config: speculative_config.num_speculative_tokens is not set: vLLM needs to know how many tokens the draft proposes per step | add speculative_config: {num_speculative_tokens: 3} (3–5 is typical)"]);
  assert.match((await errorsOf(`${yaml}speculative_config: {model: x, num_speculative_tokens: 2}\n`)).join("\n"), /speculative_config\.model is set from the draft model/);
  assert.match((await errorsOf(`${yaml}draft_model_path: /models/d\nspeculative_config: {num_speculative_tokens: 2}\n`)).join("\n"), /both draft_model_hf_path and draft_model_path are set/);
  const ngram = await planOf("name: ng\nmodel_hf_path: meta-llama/Llama-3.1-8B-Instruct\nspeculative_config: {method: ngram, num_speculative_tokens: 3, prompt_lookup_max: 4}\n");
  assert.deepEqual(ngram.errors, []);
  const pvc = await objectsOf(`name: spec\nmodel_hf_path: meta-llama/Llama-3.1-8B-Instruct\ndraft_model_path: pvc://drafts/llama-1b\nspeculative_config: {num_speculative_tokens: 3}\n`);
  const pod = kind(pvc, "Deployment").spec.template.spec;
  assert.deepEqual(pod.volumes.find((v: any) => v.name === "draft-model"), { name: "draft-model", persistentVolumeClaim: { claimName: "drafts", readOnly: true } });
  assert.ok(pod.containers[0].args.some((a: string) => a.includes('"model":"/mnt/draft-model/llama-1b"')));
});
