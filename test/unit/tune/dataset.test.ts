/**
 * vllmapp tune --workload FILE: a dataset file (vLLM's custom JSONL or ShareGPT) is read and checked here
 * (a mistake names the file and line), sampled with the search's seed (the same prompts on every run
 * with that seed, others with another), and travels gzipped in the benchmark wrapper's config, where
 * `vllm bench serve` reads it with its own loader. The real server: test/integration/tune-dataset.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { gunzipSync } from "node:zlib";
import path from "node:path";
import { writeFileSync } from "node:fs";
import { nodePlanIo } from "../../../src/app/node-io.ts";
import { vllmBenchArgs, wrapperConfig, planLevels, DATASET_PATH } from "../../../src/bench/bench.ts";
import { parseWorkload } from "../../../src/commands/tune.ts";
import { UsageError } from "../../../src/errors.ts";
import type { BenchLevel, BenchRequest, BenchResult, DeployResult, Session } from "../../../src/target.ts";
import { encodeSample, MAX_SAMPLE_BYTES, parseDataset, sampleRecords } from "../../../src/tune/dataset.ts";
import { describeWorkload } from "../../../src/tune/results.ts";
import { tune } from "../../../src/tune/run.ts";
import { parseTuneSlo } from "../../../src/tune/score.ts";
import { Ui } from "../../../src/ui/output.ts";
import { workdir } from "../../support/cli.ts";

const custom = (n: number) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ prompt: `question ${i}`, output_tokens: 8 + i })).join("\n") +
  "\n";
const usage = (re: RegExp) => (e: unknown) => e instanceof UsageError && re.test(e.message);

test("--workload: IN:OUT is random prompts, anything else a dataset file", () => {
  assert.deepEqual(parseWorkload("32:16"), { inputLen: 32, outputLen: 16 });
  assert.deepEqual(parseWorkload("prompts.jsonl"), { file: "prompts.jsonl" });
  assert.throws(() => parseWorkload("32"), /write INPUT:OUTPUT tokens per request/);
});

test("the dataset formats: vLLM's custom JSONL and ShareGPT (a JSON array or JSONL); mistakes name the file and line", () => {
  const c = parseDataset("p.jsonl", custom(3));
  assert.equal(c.format, "custom");
  assert.equal(c.records.length, 3);
  assert.match(c.sha256, /^[0-9a-f]{64}$/);
  const conv = (q: string, turns = 2) => ({
    id: q,
    conversations: [
      { from: "human", value: q },
      { from: "gpt", value: `answer to ${q}` },
    ].slice(0, turns),
  });
  const s = parseDataset("s.json", JSON.stringify([conv("a"), conv("b", 1), conv("c")]));
  assert.equal(s.format, "sharegpt");
  assert.deepEqual(
    s.records.map((r) => r.id),
    ["a", "c"],
    "a conversation without an answer is dropped, as vLLM's loader does",
  );
  assert.equal(
    parseDataset("s.jsonl", `${JSON.stringify(conv("a"))}\n${JSON.stringify(conv("b"))}\n`).format,
    "sharegpt",
  );
  assert.throws(
    () => parseDataset("p.jsonl", `${custom(1)}{"prompt": "x"}\n`),
    usage(/^--workload p\.jsonl:2: "output_tokens" must be a whole number above 0/),
  );
  assert.throws(
    () => parseDataset("p.jsonl", `${custom(2)}not json\n`),
    usage(/^--workload p\.jsonl:3: not a JSON record/),
  );
  assert.throws(
    () => parseDataset("p.jsonl", `{"text": "x"}\n`),
    usage(/^--workload p\.jsonl:1: a record has "prompt"/),
  );
  assert.throws(
    () => parseDataset("s.json", JSON.stringify([conv("a"), { conversations: "no" }])),
    usage(/^--workload s\.json: record 2: a ShareGPT record has "conversations"/),
  );
  assert.throws(() => parseDataset("e.jsonl", "\n\n"), usage(/^--workload e\.jsonl: no records$/));
});

test("the sample: drawn with the seed, the same for the same seed, another for another; all records when there are fewer", () => {
  const xs = Array.from({ length: 100 }, (_, i) => i);
  const a = sampleRecords(xs, 10, 3);
  assert.equal(a.length, 10);
  assert.equal(new Set(a).size, 10, "without replacement");
  assert.deepEqual(sampleRecords(xs, 10, 3), a);
  assert.notDeepEqual(sampleRecords(xs, 10, 4), a);
  assert.deepEqual(
    sampleRecords(xs, 200, 3).sort((x, y) => x - y),
    xs,
  );
});

test("the sample travels gzipped in the wrapper's config; vllm bench serve reads it with its own loader", () => {
  const d = parseDataset("p.jsonl", custom(50));
  const sample = encodeSample("p.jsonl", d, 12, 3);
  assert.equal(sample.records, 12);
  const lines = gunzipSync(Buffer.from(sample.data, "base64"))
    .toString("utf8")
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    lines,
    sampleRecords(d.records, 12, 3).map((r) => ({ prompt: r.prompt, output_tokens: r.output_tokens })),
  );
  const req: BenchRequest = {
    concurrency: [],
    requestRates: [1],
    numPrompts: 8,
    inputLen: 0,
    outputLen: 0,
    percentiles: [95],
    slo: {},
    seed: 3,
    timeoutSeconds: 60,
    keep: false,
    dataset: { format: "custom", data: sample.data },
  };
  const ep = { baseUrl: "http://s:8000", model: "tiny", tokenizer: "t" };
  const args = vllmBenchArgs(ep, req, planLevels(req)[0]!);
  assert.deepEqual(args.slice(args.indexOf("--dataset-name"), args.indexOf("--num-prompts")), [
    "--dataset-name",
    "custom",
    "--dataset-path",
    DATASET_PATH.custom,
    "--custom-output-len",
    "-1",
    "--skip-chat-template",
  ]);
  assert.ok(!args.includes("--random-input-len"));
  assert.deepEqual(JSON.parse(wrapperConfig(ep, req, planLevels(req), [])).dataset, {
    path: "/tmp/vllmapp-dataset.jsonl",
    data: sample.data,
  });
  const share = encodeSample(
    "s.json",
    parseDataset(
      "s.json",
      JSON.stringify([
        {
          conversations: [
            { from: "human", value: "q" },
            { from: "gpt", value: "a" },
            { from: "human", value: "more" },
          ],
        },
      ]),
    ),
    5,
    0,
  );
  assert.deepEqual(JSON.parse(gunzipSync(Buffer.from(share.data, "base64")).toString("utf8")), [
    {
      conversations: [
        { from: "human", value: "q" },
        { from: "gpt", value: "a" },
      ],
    },
  ]);
  // too big for a command line: said, with what to do
  const big = parseDataset(
    "big.jsonl",
    Array.from({ length: 200 }, (_, i) =>
      JSON.stringify({ prompt: randomBytes(1500).toString("base64"), output_tokens: 8 + i }),
    ).join("\n"),
  );
  assert.throws(
    () => encodeSample("big.jsonl", big, 200, 0),
    usage(
      new RegExp(
        `^--workload big\\.jsonl: a sample of 200 prompts is \\d+ KiB compressed; at most ${MAX_SAMPLE_BYTES / 1024} KiB`,
      ),
    ),
  );
});

test("a search over a dataset: every trial's benchmark gets the same sample; max_model_len is not searched; the file is part of the search's key", async () => {
  const dir = workdir({
    "vllm-app.yaml":
      'name: tiny\nmodel_path: /models/tiny\nimage: vllm-cpu:0.32.0\nextra_args: [--max-model-len, "512"]\n',
    "p.jsonl": custom(40),
  });
  const sent: (BenchRequest["dataset"] | undefined)[] = [];
  const level = (rate: number): BenchLevel => ({
    concurrency: null,
    requestRate: rate,
    numPrompts: 8,
    durationSeconds: 8,
    requests: { completed: 8, failed: 0 },
    throughput: { requestsPerSecond: rate, outputTokensPerSecond: 1, totalTokensPerSecond: 1 },
    ttftMs: { mean: 1, median: 1, p95: 1 },
    tpotMs: { mean: 1, median: 1, p95: 1 },
    itlMs: { mean: 1, median: 1, p95: 1 },
    e2elMs: { mean: 1, median: 1, p95: 1 },
    goodput: null,
    server: null,
  });
  const session: Session = {
    deploy: async (p): Promise<DeployResult> => ({
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
    }),
    bench: async (ref, req): Promise<BenchResult> => {
      sent.push(req.dataset);
      return {
        app: ref.name,
        namespace: null,
        target: "docker",
        endpoint: "",
        model: "m",
        image: "i",
        tool: { name: "vllm bench serve", ranIn: "" },
        workload: {
          dataset: "random",
          inputLen: 0,
          outputLen: 0,
          seed: req.seed,
          percentiles: req.percentiles,
          slo: req.slo,
        },
        levels: req.requestRates.map(level),
      };
    },
    delete: async () => ({ apps: [] }) as never,
    status: async () => ({}) as never,
    logs: async () => undefined,
    list: async () => ({}) as never,
  };
  const file = path.join(dir, "vllm-app.yaml");
  const data = path.join(dir, "p.jsonl");
  const run = (results: string, seed = 3) =>
    tune(
      {
        file,
        target: "docker",
        params: new Map(),
        set: [],
        workload: { inputLen: 0, outputLen: 0, fromFile: true },
        dataset: { path: "p.jsonl", parsed: parseDataset(data, custom(40)) },
        requestRates: [1, 2],
        numPrompts: 8,
        slo: parseTuneSlo("ttft_p95=1s", 0.9),
        sloText: "ttft_p95=1s",
        seed,
        repeat: 1,
        budget: { trials: 2 },
        resultsFile: path.join(dir, results),
        fresh: false,
        benchTimeoutSeconds: 60,
        write: false,
        offline: true,
        connection: {},
      },
      { io: nodePlanIo({}), session, freePort: async () => 1, serverVersion: async () => null, now: Date.now },
      new Ui({ quiet: true }),
    );
  const out = await run("r.json");
  assert.equal(sent.length, 2);
  assert.equal(sent[0]!.format, "custom");
  assert.equal(sent[1]!.data, sent[0]!.data, "every trial gets the same prompts");
  assert.equal(
    gunzipSync(Buffer.from(sent[0]!.data, "base64")).toString("utf8").trimEnd().split("\n").length,
    8 + 2,
    "the busiest rate's prompts and its warm-ups",
  );
  assert.ok(
    !out.results.candidates.some((c) => c.id.startsWith("max_model_len")),
    "the prompts' lengths in tokens are not known here",
  );
  assert.deepEqual(out.results.workload.file, {
    path: "p.jsonl",
    sha256: parseDataset(data, custom(40)).sha256,
    records: 40,
    sampled: 10,
  });
  assert.equal(
    describeWorkload(out.results.workload),
    "10 prompts of p.jsonl (vLLM custom JSONL, 40 records, drawn with the seed)",
  );
  await run("r2.json");
  assert.equal(sent[2]!.data, sent[0]!.data, "the same seed: the same prompts");
  await run("r3.json", 4);
  assert.notEqual(sent[4]!.data, sent[0]!.data, "another seed: another sample");
  // another file is another search: its results are not resumed
  writeFileSync(data, custom(41));
  await assert.rejects(
    tune(
      {
        file,
        target: "docker",
        params: new Map(),
        set: [],
        workload: { inputLen: 0, outputLen: 0, fromFile: true },
        dataset: { path: "p.jsonl", parsed: parseDataset(data, custom(41)) },
        requestRates: [1, 2],
        numPrompts: 8,
        slo: parseTuneSlo("ttft_p95=1s", 0.9),
        sloText: "ttft_p95=1s",
        seed: 3,
        repeat: 1,
        budget: { trials: 2 },
        resultsFile: path.join(dir, "r.json"),
        fresh: false,
        benchTimeoutSeconds: 60,
        write: false,
        offline: true,
        connection: {},
      },
      { io: nodePlanIo({}), session, freePort: async () => 1, serverVersion: async () => null, now: Date.now },
      new Ui({ quiet: true }),
    ),
    /holds the results of another search/,
  );
});
