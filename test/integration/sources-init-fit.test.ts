/**
 * init and the fit check: a GPU count suggested from the model's size, and GPUs the model cannot fit
 * refused, against the Hub replay (test/fixtures/hf).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { runCli, workdir } from "../support/cli.ts";
import { start, GRANTED_TOKEN } from "../testbed/servers/hf-replay.mjs";

let endpoint = process.env.HF_ENDPOINT ?? "";
let stop: (() => Promise<void>) | undefined;

before(async () => {
  if (!endpoint) {
    const s = await start({ workDir: workdir() });
    endpoint = s.env.HF_ENDPOINT;
    stop = s.stop;
  }
});
after(async () => stop?.());

function init(args: string[], env: Record<string, string | undefined> = {}) {
  const dir = workdir();
  const r = runCli(["init", dir, "--yes", ...args], {
    env: { HF_ENDPOINT: endpoint, HF_TOKEN: GRANTED_TOKEN, HF_HOME: workdir(), ...env },
  });
  return { ...r, dir };
}

const gpuLine = (dir: string) => /^\s*gpu: (.*?)\s+#/m.exec(readFileSync(`${dir}/vllm-app.yaml`, "utf8"))?.[1];

test("init suggests the fewest GPUs that hold the model and its context", () => {
  const qwen = init(["--model", "Qwen/Qwen3-0.6B"]);
  assert.equal(qwen.code, 0, qwen.stderr);
  assert.equal(gpuLine(qwen.dir), "L4:1");
  const llama = init(["--model", "meta-llama/Llama-3.1-8B-Instruct"]);
  assert.equal(llama.code, 0, llama.stderr);
  assert.equal(gpuLine(llama.dir), "L4:2");
  // Hub unreachable: the default, without a word
  const offline = init(["--model", "meta-llama/Llama-3.1-8B-Instruct"], { HF_ENDPOINT: "http://127.0.0.1:1" });
  assert.equal(offline.code, 0, offline.stderr);
  assert.equal(gpuLine(offline.dir), "L4:1");
});

test("init refuses GPUs the model cannot fit, with the numbers and what would fit", () => {
  const r = init(["--model", "meta-llama/Llama-3.1-70B-Instruct", "--gpu", "H100:1"]);
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr,
    "error: meta-llama/Llama-3.1-70B-Instruct in bf16 needs ~141.1 GB of weights; H100:1 gives vLLM 77.0 GB per GPU (0.9 × 85.5 GB), which leaves no room for a KV cache of 2048 tokens\n  hint: use H100:2 or more (H100:4 holds the whole 131072-token context)\n",
  );
  assert.equal(init(["--model", "meta-llama/Llama-3.1-70B-Instruct", "--gpu", "H100:2"]).code, 0);
});
