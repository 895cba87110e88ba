/**
 * deploy --local of the test bed's tiny model on the REAL vLLM (its CPU build), with the tiny LoRA
 * adapter from a host folder (bind-mounted read-only at the same path) and with the tiny draft model
 * (speculative decoding): /v1/models lists the adapter, a chat completion naming the adapter answers,
 * and the draft-model app answers. One server at a time (2 cores).
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { cliWithTimeout, workdir } from "../support/cli.ts";
import { tbEnv } from "../support/testbed.ts";
import { chat, removeLocal as remove } from "../support/vllm.ts";
import { containersOf, freePort, removeApps } from "./docker-support.ts";

const apps: string[] = [];
after(() => removeApps(apps));

const cli = cliWithTimeout(360_000);

async function deploy(what: string, extra: string) {
  const name = `rl${process.pid % 10000}-${what}`;
  apps.push(name);
  const port = await freePort();
  const dir = workdir({
    "vllm-app.yaml": `name: ${name}
model_path: ${tbEnv("VLLM_TINY_MODEL_DIR")}
model_id: tiny
image: ${tbEnv("VLLM_IMAGE")}
port: ${port}
extra_args: [--max-model-len, "512"]
${extra}`,
  });
  const r = await cli(["deploy", "--local", "-f", "vllm-app.yaml", "--timeout", "5m"], dir);
  assert.equal(r.code, 0, `deploy --local (${what}) exited ${r.code}:\n${r.stderr}`);
  const status = JSON.parse((await cli(["status", "--local", "--show-api-key", "--json", name], dir)).stdout).apps[0];
  return { name, dir, port, key: status.apiKey as string, status, deployOut: r };
}

test("a LoRA adapter from a host folder: check reads its rank and base model, /v1/models lists it, a chat completion naming it answers, status lists it", async () => {
  const lora = tbEnv("VLLM_TINY_LORA_DIR");
  const extra = `lora:\n  adapters:\n    - {name: tiny-lora, source: ${lora}}\n`;
  const checkDir = workdir({
    "vllm-app.yaml": `name: lc\nmodel_path: ${tbEnv("VLLM_TINY_MODEL_DIR")}\nimage: ${tbEnv("VLLM_IMAGE")}\n${extra}`,
  });
  const checked = await cli(["check", "--local", "--json"], checkDir);
  assert.equal(checked.code, 0, checked.stderr);
  assert.match(
    JSON.stringify(JSON.parse(checked.stdout).apps[0].problems),
    /adapter tiny-lora: rank 8, base tiny-llama/,
  );
  const { name, dir, port, key, status } = await deploy("lora", extra);
  const [c] = await containersOf(name);
  const m = c.Mounts.find((x: any) => x.Destination === lora);
  assert.ok(m && m.RW === false, "the adapter folder is bind-mounted read-only at the same path");
  assert.ok(
    c.Args.includes("--enable-lora") &&
      c.Args.includes("--max-lora-rank") &&
      c.Args[c.Args.indexOf("--max-lora-rank") + 1] === "8",
    c.Args.join(" "),
  );
  const models = (await (
    await fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { authorization: `Bearer ${key}` } })
  ).json()) as any;
  const ids = models.data.map((x: any) => x.id);
  assert.deepEqual(ids.sort(), ["tiny", "tiny-lora"]);
  assert.equal(models.data.find((x: any) => x.id === "tiny-lora").parent, "tiny");
  const ok = await chat(port, key, "tiny-lora");
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.model, "tiny-lora");
  assert.ok(ok.body.usage.completion_tokens > 0);
  assert.deepEqual(status.adapters, ["tiny-lora"], "status lists the served adapter (from /v1/models)");
  await remove(name, dir);
});

test("speculative decoding with the tiny draft from a host folder: --speculative-config names it, the app answers a chat completion", async () => {
  const draft = tbEnv("VLLM_TINY_DRAFT_DIR");
  const { name, dir, port, key } = await deploy(
    "draft",
    `draft_model_path: ${draft}\nspeculative_config: {num_speculative_tokens: 2}\n`,
  );
  const [c] = await containersOf(name);
  const spec = JSON.parse(c.Args[c.Args.indexOf("--speculative-config") + 1]);
  assert.deepEqual(spec, { model: draft, num_speculative_tokens: 2, method: "draft_model" });
  assert.ok(
    c.Mounts.some((x: any) => x.Destination === draft && x.RW === false),
    "the draft folder is bind-mounted read-only",
  );
  const ok = await chat(port, key, "tiny");
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.ok(ok.body.usage.completion_tokens > 0);
  const logs = await cli(["logs", "--local", name], dir);
  assert.match(logs.stdout + logs.stderr, /speculative|draft/i);
  await remove(name, dir);
});
