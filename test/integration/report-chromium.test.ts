/**
 * The HTML reports in a real browser: Debian's headless Chromium (installed by the test when missing)
 * loads `bench --report`, `bench --compare … --report` and `tune --report` files written by the built
 * CLI, with every network access of the browser's own turned off. The report forbids all fetches (its
 * Content-Security-Policy), so it must draw from what is inline: the test reads the page's layout back
 * (a copy of the report with one measuring script added prints each chart's and series' rendered size
 * into the DOM that `--dump-dom` returns) and asserts the charts are drawn with non-zero sizes, the SLO
 * lines and the tune winner's mark among them. Screenshots of the reports are written as test artifacts
 * (test-artifacts/, or $VLLMAPP_TEST_ARTIFACTS).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { cliWithTimeout, ROOT } from "../support/cli.ts";
import { ensureDebianPackages, which } from "../testbed/lib.mjs";

const ARTIFACTS = process.env.VLLMAPP_TEST_ARTIFACTS ?? path.join(ROOT, "test-artifacts");
const CHROMIUM = "/usr/bin/chromium";

before(async () => {
  await ensureDebianPackages(
    [{ pkg: "chromium", has: () => !!which("chromium") }],
    "the report test (headless Chromium)",
  );
  mkdirSync(ARTIFACTS, { recursive: true });
});

function chromiumArgs(profile: string): string[] {
  return [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    `--user-data-dir=${profile}`,
    "--hide-scrollbars",
  ];
}

/** What the browser laid out: each chart's box, each series' and bar's box, the SLO lines and winner marks. */
const MEASURE = `<script>
addEventListener("load", () => {
  const box = (e) => { const r = e.getBoundingClientRect(); return { w: Math.round(r.width), h: Math.round(r.height) }; };
  const out = [...document.querySelectorAll("svg.chart")].map((svg) => ({
    chart: svg.dataset.chart, ...box(svg),
    series: [...svg.querySelectorAll("g.series")].map((g) => ({ name: g.dataset.series, winner: g.dataset.winner === "true", ...box(g), marks: g.querySelectorAll("circle, polygon").length })),
    bars: [...svg.querySelectorAll("g.bar")].map((g) => ({ name: g.dataset.bar, winner: g.dataset.winner === "true", ...box(g.querySelector("rect")) })),
    slo: [...svg.querySelectorAll("g.slo line")].map(box),
  }));
  const pre = document.createElement("pre");
  pre.id = "measured";
  pre.textContent = JSON.stringify(out);
  document.body.append(pre);
});
</script>`;

interface Measured {
  chart: string;
  w: number;
  h: number;
  series: { name: string; winner: boolean; w: number; h: number; marks: number }[];
  bars: { name: string; winner: boolean; w: number; h: number }[];
  slo: { w: number; h: number }[];
}

/** Load the report in Chromium: its layout (from a measuring copy) and a screenshot of the report itself. */
async function render(report: string, shot: string): Promise<Measured[]> {
  const dir = mkdtempSync(path.join(tmpdir(), "vllmapp-report-"));
  const html = readFileSync(report, "utf8");
  // the copy may run the one measuring script; everything else about it is the report's
  const measuring = path.join(dir, "measure.html");
  writeFileSync(
    measuring,
    html
      .replace(
        /<meta http-equiv="Content-Security-Policy" content="[^"]*">/,
        `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">`,
      )
      .replace("</body>", `${MEASURE}</body>`),
  );
  const dom = await execa(
    CHROMIUM,
    [
      ...chromiumArgs(path.join(dir, "p1")),
      "--window-size=1400,1000",
      "--virtual-time-budget=5000",
      "--dump-dom",
      `file://${measuring}`,
    ],
    { reject: false, timeout: 120_000 },
  );
  assert.equal(dom.exitCode, 0, dom.stderr);
  const m = /<pre id="measured">([^<]*)<\/pre>/.exec(dom.stdout);
  assert.ok(m, `the page did not finish loading:\n${dom.stdout.slice(0, 500)}\n${dom.stderr}`);
  const shotRun = await execa(
    CHROMIUM,
    [
      ...chromiumArgs(path.join(dir, "p2")),
      "--window-size=1400,2400",
      `--screenshot=${shot}`,
      `file://${path.resolve(report)}`,
    ],
    { reject: false, timeout: 120_000 },
  );
  assert.equal(shotRun.exitCode, 0, shotRun.stderr);
  assert.ok(statSync(shot).size > 10_000, "a screenshot with something on it");
  return JSON.parse(
    m[1]!
      .replace(/&quot;/g, '"')
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&amp;/g, "&"),
  ) as Measured[];
}

const stats = (v: number) => ({ mean: v, median: v, p50: v * 0.8, p90: v, p95: v * 1.1, p99: v * 1.3 });
function level(concurrency: number | null, rate: number | null, ttft: number, rps: number) {
  return {
    concurrency,
    requestRate: rate,
    numPrompts: 16,
    durationSeconds: 16 / rps,
    requests: { completed: 16, failed: 0 },
    throughput: { requestsPerSecond: rps, outputTokensPerSecond: rps * 32, totalTokensPerSecond: rps * 96 },
    ttftMs: stats(ttft),
    tpotMs: stats(ttft / 10),
    itlMs: stats(ttft / 10),
    e2elMs: stats(ttft * 4),
    goodput: { requestsPerSecond: rps * 0.9, fraction: 0.9 },
    server: null,
  };
}
const benchResult = (ttft: number) => ({
  app: "tiny",
  namespace: null,
  target: "docker",
  endpoint: "http://127.0.0.1:8000",
  model: "tiny",
  image: "vllm-cpu:0.32.0",
  tool: { name: "vllm bench serve", ranIn: "container x" },
  workload: {
    dataset: "random",
    inputLen: 64,
    outputLen: 32,
    seed: 0,
    percentiles: [50, 90, 99],
    slo: { ttftMs: 400 },
  },
  levels: [level(1, null, ttft, 1.5), level(4, null, ttft * 1.8, 4.2), level(16, null, ttft * 4, 7.9)],
});

const cli = cliWithTimeout(60_000);

test("bench --compare A.json B.json --report: two runs side by side, drawn by Chromium", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "vllmapp-report-"));
  writeFileSync(path.join(dir, "before.json"), JSON.stringify(benchResult(120)));
  writeFileSync(path.join(dir, "after.json"), JSON.stringify(benchResult(90)));
  const r = await cli(["bench", "--compare", "before.json", "after.json", "--report", "ab.html"], dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^== before$/m);
  assert.match(r.stdout, /^== after$/m);
  const charts = await render(path.join(dir, "ab.html"), path.join(ARTIFACTS, "bench-compare.png"));
  assert.deepEqual(
    charts.map((c) => c.chart),
    ["ttft", "tpot", "itl", "e2el", "goodput"],
  );
  for (const c of charts) assert.ok(c.w > 300 && c.h > 200, `chart ${c.chart} is drawn: ${c.w}×${c.h}`);
  const ttft = charts.find((c) => c.chart === "ttft")!;
  assert.deepEqual(
    ttft.series.map((s) => [s.name, s.marks]),
    [
      ["before", 3],
      ["after", 3],
    ],
  );
  for (const s of ttft.series) assert.ok(s.w > 50 && s.h > 10, `series ${s.name} has a drawn curve: ${s.w}×${s.h}`);
  assert.equal(ttft.slo.length, 1, "the TTFT SLO line");
  assert.ok(ttft.slo[0]!.w > 300);
  const goodput = charts.find((c) => c.chart === "goodput")!;
  assert.equal(goodput.bars.length, 6);
  for (const b of goodput.bars) assert.ok(b.h > 0 && b.w > 0, `bar ${b.name}`);
  // a results file that is not bench's: a usage error
  writeFileSync(path.join(dir, "junk.json"), "{}");
  const bad = await cli(["bench", "--compare", "before.json", "junk.json"], dir);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error: --compare junk\.json: not the output of vllmapp bench --json \(no levels\)$/m);
});

test("tune --report: the trials on the curve with the winner marked, the goodput bars and the SLO lines, drawn by Chromium", async () => {
  // the results of a real search (the unit test's stand-in search writes the same shape)
  const dir = mkdtempSync(path.join(tmpdir(), "vllmapp-report-"));
  const { tuneReport } = await import("../../src/report/html.ts");
  const trial = (id: string, goodput: number, ttft: number) => ({
    id,
    index: 0,
    changes: {},
    settings: {},
    overrides: [],
    status: "ok",
    error: null,
    startedAt: "",
    seconds: 60,
    vllmVersion: "0.32.0",
    serveArgs: [],
    runs: [[level(null, 1, ttft, 1), level(null, 2, ttft * 1.5, 1.9), level(null, 4, ttft * 3, 3.6)]],
    score: {
      goodput,
      rates: [1, 2, 4].map((r) => ({
        requestRate: r,
        met: r <= goodput ? 1 : 0,
        runs: 1,
        meets: r <= goodput,
        missed: r <= goodput ? null : "TTFT p95 > 500 ms",
      })),
    },
    goodput,
    goodRequestsPerSecond: goodput * 0.95,
  });
  const results = {
    schema: "vllmapp.dev/tune-results/v1",
    key: "k",
    tool: { name: "vllmapp", version: "0.1.0", benchmark: "vllm bench serve" },
    vllm: { release: "0.32.0", image: "vllm-cpu:0.32.0", served: "0.32.0" },
    app: "tiny",
    file: "vllm-app.yaml",
    target: "docker",
    gpu: "none (CPU)",
    seed: 0,
    workload: {
      dataset: "random",
      inputLen: 64,
      outputLen: 32,
      requestRates: [1, 2, 4],
      numPrompts: null,
      repeat: 1,
      warmupsPerRate: 2,
    },
    slo: {
      perRequest: {},
      percentiles: [
        { metric: "ttft", percentile: 95, ms: 500 },
        { metric: "itl", percentile: 95, ms: 60 },
      ],
      attainment: 0.9,
      text: "ttft_p95=500ms,itl_p95=60ms",
    },
    definitions: { goodput: "DistServe's goodput" },
    budget: { trials: 3, seconds: null },
    candidates: [
      { id: "baseline", index: 0, changes: {}, pruned: null },
      { id: "kv_cache_dtype=fp8", index: 1, changes: {}, pruned: "needs a GPU" },
    ],
    trials: [trial("baseline", 2, 150), trial("max_num_seqs=16", 1, 250), trial("max_model_len=256", 4, 100)],
    winner: {
      id: "max_model_len=256",
      goodput: 4,
      why: "highest goodput",
      diff: "--- f\n+++ f\n@@ -1 +1 @@\n-a\n+b\n",
    },
    runnerUp: { id: "baseline", goodput: 2, goodRequestsPerSecond: 1.9 },
    cutOff: false,
  };
  const file = path.join(dir, "tune.html");
  writeFileSync(file, tuneReport(results as never));
  const charts = await render(file, path.join(ARTIFACTS, "tune-report.png"));
  assert.deepEqual(
    charts.map((c) => c.chart),
    ["ttft", "itl", "e2el", "goodput"],
  );
  for (const c of charts) assert.ok(c.w > 300 && c.h > 200, `chart ${c.chart} is drawn: ${c.w}×${c.h}`);
  const ttft = charts.find((c) => c.chart === "ttft")!;
  assert.deepEqual(
    ttft.series.map((s) => [s.name, s.winner, s.marks]),
    [
      ["baseline", false, 3],
      ["max_num_seqs=16", false, 3],
      ["max_model_len=256", true, 3],
    ],
  );
  for (const s of ttft.series) assert.ok(s.w > 50 && s.h > 5, `trial ${s.name} is on the curve: ${s.w}×${s.h}`);
  assert.equal(ttft.slo.length, 1);
  assert.equal(charts.find((c) => c.chart === "itl")!.slo.length, 1, "the ITL p95 SLO line");
  const bars = charts.find((c) => c.chart === "goodput")!.bars;
  assert.deepEqual(
    bars.map((b) => [b.name, b.winner]),
    [
      ["baseline", false],
      ["max_num_seqs=16", false],
      ["max_model_len=256", true],
    ],
  );
  assert.ok(bars[2]!.h > bars[0]!.h && bars[0]!.h > bars[1]!.h, "bar heights follow goodput");
});
