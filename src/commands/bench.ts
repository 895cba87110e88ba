/**
 * `vllmapp bench [APP]`: flags → the app → target.bench → a table (or --json). Measures the deployed
 * endpoint with vLLM's own `vllm bench serve` from the app's image: time to first token, inter-token
 * latency, output tokens/s and requests/s at each level of a concurrency sweep or at fixed request
 * rates, their percentiles, goodput against an SLO, and the server's /metrics counters over each level.
 */
import { Command } from "commander";
import * as z from "zod/mini";
import { parseDuration } from "../config/units.js";
import { UsageError } from "../errors.js";
import type { BenchLevel, BenchRequest, BenchResult, BenchStats } from "../target.js";
import { formatTable } from "../text.js";
import {
  addCommonOptions,
  connectionShape,
  converted,
  durationFlag,
  fileShape,
  outputOf,
  outputShape,
  parseOptions,
  targetOf,
  targetShape,
  uiFor,
  usage,
} from "./options.js";

/** "1,4,16" → [1, 4, 16]: positive numbers (whole ones where `whole`). */
export function listFlag(flag: string, whole: boolean) {
  return converted(z.optional(z.string()), (v, ctx) => {
    if (v === undefined) return undefined;
    const items = v
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean);
    const nums = items.map(Number);
    const bad = items.find(
      (x, i) => !Number.isFinite(nums[i]) || nums[i]! <= 0 || (whole && !Number.isInteger(nums[i])),
    );
    if (bad !== undefined || !items.length)
      return usage(
        ctx,
        `${flag} ${v}: expected ${whole ? "whole numbers" : "numbers"} above 0, separated by commas`,
        `e.g. ${flag} ${whole ? "1,4,16" : "0.5,2"}`,
      );
    return nums;
  });
}

export const wholeFlag = (flag: string) =>
  converted(z.optional(z.string()), (v, ctx) => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) <= 0) return usage(ctx, `${flag} ${v}: expected a whole number above 0`);
    return Number(v);
  });

const SLO_KEYS: Record<string, keyof BenchRequest["slo"]> = {
  ttft: "ttftMs",
  itl: "tpotMs",
  tpot: "tpotMs",
  e2el: "e2elMs",
  e2e: "e2elMs",
};

/** "ttft=500ms,itl=50ms" → {ttftMs: 500, tpotMs: 50}. vLLM's goodput is per request, so itl means the request's mean ITL (TPOT). */
export function parseSlo(v: string): BenchRequest["slo"] {
  const slo: BenchRequest["slo"] = {};
  for (const part of v
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean)) {
    const m = /^([a-z0-9]+)\s*[=:]\s*(.+)$/.exec(part);
    const key = m && SLO_KEYS[m[1]!];
    const seconds = m ? parseDuration(m[2]!) : undefined;
    if (!m || !key)
      throw new UsageError(
        `--slo ${part}: the SLO keys are ttft, itl (a request's mean inter-token latency, vLLM's TPOT), tpot and e2el`,
        "e.g. --slo ttft=500ms,itl=50ms",
      );
    if (seconds === undefined || seconds <= 0)
      throw new UsageError(`--slo ${part}: not a duration`, "write milliseconds or seconds: ttft=500ms, e2el=2s");
    slo[key] = Math.round(seconds * 1000 * 1000) / 1000;
  }
  return slo;
}

export const benchOptionsSchema = converted(
  z.object({
    ...fileShape,
    ...targetShape,
    ...connectionShape,
    ...outputShape,
    appName: z.optional(z.string()),
    concurrency: listFlag("--concurrency", true),
    requestRate: listFlag("--request-rate", false),
    numPrompts: wholeFlag("--num-prompts"),
    inputLen: wholeFlag("--input-len"),
    outputLen: wholeFlag("--output-len"),
    percentiles: listFlag("--percentiles", false),
    slo: z.optional(z.string()),
    seed: z.optional(z.string().check(z.regex(/^\d+$/, "expected a whole number, e.g. --seed 7"))),
    model: z.optional(z.string()),
    timeout: durationFlag("--timeout", "10m, 1h"),
    keep: z._default(z.boolean(), false),
    report: z.optional(z.string()),
    compare: z.optional(z.array(z.string())),
  }),
  (o) => {
    if (o.compare && o.compare.length < 2)
      throw new UsageError(
        "--compare takes two results files or more (from bench --json)",
        "e.g. vllmapp bench --compare before.json after.json --report ab.html",
      );
    if (o.requestRate && o.concurrency && o.concurrency.length > 1) {
      throw new UsageError(
        "--request-rate with more than one --concurrency: sweep one of them",
        "with --request-rate, --concurrency N caps the requests in flight",
      );
    }
    if (o.percentiles?.some((p) => p >= 100)) throw new UsageError("--percentiles: each is below 100, e.g. 50,90,99");
    const req: BenchRequest = {
      concurrency: o.concurrency ?? (o.requestRate ? [] : [1, 4, 16]),
      requestRates: o.requestRate ?? [],
      ...(o.numPrompts ? { numPrompts: o.numPrompts } : {}),
      inputLen: o.inputLen ?? 256,
      outputLen: o.outputLen ?? 128,
      percentiles: o.percentiles ?? [50, 90, 99],
      slo: o.slo ? parseSlo(o.slo) : {},
      seed: o.seed === undefined ? 0 : Number(o.seed),
      ...(o.model ? { model: o.model } : {}),
      timeoutSeconds: o.timeout ?? 1800,
      keep: o.keep,
    };
    return { ...o, target: targetOf(o), req, ...outputOf(o) };
  },
);

export type BenchOptions = z.output<typeof benchOptionsSchema>;

export async function runBench(opts: BenchOptions): Promise<BenchResult> {
  const ui = uiFor(opts);
  const [{ loadTarget }, { appRefs }, { fsLoadDeps }] = await Promise.all([
    import("./load-target.js"),
    import("../app/select.js"),
    import("../app/node-io.js"),
  ]);
  const apps = appRefs(opts, fsLoadDeps());
  if (apps.length > 1)
    throw new UsageError(
      `the file has ${apps.length} apps: ${apps.map((a) => a.name).join(", ")}`,
      "name one: vllmapp bench APP (or --app APP)",
    );
  const session = await (await loadTarget(opts.target)).connect(opts);
  return session.bench(apps[0]!, opts.req, ui);
}

const ms = (v: number | null | undefined) =>
  v === null || v === undefined ? "–" : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
const rate = (v: number | null | undefined) =>
  v === null || v === undefined ? "–" : v >= 100 ? v.toFixed(0) : v.toFixed(2);

/** "31.7 / 46.9" for p50/p99 (the first and last asked percentiles). */
function pair(s: BenchStats, first: number, last: number): string {
  return `${ms(s[`p${first}`])} / ${ms(s[`p${last}`])}`;
}

export function formatBench(r: BenchResult): string {
  const ps = r.workload.percentiles;
  const [lo, hi] = [ps[0]!, ps[ps.length - 1]!];
  const slo = r.workload.slo;
  const hasSlo = slo.ttftMs !== undefined || slo.tpotMs !== undefined || slo.e2elMs !== undefined;
  const head = [
    `Benchmark  ${r.app}${r.namespace ? ` (namespace ${r.namespace})` : ""} · model ${r.model} · ${r.image}`,
    `Endpoint   ${r.endpoint} · ${r.tool.name} in ${r.tool.ranIn}`,
    `Workload   random prompts: ${r.workload.inputLen} tokens in, ${r.workload.outputLen} out · seed ${r.workload.seed}`,
    "",
  ];
  const level = (l: BenchLevel) =>
    l.requestRate !== null
      ? `${l.requestRate}/s${l.concurrency !== null ? ` ≤${l.concurrency}` : ""}`
      : String(l.concurrency);
  const rows: string[][] = [
    [
      r.levels[0]?.requestRate !== null && r.levels.length ? "RATE" : "CONC",
      "OK/FAIL",
      "REQ/S",
      "OUT TOK/S",
      `TTFT p${lo}/p${hi} ms`,
      `ITL p${lo}/p${hi} ms`,
      `TPOT p${lo}/p${hi} ms`,
      `E2E p${hi} ms`,
      ...(hasSlo ? ["GOODPUT"] : []),
    ],
  ];
  for (const l of r.levels) {
    rows.push([
      level(l),
      `${l.requests.completed}/${l.requests.failed}`,
      rate(l.throughput.requestsPerSecond),
      rate(l.throughput.outputTokensPerSecond),
      pair(l.ttftMs, lo, hi),
      pair(l.itlMs, lo, hi),
      pair(l.tpotMs, lo, hi),
      ms(l.e2elMs[`p${hi}`]),
      ...(hasSlo
        ? [l.goodput?.fraction === null || l.goodput === null ? "–" : `${Math.round(l.goodput.fraction * 100)}%`]
        : []),
    ]);
  }
  const lines = [...head, formatTable(rows)];
  if (hasSlo) {
    const parts = [
      slo.ttftMs !== undefined ? `TTFT ≤ ${slo.ttftMs} ms` : "",
      slo.tpotMs !== undefined ? `mean ITL (TPOT) ≤ ${slo.tpotMs} ms` : "",
      slo.e2elMs !== undefined ? `E2E ≤ ${slo.e2elMs} ms` : "",
    ].filter(Boolean);
    lines.push(`goodput = share of requests with ${parts.join(" and ")}`);
  }
  const server = r.levels.filter((l) => l.server);
  if (server.length) {
    lines.push("", "Server /metrics over each level:");
    lines.push(
      formatTable([
        ["LEVEL", "REQUESTS", "PROMPT TOKENS", "GENERATED TOKENS", "PREEMPTIONS", "PREFIX CACHE HITS"],
        ...server.map((l) => [
          level(l),
          String(l.server!.requests),
          String(l.server!.promptTokens),
          String(l.server!.generationTokens),
          String(l.server!.preemptions),
          l.server!.prefixCacheHitRate === null ? "–" : `${Math.round(l.server!.prefixCacheHitRate * 100)}%`,
        ]),
      ]),
    );
  }
  return lines.join("\n");
}

/** Results files of earlier runs (`bench --json`), each labelled by its file name; a file that is not one is a usage error. */
async function readResults(files: readonly string[]): Promise<{ label: string; result: BenchResult }[]> {
  const [{ readFileSync }, path] = await Promise.all([import("node:fs"), import("node:path")]);
  return files.map((f) => {
    let result: BenchResult;
    try {
      result = JSON.parse(readFileSync(f, "utf8")) as BenchResult;
    } catch (e) {
      throw new UsageError(
        `--compare ${f}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : `not JSON (${(e as Error).message})`}`,
        "write one with vllmapp bench --json > FILE",
      );
    }
    if (!result || !Array.isArray(result.levels) || !result.workload)
      throw new UsageError(
        `--compare ${f}: not the output of vllmapp bench --json (no levels)`,
        "write one with vllmapp bench --json > FILE",
      );
    return { label: path.basename(f).replace(/\.json$/, ""), result };
  });
}

async function writeReport(
  file: string,
  runs: { label: string; result: BenchResult }[],
  ui: { success(t: string): void },
): Promise<void> {
  const [{ benchReport }, { writeFileSync }] = await Promise.all([import("../report/html.js"), import("node:fs")]);
  writeFileSync(file, benchReport(runs));
  ui.success(`report: ${file}`);
}

export function benchCommand(): Command {
  const cmd = new Command("bench")
    .description("measure the deployed endpoint with vllm bench serve: TTFT, ITL, tokens/s, requests/s, goodput")
    .argument("[app]", "app name (default: the app of the file)")
    .option(
      "--concurrency <list>",
      "requests in flight, one level each (default 1,4,16); with --request-rate, one value caps it",
    )
    .option("--request-rate <list>", "requests per second, one level each, instead of a concurrency sweep")
    .option("--num-prompts <n>", "requests per level (default 4 × concurrency, or 10 s of the rate; at least 8)")
    .option("--input-len <n>", "prompt tokens per request (default 256)")
    .option("--output-len <n>", "generated tokens per request (default 128)")
    .option("--percentiles <list>", "percentiles to report (default 50,90,99)")
    .option(
      "--slo <list>",
      "goodput: the share of requests within ttft=…, itl=… (a request's mean), e2el=…, e.g. ttft=500ms,itl=50ms",
    )
    .option("--seed <n>", "seed of the random prompts (default 0; each level adds its index)")
    .option("--model <name>", "the served model name to ask for (default: the app's)")
    .option("--timeout <duration>", "give up after this long (default 30m)")
    .option("--keep", "Kubernetes: keep the benchmark Job after a run that succeeded")
    .option(
      "--report <file>",
      "also write a self-contained HTML report: the latency–throughput curves, percentiles per level, SLO lines, goodput",
    )
    .option(
      "--compare <files...>",
      "no new run: compare results files of earlier runs (bench --json > a.json) side by side, in the table and with --report",
    );
  addCommonOptions(cmd, { render: false });
  cmd.addHelpText(
    "after",
    `
Examples:
  $ vllmapp bench                                    # the app of ./vllm-app.yaml, concurrency 1, 4, 16
  $ vllmapp bench qwen3 --concurrency 1,8,32 --slo ttft=500ms,itl=50ms
  $ vllmapp bench --request-rate 2,4 --concurrency 64 --input-len 1024 --output-len 256
  $ vllmapp bench --local --json | jq '.levels[] | {concurrency, ttft: .ttftMs.p99}'
  $ vllmapp bench --slo ttft=500ms --json > before.json --report before.html
  $ vllmapp bench --compare before.json after.json --report ab.html   # an A/B of a flag change`,
  );
  cmd.action(async (appName: string | undefined, raw) => {
    const opts = parseOptions(benchOptionsSchema, { ...raw, appName });
    const ui = uiFor(opts);
    if (opts.compare) {
      const runs = await readResults(opts.compare);
      if (opts.report) await writeReport(opts.report, runs, ui);
      ui.out(
        opts.json
          ? JSON.stringify(
              runs.map((r) => ({ label: r.label, ...r.result })),
              null,
              2,
            )
          : runs.map((r) => `== ${r.label}\n${formatBench(r.result)}`).join("\n\n"),
      );
      return;
    }
    const result = await runBench(opts);
    if (opts.report) await writeReport(opts.report, [{ label: result.app, result }], ui);
    ui.out(opts.json ? JSON.stringify(result, null, 2) : formatBench(result));
  });
  return cmd;
}
