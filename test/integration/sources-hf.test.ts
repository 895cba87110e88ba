/**
 * Hugging Face sources, checked with @huggingface/hub against a server that replays recorded Hub
 * responses (test/fixtures/hf): existence, revision, gated access with HF_TOKEN, config.json and weight
 * sizes, and the fit check on top. The test bed's HF_ENDPOINT is used when set; else the replay server
 * is started here.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { runCli, workdir } from "../support/cli.ts";
import { start, GRANTED_TOKEN } from "../testbed/servers/hf-replay.mjs";

let endpoint = process.env.HF_ENDPOINT ?? "";
let stop: (() => Promise<void>) | undefined;
/** a 127.0.0.1 address nothing listens on */
let dead = "";

before(async () => {
  const srv = net.createServer().listen(0, "127.0.0.1");
  await new Promise((r) => srv.once("listening", r));
  dead = `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`;
  await new Promise((r) => srv.close(r));
  if (!endpoint) {
    const s = await start({ workDir: workdir() });
    endpoint = s.env.HF_ENDPOINT;
    stop = s.stop;
  }
});
after(async () => stop?.());

const APPS = `name: llama70
model_hf_path: meta-llama/Llama-3.1-70B-Instruct
resources:
  gpu: H100:1
secrets: [HF_TOKEN]
---
name: llama8
model_hf_path: meta-llama/Llama-3.1-8B-Instruct
resources:
  gpu: L4:1
---
name: qwen
model_hf_path: Qwen/Qwen3-0.6B
resources:
  gpu: L4:1
`;

function cli(args: string[], files: Record<string, string>, env: Record<string, string | undefined> = {}) {
  return runCli(args, {
    cwd: workdir(files),
    env: { HF_ENDPOINT: endpoint, HF_TOKEN: undefined, HF_HOME: workdir(), ...env },
  });
}

test("check: a gated 70B model that cannot fit one H100 is refused with the numbers and the GPUs that would fit", () => {
  const r = cli(["check"], { "vllm-app.yaml": APPS }, { HF_TOKEN: GRANTED_TOKEN });
  assert.equal(r.code, 2, r.stderr);
  assert.equal(
    r.stdout,
    `llama70: 1 error
  model:  meta-llama/Llama-3.1-70B-Instruct
  source: meta-llama/Llama-3.1-70B-Instruct@1605565b47bb (gated, readable with HF_TOKEN): config.json, 30 weight files, 141.1 GB
  fit:    H100:1: does not fit; weights 141.1 GB per GPU, KV cache 0.0 GB per GPU = 0 tokens (max_model_len 131072)
llama8: ok, 2 warnings
  model:  meta-llama/Llama-3.1-8B-Instruct
  source: meta-llama/Llama-3.1-8B-Instruct@0e9e39f249a1 (gated, readable with HF_TOKEN): config.json, 4 weight files, 16.1 GB
  fit:    L4:1: fits, context too long; weights 16.1 GB per GPU, KV cache 3.5 GB per GPU = 26928 tokens (max_model_len 131072)
qwen: ok
  model:  Qwen/Qwen3-0.6B
  source: Qwen/Qwen3-0.6B@c1899de289a0: config.json, 1 weight file, 1.5 GB
  fit:    L4:1: fits; weights 1.5 GB per GPU, KV cache 18.1 GB per GPU = 157704 tokens (max_model_len 40960)
`,
  );
  assert.equal(
    r.stderr,
    `warning: vllm-app.yaml:8:16 model_hf_path: meta-llama/Llama-3.1-8B-Instruct is gated, but the server gets no HF_TOKEN, so it cannot download it
  hint: add HF_TOKEN under secrets (vllmapp deploy --create-secrets copies it from your environment)
warning: vllm-app.yaml:10:8 resources.gpu: max_model_len 131072 (from config.json) exceeds what the KV cache holds on L4:1: 26928 tokens; vLLM refuses to start
  hint: add --max-model-len 26624 to extra_args, or use L4:2
vllm-app.yaml:4:8 resources.gpu: meta-llama/Llama-3.1-70B-Instruct in bf16 needs ~141.1 GB of weights; H100:1 gives vLLM 77.0 GB per GPU (0.9 × 85.5 GB), which leaves no room for a KV cache of 2048 tokens
  hint: use H100:2 or more (H100:4 holds the whole 131072-token context)
1 error in vllm-app.yaml
`,
  );
  assert.ok(!r.stdout.includes(GRANTED_TOKEN) && !r.stderr.includes(GRANTED_TOKEN), "the token never appears");
});

test("check --json: one document with the fit numbers; H100:2 with --max-model-len 16384 fits whole", () => {
  // (with a cache volume: 141 GB of weights in an emptyDir would be a warning of its own)
  const yaml = `name: llama70\nmodel_hf_path: meta-llama/Llama-3.1-70B-Instruct\nresources:\n  gpu: H100:2\nsecrets: [HF_TOKEN]\nextra_args: [--max-model-len, "16384"]\ncache: {size: 200Gi}\n`;
  const r = cli(["check", "--json"], { "vllm-app.yaml": yaml }, { HF_TOKEN: GRANTED_TOKEN });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.ok, true);
  assert.deepEqual(doc.apps[0].model, { kind: "hf", uri: "meta-llama/Llama-3.1-70B-Instruct" });
  assert.equal(doc.apps[0].weightBytes, 141107499576);
  assert.deepEqual(
    { ...doc.apps[0].fit, summary: undefined, kvCacheBytesPerGpu: undefined },
    {
      gpu: "H100:2",
      fits: true,
      contextFits: true,
      weightBytesPerGpu: 70553749788,
      maxTokens: 26046,
      maxModelLen: 16384,
      summary: undefined,
      kvCacheBytesPerGpu: undefined,
    },
  );
});

test("gated repo: no HF_TOKEN, and a token without access, are errors that say what to do", () => {
  const yaml = `name: llama8\nmodel_hf_path: meta-llama/Llama-3.1-8B-Instruct\nresources:\n  gpu: L4:2\nsecrets: [HF_TOKEN]\n`;
  const none = cli(["check"], { "vllm-app.yaml": yaml });
  assert.equal(none.code, 2);
  assert.match(
    none.stderr,
    /^vllm-app\.yaml:2:16 model_hf_path: meta-llama\/Llama-3\.1-8B-Instruct is gated \(manual approval\) and HF_TOKEN is not set\n  hint: request access at http:\/\/127\.0\.0\.1:\d+\/meta-llama\/Llama-3\.1-8B-Instruct, then export HF_TOKEN/,
  );
  const other = cli(["check"], { "vllm-app.yaml": yaml }, { HF_TOKEN: "hf_someoneElsesToken" });
  assert.equal(other.code, 2);
  assert.match(
    other.stderr,
    /model_hf_path: HF_TOKEN cannot read meta-llama\/Llama-3\.1-8B-Instruct: it is gated \(manual approval\) and the token's account has no access\n  hint: request access at .* with the account the token belongs to/,
  );
  assert.ok(!other.stderr.includes("hf_someoneElsesToken"));
  const granted = cli(["check"], { "vllm-app.yaml": yaml }, { HF_TOKEN: GRANTED_TOKEN });
  assert.equal(granted.code, 0, granted.stderr);
  assert.match(granted.stdout, /fit: {4}L4:2: fits;/);
});

test("a repo or revision that does not exist is an error naming it", () => {
  const missing = cli(["check"], { "vllm-app.yaml": "name: x\nmodel_hf_path: Qwen/Qwen3-0.6B-Typo\n" });
  assert.equal(missing.code, 2);
  assert.match(
    missing.stderr,
    /^vllm-app\.yaml:2:16 model_hf_path: Hugging Face repo Qwen\/Qwen3-0\.6B-Typo not found \(or it is private and HF_TOKEN is not set\)\n/,
  );
  const rev = cli(["render", "--dry-run", "--resolve"], {
    "vllm-app.yaml": "name: x\nmodel_hf_path: Qwen/Qwen3-0.6B@v9.9\n",
  });
  assert.equal(rev.code, 2);
  assert.match(
    rev.stderr,
    /model_hf_path: Qwen\/Qwen3-0\.6B has no revision "v9\.9"\n  hint: use a branch, tag or commit of .*, or drop @v9\.9/,
  );
  assert.equal(rev.stdout, "");
  const pinned = cli(["check"], { "vllm-app.yaml": "name: x\nmodel_hf_path: Qwen/Qwen3-0.6B@c1899de\n" });
  assert.equal(pinned.code, 0, pinned.stderr);
});

test("an unreachable Hub: render --resolve warns and renders, check and deploy refuse; --offline skips with a warning", () => {
  const files = {
    "vllm-app.yaml": "name: qwen\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources:\n  gpu: L4:1\nrequires_auth: false\n",
  };
  const env = { HF_ENDPOINT: dead };
  const render = cli(["render", "--dry-run", "--resolve", "-o", "json"], files, env);
  assert.equal(render.code, 0, render.stderr);
  // unchecked, the model's size is unknown too: its emptyDir gets no size, and render says so
  assert.equal(
    render.stderr,
    `warning: vllm-app.yaml:2:16 model_hf_path: cannot reach the Hugging Face Hub at ${dead} (ECONNREFUSED); not checked\n  hint: check the network, set HF_ENDPOINT to a mirror, or pass --offline to skip the Hub checks\n` +
      "warning: vllm-app.yaml:2:16 model_hf_path: the weights download into an emptyDir on the node's disk, and their size is not known here: the pod requests no ephemeral storage for them, so the scheduler may place it on a node whose disk they fill (the kubelet then evicts it)\n" +
      "  hint: add cache: {size: …} for a volume of their own, or resources.disk; `render --resolve` and `deploy` size it from the source\n",
  );
  assert.equal(JSON.parse(render.stdout).apps[0].model.uri, "Qwen/Qwen3-0.6B");
  const check = cli(["check"], files, env);
  assert.equal(check.code, 2);
  assert.ok(
    check.stderr.includes(`model_hf_path: cannot reach the Hugging Face Hub at ${dead} (ECONNREFUSED)\n`),
    check.stderr,
  );
  const deploy = cli(["deploy", "--local", "--dry-run=client"], files, env);
  assert.equal(deploy.code, 2);
  assert.ok(
    deploy.stderr.includes(`model_hf_path: cannot reach the Hugging Face Hub at ${dead} (ECONNREFUSED)\n`),
    deploy.stderr,
  );
  const offline = cli(["deploy", "--local", "--dry-run=client", "-o", "json", "--offline"], files, env);
  assert.equal(offline.code, 0, offline.stderr);
  assert.match(
    offline.stderr,
    /^warning: vllm-app\.yaml:2:16 model_hf_path: --offline: Qwen\/Qwen3-0\.6B was not checked \(existence, access, fit\)\n/,
  );
});
