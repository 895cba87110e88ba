/**
 * vllmapp tune, without a server: the candidates and why some are refused offline, the overrides that
 * make a candidate, the SLO and goodput, the ranking and its tie-break, the winner as a diff that keeps
 * the file's comments, and the whole search against a stand-in target (a Session whose bench answers
 * from the candidate's settings): the winner has the best goodput, a re-run picks it again, a search
 * cut off by its budget resumes from its results file. The real server: test/integration/real-vllm-tune.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { nodePlanIo } from "../../../src/app/node-io.ts";
import { parseBudget, parseWorkload, tuneOptionsSchema, tuneRequest } from "../../../src/commands/tune.ts";
import { parseOptions } from "../../../src/commands/options.ts";
import { UsageError } from "../../../src/errors.ts";
import { benchReport, tuneReport } from "../../../src/report/html.ts";
import type { BenchLevel, BenchRequest, BenchResult, DeployResult, Session } from "../../../src/target.ts";
import { applyToText, unifiedDiff } from "../../../src/tune/edit.ts";
import { benchRequest, sampleWorkload, tune, type TuneRequest } from "../../../src/tune/run.ts";
import { checkLevel, parseTuneSlo, rank, scoreTrial } from "../../../src/tune/score.ts";
import { candidates, overridesFor, settingsOf } from "../../../src/tune/space.ts";
import { Ui } from "../../../src/ui/output.ts";
import { workdir } from "../../support/cli.ts";

const stats = (v: number) => ({ mean: v, median: v, p50: v, p90: v, p95: v, p99: v });

function level(rate: number, o: { ttft?: number; itl?: number; failed?: number; good?: number } = {}): BenchLevel {
  const n = 10;
  return {
    concurrency: null,
    requestRate: rate,
    numPrompts: n,
    durationSeconds: n / rate,
    requests: { completed: n - (o.failed ?? 0), failed: o.failed ?? 0 },
    throughput: { requestsPerSecond: rate, outputTokensPerSecond: rate * 32, totalTokensPerSecond: rate * 96 },
    ttftMs: stats(o.ttft ?? 100),
    tpotMs: stats(o.itl ?? 20),
    itlMs: stats(o.itl ?? 20),
    e2elMs: stats((o.ttft ?? 100) + 31 * (o.itl ?? 20)),
    goodput: { requestsPerSecond: ((o.good ?? n) / n) * rate, fraction: (o.good ?? n) / n },
    server: null,
  };
}

const cpuApp = {
  name: "tiny",
  model_path: "/models/tiny",
  image: "vllm-cpu:0.32.0",
  port: 8000,
  extra_args: ["--max-model-len", "512"],
} as never;

test("the candidates: the baseline first, then round-robin over the knobs; what a CPU or vLLM would refuse is pruned with the reason", () => {
  const base = settingsOf(["/models/tiny", "--max-model-len", "512"], 1, false);
  const w = { inputLen: 64, outputLen: 32 };
  const list = candidates(cpuApp, base, { gpus: 0 }, w, ["auto", "fp8", "fp8_e5m2"]);
  assert.deepEqual(
    list.slice(0, 8).map((c) => c.id),
    [
      "baseline",
      "max_num_seqs=16",
      "max_num_batched_tokens=2048",
      "max_model_len=256",
      "kv_cache_dtype=fp8",
      "gpu_memory_utilization=0.8",
      "tensor_parallel=2",
      "max_num_seqs=64",
    ],
  );
  const why = Object.fromEntries(list.filter((c) => c.pruned).map((c) => [c.id, c.pruned]));
  assert.match(why["kv_cache_dtype=fp8"]!, /needs a GPU/);
  assert.match(why["gpu_memory_utilization=0.8"]!, /CPU backend sizes its KV cache from VLLM_CPU_KVCACHE_SPACE/);
  assert.match(why["tensor_parallel=2"]!, /tensor parallel 2 needs 2 GPUs; the app has none \(the CPU backend\)/);
  assert.equal(list.find((c) => c.id === "max_num_seqs=16")!.pruned, undefined);
  // a pure function: the same arguments, the same list
  assert.deepEqual(
    candidates(cpuApp, base, { gpus: 0 }, w, ["auto", "fp8"]).map((c) => c.id),
    candidates(cpuApp, base, { gpus: 0 }, w, ["auto", "fp8"]).map((c) => c.id),
  );
  // vLLM's own rules: a context shorter than the requests, fewer batched tokens than sequences, TP that does not divide the heads
  const gpu = candidates(
    cpuApp,
    { ...base, max_model_len: 64 },
    { gpus: 4, heads: { attention: 6, kv: 2 } },
    { inputLen: 64, outputLen: 32 },
  );
  assert.match(gpu[0]!.pruned!, /max_model_len 64 is shorter than the workload's requests \(64 \+ 32 = 96 tokens\)/);
  assert.match(gpu.find((c) => c.id === "tensor_parallel=4")!.pruned!, /does not divide the model's 6 attention heads/);
  const few = candidates(cpuApp, { ...base, max_num_seqs: 4096 }, { gpus: 1 }, w);
  assert.match(
    few.find((c) => c.id === "max_num_batched_tokens=2048")!.pruned!,
    /max_num_batched_tokens 2048 is below max_num_seqs 4096/,
  );
});

test("a candidate's overrides: a flag in extra_args is replaced in place, a new one appended, a string extra_args becomes a list", () => {
  assert.deepEqual(overridesFor(cpuApp, { max_model_len: 256, max_num_seqs: 16 }), [
    { path: "extra_args[1]", value: '"256"' },
    { path: "extra_args[2]", value: '"--max-num-seqs"' },
    { path: "extra_args[3]", value: '"16"' },
  ]);
  assert.deepEqual(
    overridesFor({ ...(cpuApp as object), extra_args: "--max-model-len=512 --enforce-eager" } as never, {
      max_model_len: 256,
    }),
    [{ path: "extra_args", value: '["--max-model-len=256","--enforce-eager"]' }],
  );
  assert.deepEqual(
    overridesFor(
      {
        ...(cpuApp as object),
        draft_model_hf_path: "org/draft",
        speculative_config: { num_speculative_tokens: 3 },
      } as never,
      { speculative: false },
    ),
    [
      { path: "draft_model_hf_path", value: "null" },
      { path: "speculative_config", value: "null" },
    ],
  );
  assert.deepEqual(overridesFor(cpuApp, { tensor_parallel: 2 }, 4), [
    { path: "parallelism.tensor", value: "2" },
    { path: "parallelism.data", value: "2" },
  ]);
});

test("the SLO: percentile bounds over a level, per-request bounds with an attainment goal; a level with failures misses it", () => {
  const slo = parseTuneSlo("ttft_p95=500ms,itl_p95=50ms", 0.9);
  assert.deepEqual(slo, {
    perRequest: {},
    percentiles: [
      { metric: "ttft", percentile: 95, ms: 500 },
      { metric: "itl", percentile: 95, ms: 50 },
    ],
    attainment: 0.9,
  });
  assert.equal(checkLevel(level(2), slo).meets, true);
  assert.equal(checkLevel(level(2, { ttft: 800 }), slo).missed, "TTFT p95 800.0 ms > 500 ms");
  assert.equal(checkLevel(level(2, { failed: 1 }), slo).missed, "1 of 10 requests failed");
  const per = parseTuneSlo("ttft=1s,itl=40ms", 0.9);
  assert.deepEqual(per.perRequest, { ttftMs: 1000, tpotMs: 40 });
  assert.equal(checkLevel(level(2, { good: 9 }), per).meets, true);
  assert.match(
    checkLevel(level(2, { good: 8 }), per).missed!,
    /^80% of requests met the per-request bounds \(< 90%\)$/,
  );
  assert.throws(
    () => parseTuneSlo("latency=1s", 0.9),
    (e: unknown) => e instanceof UsageError && /the SLO keys are ttft, itl, tpot and e2el/.test(e.message),
  );
  assert.throws(() => parseTuneSlo("ttft_p100=1s", 0.9), UsageError);
});

test("goodput: the highest rate that it and every lower rate meet the SLO, by majority of the runs", () => {
  const slo = parseTuneSlo("ttft_p95=500ms", 0.9);
  const runs = [
    [level(1), level(2), level(4, { ttft: 900 })],
    [level(1), level(2, { ttft: 600 }), level(4)],
    [level(1), level(2), level(4, { ttft: 900 })],
  ];
  const s = scoreTrial(runs, [1, 2, 4], slo);
  assert.equal(s.goodput, 2);
  assert.deepEqual(
    s.rates.map((r) => [r.requestRate, r.met, r.meets]),
    [
      [1, 3, true],
      [2, 2, true],
      [4, 1, false],
    ],
  );
  // a rate above one that missed does not count, even when it met the SLO
  assert.equal(scoreTrial([[level(1), level(2, { ttft: 900 }), level(4)]], [1, 2, 4], slo).goodput, 1);
  assert.equal(scoreTrial([[level(1, { ttft: 900 })]], [1], slo).goodput, 0);
  // equal goodput: the lower cost wins, whatever order they come in
  const ranked = rank([
    { item: "b", goodput: 2, cost: [1, 0.9, 2, 512] },
    { item: "a", goodput: 2, cost: [1, 0.9, 2, 256] },
    { item: "c", goodput: 1, cost: [1] },
  ]);
  assert.deepEqual(
    ranked.map((r) => r.item),
    ["a", "b", "c"],
  );
});

test("the winner as a change to the file: comments and the other documents stay, the diff is unified", () => {
  const text =
    '# my model\nname: tiny   # the app\nmodel_path: /models/tiny\nextra_args:\n  - --max-model-len  # context\n  - "512"\n---\nname: other\nmodel_path: /m\n';
  const after = applyToText(
    text,
    "vllm-app.yaml",
    "tiny",
    overridesFor(cpuApp, { max_model_len: 256, max_num_seqs: 16 }),
  );
  assert.equal(
    after,
    '# my model\nname: tiny   # the app\nmodel_path: /models/tiny\nextra_args:\n  - --max-model-len  # context\n  - "256"\n  - --max-num-seqs\n  - "16"\n---\nname: other\nmodel_path: /m\n',
  );
  assert.equal(
    unifiedDiff(text, after, "vllm-app.yaml"),
    [
      "--- vllm-app.yaml",
      "+++ vllm-app.yaml",
      "@@ -3,7 +3,9 @@",
      " model_path: /models/tiny",
      " extra_args:",
      "   - --max-model-len  # context",
      '-  - "512"',
      '+  - "256"',
      "+  - --max-num-seqs",
      '+  - "16"',
      " ---",
      " name: other",
      " model_path: /m",
      "",
    ].join("\n"),
  );
  assert.equal(unifiedDiff(text, text, "f"), "");
});

test("tune's flags: a budget of trials or time, a workload, an SLO is required", () => {
  assert.deepEqual(parseBudget("8"), { trials: 8 });
  assert.deepEqual(parseBudget("30m"), { seconds: 1800 });
  assert.throws(() => parseBudget("lots"), UsageError);
  assert.deepEqual(parseWorkload("512:128"), { inputLen: 512, outputLen: 128 });
  assert.throws(() => parseWorkload("512"), /write INPUT:OUTPUT tokens per request/);
  assert.throws(
    () => parseOptions(tuneOptionsSchema, { file: ["x.yaml"] }),
    (e: unknown) => e instanceof UsageError && /tune needs an SLO/.test(e.message),
  );
});

test("tune's request from its flags: the documented defaults, the app from the argument, a dataset file's workload", () => {
  const slo = parseTuneSlo("ttft_p95=500ms", 0.9);
  const plain = parseOptions(tuneOptionsSchema, { file: ["deploy/vllm-app.yaml"], slo: "ttft_p95=500ms" });
  const r = tuneRequest(plain, slo, undefined);
  assert.deepEqual(
    {
      app: r.app,
      workload: r.workload,
      requestRates: r.requestRates,
      repeat: r.repeat,
      seed: r.seed,
      budget: r.budget,
      resultsFile: r.resultsFile,
      benchTimeoutSeconds: r.benchTimeoutSeconds,
      sloText: r.sloText,
    },
    {
      app: undefined,
      workload: { inputLen: 256, outputLen: 128 },
      requestRates: [1, 2, 4, 8, 16],
      repeat: 3,
      seed: 0,
      budget: { trials: 8 },
      resultsFile: path.join("deploy", "vllmapp-tune.json"),
      benchTimeoutSeconds: 1800,
      sloText: "ttft_p95=500ms",
    },
  );
  assert.ok(!("numPrompts" in r) && !("startTimeoutSeconds" in r) && !("dataset" in r));
  const dataset = { path: "prompts.jsonl", parsed: {} as never };
  const given = tuneRequest(
    parseOptions(tuneOptionsSchema, {
      file: ["vllm-app.yaml"],
      slo: "ttft_p95=500ms",
      appName: "qwen3",
      workload: "prompts.jsonl",
      requestRate: "2,4",
      numPrompts: "20",
      repeat: "1",
      seed: "7",
      timeout: "10m",
      budget: "1h",
    }),
    slo,
    dataset,
  );
  assert.equal(given.app, "qwen3");
  assert.deepEqual(given.workload, { inputLen: 0, outputLen: 0, fromFile: true });
  assert.equal(given.dataset, dataset);
  assert.deepEqual(
    [given.requestRates, given.numPrompts, given.repeat, given.seed, given.startTimeoutSeconds, given.budget],
    [[2, 4], 20, 1, 7, 600, { seconds: 3600 }],
  );
});

test("the workload and benchmark every trial shares: random prompts as asked, the SLO's percentiles beside the usual ones, its bounds per request", () => {
  const req = {
    requestRates: [2, 4],
    workload: { inputLen: 64, outputLen: 32 },
    slo: parseTuneSlo("ttft_p97.5=500ms,itl_p95=40ms", 0.9),
    seed: 7,
    repeat: 2,
    benchTimeoutSeconds: 60,
  } as TuneRequest;
  const { workload, sample } = sampleWorkload(req);
  assert.equal(sample, undefined);
  assert.deepEqual(workload, {
    dataset: "random",
    inputLen: 64,
    outputLen: 32,
    requestRates: [2, 4],
    numPrompts: null,
    repeat: 2,
    warmupsPerRate: 2,
  });
  assert.deepEqual(benchRequest({ ...req, numPrompts: 12 }, workload, sample), {
    concurrency: [],
    requestRates: [2, 4],
    numPrompts: 12,
    inputLen: 64,
    outputLen: 32,
    percentiles: [50, 90, 95, 97.5, 99],
    slo: { ttftMs: 500, tpotMs: 40 },
    seed: 7,
    timeoutSeconds: 60,
    keep: false,
    warmups: 2,
  });
});

/** A target whose server answers from its --max-num-seqs: fewer sequences, later first tokens at 4 req/s. */
function standInSession(calls: string[]): Session {
  let args: string[] = [];
  return {
    async deploy(p): Promise<DeployResult> {
      args = p.apps[0]!.rendered.serve.args;
      calls.push(`deploy ${p.apps[0]!.loaded.config.name}`);
      return {
        dryRun: null,
        prerequisites: [],
        apps: [
          {
            name: p.apps[0]!.loaded.config.name,
            namespace: null,
            container: "c",
            model: p.apps[0]!.rendered.model,
            image: "i",
            changes: [],
            endpoint: "http://127.0.0.1:1",
            ready: true,
            replicas: null,
            startup: null,
            timeline: null,
            requiresApiKey: false,
            objects: null,
            docker: null,
          },
        ],
      };
    },
    async bench(ref, req: BenchRequest): Promise<BenchResult> {
      calls.push(`bench ${ref.name} seed ${req.seed} warmups ${req.warmups}`);
      const seqs = Number(args[args.indexOf("--max-num-seqs") + 1] || 256);
      const len = Number(args[args.indexOf("--max-model-len") + 1] || 0);
      const levels = req.requestRates.map((r) =>
        level(r, { ttft: r >= 4 && seqs < 64 ? 900 : r >= 8 && len !== 256 ? 700 : 100 }),
      );
      return {
        app: ref.name,
        namespace: null,
        target: "docker",
        endpoint: "",
        model: "tiny",
        image: "i",
        tool: { name: "vllm bench serve", ranIn: "" },
        workload: {
          dataset: "random",
          inputLen: req.inputLen,
          outputLen: req.outputLen,
          seed: req.seed,
          percentiles: req.percentiles,
          slo: req.slo,
        },
        levels,
      };
    },
    async delete(apps) {
      calls.push(`delete ${apps[0]!.name}`);
      return { apps: [] } as never;
    },
    status: async () => ({}) as never,
    logs: async () => undefined,
    list: async () => ({}) as never,
  };
}

test("the search against a stand-in target: the winner has the best goodput, a re-run picks it again, a cut-off search resumes", async () => {
  const yaml =
    '# tiny on CPU\nname: tiny\nmodel_path: /models/tiny\nimage: vllm-cpu:0.32.0\nextra_args: [--max-model-len, "512"]  # context\n';
  const dir = workdir({ "vllm-app.yaml": yaml });
  const file = path.join(dir, "vllm-app.yaml");
  const req = (o: Partial<TuneRequest> = {}): TuneRequest => ({
    file,
    target: "docker",
    params: new Map(),
    set: [],
    workload: { inputLen: 64, outputLen: 32 },
    requestRates: [2, 4, 8],
    slo: parseTuneSlo("ttft_p95=500ms", 0.9),
    sloText: "ttft_p95=500ms",
    seed: 7,
    repeat: 2,
    budget: { trials: 4 },
    resultsFile: path.join(dir, "r1.json"),
    fresh: false,
    benchTimeoutSeconds: 60,
    write: false,
    offline: true,
    connection: {},
    ...o,
  });
  let port = 20000;
  const calls: string[] = [];
  const deps = () => ({
    io: nodePlanIo({}),
    session: standInSession(calls),
    freePort: async () => port++,
    serverVersion: async () => "0.32.0",
    now: Date.now,
  });
  const ui = new Ui({ quiet: true });
  const first = await tune(req(), deps(), ui);
  const r = first.results;
  assert.deepEqual(
    r.trials.map((t) => [t.id, t.goodput]),
    [
      ["baseline", 4],
      ["max_num_seqs=16", 2],
      ["max_num_batched_tokens=2048", 4],
      ["max_model_len=256", 8],
    ],
  );
  assert.equal(r.winner!.id, "max_model_len=256");
  assert.equal(Math.max(...r.trials.map((t) => t.goodput)), r.winner!.goodput);
  assert.match(
    r.winner!.why,
    /^highest goodput: 8 req\/s against 4 req\/s for the runner-up max_num_batched_tokens=2048 \(at 8 req\/s: TTFT p95 700\.0 ms > 500 ms\)$/,
  );
  assert.match(
    first.diff,
    /^-extra_args: \[--max-model-len, "512"\]  # context\n\+extra_args: \[--max-model-len, "256"\] # context$/m,
  );
  assert.equal(r.vllm.served, "0.32.0");
  assert.equal(r.seed, 7);
  assert.ok(r.definitions.goodput.startsWith("DistServe's goodput"));
  assert.ok(r.candidates.some((c) => c.id === "tensor_parallel=2" && /needs 2 GPUs/.test(c.pruned ?? "")));
  // each trial: deployed beside the app as tiny-tune, measured twice with the same seed, removed
  assert.deepEqual(calls.slice(0, 4), [
    "deploy tiny-tune",
    "bench tiny-tune seed 7 warmups 2",
    "bench tiny-tune seed 7 warmups 2",
    "delete tiny-tune",
  ]);
  assert.equal(readFileSync(file, "utf8"), yaml, "without --write the file stays");
  assert.deepEqual(JSON.parse(readFileSync(path.join(dir, "r1.json"), "utf8")).winner.id, "max_model_len=256");

  // the same search again, from scratch: the same trials in the same order, the same winner
  const again = await tune(req({ resultsFile: path.join(dir, "r2.json") }), deps(), ui);
  assert.deepEqual(
    again.results.trials.map((t) => t.id),
    r.trials.map((t) => t.id),
  );
  assert.equal(again.results.winner!.id, r.winner!.id);

  // cut off after 2 trials, then resumed with a bigger budget: only the missing trials run
  calls.length = 0;
  const cut = await tune(req({ resultsFile: path.join(dir, "r3.json"), budget: { trials: 2 } }), deps(), ui);
  assert.equal(cut.results.cutOff, true);
  assert.equal(cut.results.trials.length, 2);
  calls.length = 0;
  const resumed = await tune(req({ resultsFile: path.join(dir, "r3.json") }), deps(), ui);
  assert.equal(calls.filter((c) => c.startsWith("deploy")).length, 2);
  assert.equal(resumed.results.winner!.id, "max_model_len=256");
  // another seed is another search: its results file is not resumed
  await assert.rejects(
    tune(req({ resultsFile: path.join(dir, "r3.json"), seed: 8 }), deps(), ui),
    /holds the results of another search/,
  );

  // --write: the change goes into the file, its comment kept
  await tune(req({ resultsFile: path.join(dir, "r4.json"), write: true }), deps(), ui);
  assert.equal(
    readFileSync(file, "utf8"),
    '# tiny on CPU\nname: tiny\nmodel_path: /models/tiny\nimage: vllm-cpu:0.32.0\nextra_args: [--max-model-len, "256"] # context\n',
  );

  // the report: self-contained, the trials on the curve, the winner marked
  const html = tuneReport(r);
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'/);
  assert.doesNotMatch(html.replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, ""), /(src|href)=|https?:\/\/|<script/);
  assert.equal((html.match(/<svg class="chart"/g) ?? []).length, 4);
  assert.match(html, /<g class="series" data-series="max_model_len=256" data-winner="true">/);
  writeFileSync(path.join(dir, "report.html"), html);
});

test("the bench report: one curve per run, the SLO line, percentiles per level", () => {
  const run = (label: string, ttft: number): { label: string; result: BenchResult } => ({
    label,
    result: {
      app: "tiny",
      namespace: null,
      target: "docker",
      endpoint: "http://127.0.0.1:1",
      model: "tiny",
      image: "i",
      tool: { name: "vllm bench serve", ranIn: "" },
      workload: {
        dataset: "random",
        inputLen: 64,
        outputLen: 32,
        seed: 0,
        percentiles: [50, 90, 99],
        slo: { ttftMs: 500 },
      },
      levels: [level(1, { ttft }), level(4, { ttft: ttft * 2 })].map((l, i) => ({
        ...l,
        concurrency: [1, 4][i]!,
        requestRate: null,
      })),
    },
  });
  const html = benchReport([run("before", 100), run("after", 80)]);
  assert.match(html, /<title>Benchmark comparison: before vs after<\/title>/);
  assert.equal((html.match(/<g class="series" data-series="before">/g) ?? []).length, 4);
  assert.match(html, /SLO: TTFT ≤ 500 ms per request/);
  assert.match(html, /<h3>concurrency 4<\/h3>/);
  assert.match(html, /<svg class="chart" data-chart="goodput"/);
});
