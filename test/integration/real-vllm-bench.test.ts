/**
 * `vllmapp bench --local` against the REAL vLLM (the test bed's CPU build) serving the tiny model:
 * `vllm bench serve` runs in a container of the app's own image and returns TTFT, ITL and throughput
 * for every concurrency it ran, with the server's /metrics deltas; the table says the same. An app that
 * is not deployed, or not ready yet, is a non-zero exit with one line saying so. (The numbers mean
 * nothing on two shared cores; the mechanics do.) One server at a time.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { cliWithTimeout, workdir } from "../support/cli.ts";
import { tbEnv } from "../support/testbed.ts";
import { freePort, removeApps } from "./docker-support.ts";

const apps: string[] = [];
after(() => removeApps(apps));

const cli = cliWithTimeout(600_000);

async function appDir(what: string) {
  const name = `rb${process.pid % 10000}-${what}`;
  apps.push(name);
  const port = await freePort();
  const dir = workdir({
    "vllm-app.yaml": `name: ${name}\nmodel_path: ${tbEnv("VLLM_TINY_MODEL_DIR")}\nmodel_id: tiny\nimage: ${tbEnv("VLLM_IMAGE")}\nport: ${port}\nextra_args: [--max-model-len, "512"]\n`,
  });
  return { name, dir, port };
}

test("bench of an app that is not deployed: exit 2, one line saying so", async () => {
  const { name, dir } = await appDir("none");
  const r = await cli(["bench", "--local", "--json"], dir);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, "");
  assert.match(
    r.stderr,
    new RegExp(`^error: app ${name} is not deployed: no container of it on this Docker engine$`, "m"),
  );
});

test("deploy --local on the real vLLM, then bench --local --json: TTFT, ITL and throughput for each concurrency", async () => {
  const { name, dir, port } = await appDir("tiny");
  const d = await cli(["deploy", "--local", "--no-wait"], dir);
  assert.equal(d.code, 0, d.stderr);
  // right after start the server is not ready: bench says where its start is, and stops
  const early = await cli(["bench", "--local"], dir);
  assert.equal(early.code, 6, early.stderr);
  assert.match(early.stderr, new RegExp(`^error: app ${name} is not ready: (starting|loading|initializing)`, "m"));
  const w = await cli(["deploy", "--local", "--timeout", "5m"], dir);
  assert.equal(w.code, 0, w.stderr);
  assert.match(w.stderr, new RegExp(`${name} is ready at http://127\\.0\\.0\\.1:${port}`));
  const r = await cli(
    [
      "bench",
      "--local",
      "--json",
      "--concurrency",
      "1,4",
      "--input-len",
      "64",
      "--output-len",
      "32",
      "--slo",
      "ttft=2s,itl=200ms",
    ],
    dir,
  );
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.equal(result.app, name);
  assert.equal(result.target, "docker");
  assert.equal(result.endpoint, `http://127.0.0.1:${port}`);
  assert.equal(result.image, tbEnv("VLLM_IMAGE"), "the app's own image");
  assert.equal(result.tool.name, "vllm bench serve");
  assert.deepEqual(
    result.levels.map((l: any) => l.concurrency),
    [1, 4],
  );
  for (const l of result.levels) {
    assert.equal(l.requests.failed, 0);
    assert.equal(l.requests.completed, l.numPrompts);
    for (const stats of [l.ttftMs, l.itlMs, l.tpotMs, l.e2elMs])
      for (const k of ["mean", "p50", "p90", "p99"])
        assert.equal(typeof stats[k], "number", `${k} of level ${l.concurrency}`);
    assert.ok(l.ttftMs.p50 > 0 && l.e2elMs.p99 >= l.ttftMs.p50);
    assert.ok(l.throughput.outputTokensPerSecond > 0 && l.throughput.requestsPerSecond > 0);
    assert.ok(l.goodput && l.goodput.fraction >= 0 && l.goodput.fraction <= 1);
    assert.ok(l.server, "the server's /metrics were read around the level");
    assert.ok(
      l.server.requests >= l.numPrompts && l.server.generationTokens >= l.numPrompts * 32,
      JSON.stringify(l.server),
    );
  }
  assert.match(r.stderr, /^bench .*: concurrency 1 \(1\/2\)/m, "progress on stderr");
  const text = await cli(
    [
      "bench",
      "--local",
      "--concurrency",
      "2",
      "--num-prompts",
      "4",
      "--input-len",
      "32",
      "--output-len",
      "16",
      "--report",
      "bench.html",
    ],
    dir,
  );
  assert.equal(text.code, 0, text.stderr);
  // the HTML report of the real run: the curves of its one level and its percentile table (drawn in Chromium by report-chromium.test.ts)
  const html = readFileSync(path.join(dir, "bench.html"), "utf8");
  assert.deepEqual(
    [...html.matchAll(/<svg class="chart" data-chart="([a-z0-9]+)"/g)].map((m) => m[1]),
    ["ttft", "tpot", "itl", "e2el"],
  );
  assert.match(html, /<h3>concurrency 2<\/h3><p class="meta">4 completed, 0 failed/);
  assert.match(text.stdout, /^CONC +OK\/FAIL +REQ\/S +OUT TOK\/S +TTFT p50\/p99 ms +ITL p50\/p99 ms/m);
  assert.match(text.stdout, /^2 +4\/0 +/m);
  assert.match(text.stdout, /^Server \/metrics over each level:$/m);
  const gone = await cli(["delete", "--local"], dir);
  assert.equal(gone.code, 0, gone.stderr);
});
