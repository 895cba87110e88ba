/**
 * `vllmapp tune --local --workload FILE` against the REAL vLLM (the test bed's CPU build) serving the tiny
 * model: a JSONL file of ShareGPT conversations is sampled with the seed and sent by
 * `vllm bench serve`'s own loader. One trial (the app as it is), one rate: the server's own counters show
 * the file's short prompts arrived (a few tokens each, not the random workload's 256), every request
 * completed, and the results file names the file, its hash and the sample. No container is left behind.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { BIN, workdir } from "../support/cli.ts";
import { tbEnv } from "../support/testbed.ts";
import { containersOf, freePort, removeApps } from "./docker-support.ts";

const apps: string[] = [];
after(() => removeApps(apps));

test("tune --local with a dataset file on the real vLLM: the file's prompts are what the server gets", async () => {
  const name = `td${process.pid % 10000}`;
  apps.push(name, `${name}-tune`);
  const port = await freePort();
  // ShareGPT: vLLM's loader of it needs only the standard library (its custom-JSONL loader needs pandas, which the test bed's CPU build lacks)
  const prompts =
    Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({
        conversations: [
          { from: "human", value: `Please count from one to ${i + 5}.` },
          { from: "gpt", value: Array.from({ length: 3 + (i % 3) }, (_, k) => String(k + 1)).join(" ") },
        ],
      }),
    ).join("\n") + "\n";
  const dir = workdir({
    "vllm-app.yaml": `name: ${name}\nmodel_path: ${tbEnv("VLLM_TINY_MODEL_DIR")}\nmodel_id: tiny\nimage: ${tbEnv("VLLM_IMAGE")}\nport: ${port}\nextra_args: [--max-model-len, "512"]\n`,
    "prompts.jsonl": prompts,
  });
  const r = await execa(
    process.execPath,
    [
      BIN,
      "tune",
      "--local",
      "--slo",
      "ttft_p95=20s",
      "--workload",
      "prompts.jsonl",
      "--request-rate",
      "2",
      "--num-prompts",
      "8",
      "--repeat",
      "1",
      "--budget",
      "1",
      "--seed",
      "5",
      "--results",
      "r.json",
    ],
    { cwd: dir, env: { CI: "1", NO_COLOR: "1" }, reject: false, stdin: "ignore", timeout: 900_000 },
  );
  assert.equal(r.exitCode, 0, String(r.stderr));
  assert.match(
    String(r.stdout),
    /^Workload +10 prompts of prompts\.jsonl \(ShareGPT, 40 records, drawn with the seed\) · Poisson arrivals at 2 req\/s · seed 5/m,
  );
  const res = JSON.parse(readFileSync(path.join(dir, "r.json"), "utf8"));
  assert.deepEqual(res.workload.file, {
    path: "prompts.jsonl",
    sha256: createHash("sha256").update(prompts).digest("hex"),
    records: 40,
    sampled: 10,
  });
  assert.equal(res.workload.dataset, "sharegpt");
  const [t] = res.trials;
  assert.equal(t.status, "ok", t.error);
  const [l] = t.runs[0];
  assert.equal(l.requests.completed, 8);
  assert.equal(l.requests.failed, 0);
  // the server's counters around the level: the file's prompts are a handful of tokens each (random prompts would be 256)
  assert.ok(l.server && l.server.requests >= 8, JSON.stringify(l.server));
  assert.ok(
    l.server.promptTokens / l.server.requests < 16,
    `prompt tokens per request: ${l.server.promptTokens / l.server.requests}`,
  );
  assert.ok(
    l.server.generationTokens / l.server.requests <= 16,
    `generated tokens per request: ${l.server.generationTokens / l.server.requests} (the answers are a few tokens)`,
  );
  assert.equal(res.winner.id, "baseline");
  assert.deepEqual(await containersOf(`${name}-tune`), []);
});
