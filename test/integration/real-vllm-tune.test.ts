/**
 * `vllmapp tune --local` against the REAL vLLM (the test bed's CPU build) serving the tiny model: the
 * knobs a CPU cannot have (fp8 KV cache, GPU memory share, tensor parallel 2) are refused offline with
 * their reasons, the rest run for real, one container at a time beside the app, measured with
 * `vllm bench serve`. The results file's winner has the best goodput of its trials, a diff is printed,
 * and the same search run again from scratch with the same seed picks the same winner. No container of
 * the search is left behind. (The numbers mean nothing on two shared cores; the mechanics do.)
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { cliWithTimeout, workdir } from "../support/cli.ts";
import { tbEnv } from "../support/testbed.ts";
import { containersOf, freePort, removeApps } from "./docker-support.ts";

const apps: string[] = [];
after(() => removeApps(apps));

const cli = cliWithTimeout(1_500_000);

// Four real vLLM starts on two shared cores: about 200 s on an idle machine, over 600 s (the suite's default limit) at load 16.
test(
  "tune --local on the real vLLM: a small budget, an SLO; the winner has the best goodput, a diff, the same winner again",
  { timeout: 1_500_000 },
  async () => {
    const name = `rt${process.pid % 10000}`;
    apps.push(name, `${name}-tune`);
    const port = await freePort();
    const yaml = `# the tiny model on the CPU build\nname: ${name}\nmodel_path: ${tbEnv("VLLM_TINY_MODEL_DIR")}\nmodel_id: tiny\nimage: ${tbEnv("VLLM_IMAGE")}\nport: ${port}\nextra_args: [--max-model-len, "512"]  # the context\n`;
    const dir = workdir({ "vllm-app.yaml": yaml });
    const search = [
      "tune",
      "--local",
      "--slo",
      "ttft_p95=20s,itl_p95=5s",
      "--workload",
      "32:16",
      "--request-rate",
      "1,2",
      "--num-prompts",
      "8",
      "--repeat",
      "1",
      "--budget",
      "2",
      "--seed",
      "3",
    ];
    const first = await cli([...search, "--results", "first.json", "--report", "tune.html"], dir);
    assert.equal(first.code, 0, first.stderr);
    const r = JSON.parse(readFileSync(path.join(dir, "first.json"), "utf8"));
    // refused offline, with the reason, and never started
    const pruned = Object.fromEntries(r.candidates.filter((c: any) => c.pruned).map((c: any) => [c.id, c.pruned]));
    assert.match(pruned["kv_cache_dtype=fp8"], /needs a GPU/);
    assert.match(pruned["gpu_memory_utilization=0.8"], /VLLM_CPU_KVCACHE_SPACE/);
    assert.match(pruned["tensor_parallel=2"], /needs 2 GPUs; the app has none/);
    assert.match(first.stdout, /^Not tried \(refused offline\):$/m);
    // two trials ran for real, in the search order, each measured by vllm bench serve
    assert.deepEqual(
      r.trials.map((t: any) => t.id),
      ["baseline", "max_num_seqs=16"],
    );
    for (const t of r.trials) {
      assert.equal(t.status, "ok", `${t.id}: ${t.error}`);
      assert.equal(t.runs.length, 1);
      assert.deepEqual(
        t.runs[0].map((l: any) => l.requestRate),
        [1, 2],
      );
      for (const l of t.runs[0]) assert.equal(l.requests.completed, 8, `${t.id} at ${l.requestRate} req/s`);
      assert.ok(t.runs[0][0].ttftMs.p95 > 0);
    }
    assert.ok(
      r.trials
        .find((t: any) => t.id === "max_num_seqs=16")
        .serveArgs.join(" ")
        .includes("--max-num-seqs 16"),
      "the trial ran with its flag",
    );
    assert.equal(r.cutOff, true);
    assert.equal(r.seed, 3);
    assert.deepEqual(r.workload, {
      dataset: "random",
      inputLen: 32,
      outputLen: 16,
      requestRates: [1, 2],
      numPrompts: 8,
      repeat: 1,
      warmupsPerRate: 2,
    });
    assert.equal(r.tool.name, "vllmapp");
    assert.match(r.vllm.served, /^\d+\.\d+\.\d+/, "the server's own /version");
    assert.ok(r.definitions.ttft && r.definitions.itl && r.definitions.goodput);
    // the winner: the best goodput of the trials
    const best = Math.max(...r.trials.map((t: any) => t.goodput));
    assert.ok(r.winner, "a winner");
    assert.equal(r.trials.find((t: any) => t.id === r.winner.id).goodput, best);
    assert.equal(r.winner.goodput, best);
    // the diff: printed, and the file untouched without --write
    assert.match(first.stdout, new RegExp(`^Winner +${r.winner.id.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: `, "m"));
    if (r.winner.id !== "baseline") {
      assert.match(first.stdout, /^--- vllm-app\.yaml\n\+\+\+ vllm-app\.yaml\n@@ /m);
      assert.equal(first.stdout.includes(r.winner.diff.trimEnd()), true);
    }
    assert.equal(readFileSync(path.join(dir, "vllm-app.yaml"), "utf8"), yaml);
    assert.match(readFileSync(path.join(dir, "tune.html"), "utf8"), /<svg class="chart" data-chart="goodput"/);
    // nothing of the search is left running
    assert.deepEqual(await containersOf(`${name}-tune`), []);

    // the same search again, from scratch (another results file): the same winner
    const second = await cli([...search, "--results", "second.json", "--write"], dir);
    assert.equal(second.code, 0, second.stderr);
    const r2 = JSON.parse(readFileSync(path.join(dir, "second.json"), "utf8"));
    assert.deepEqual(
      r2.trials.map((t: any) => t.id),
      r.trials.map((t: any) => t.id),
    );
    assert.equal(
      r2.winner.id,
      r.winner.id,
      `first: ${JSON.stringify(r.trials.map((t: any) => [t.id, t.goodput]))}, second: ${JSON.stringify(r2.trials.map((t: any) => [t.id, t.goodput]))}`,
    );
    // --write: the winner's change in the file, its comments kept
    const written = readFileSync(path.join(dir, "vllm-app.yaml"), "utf8");
    assert.match(written, /^# the tiny model on the CPU build$/m);
    assert.match(written, /# the context$/m);
    if (r.winner.id !== "baseline") assert.notEqual(written, yaml);
    assert.deepEqual(await containersOf(`${name}-tune`), []);
  },
);
