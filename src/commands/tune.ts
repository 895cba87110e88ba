/**
 * `vllmapp tune [APP]`: flags → the search of src/tune → a table of the trials, the winner and why, and
 * the winner as a diff of vllm-app.yaml (written with --write); the results file holds everything.
 */
import path from "node:path";
import { Command } from "commander";
import * as z from "zod/mini";
import { STDIN_FILE } from "../app/stdin.js";
import { parseDuration } from "../config/units.js";
import { AppFailedError, UsageError } from "../errors.js";
import { formatTable } from "../text.js";
import type { TuneOutcome, TuneRequest } from "../tune/run.js";
import { describeWorkload } from "../tune/results.js";
import { describeSlo, type Slo } from "../tune/score.js";
import { listFlag, wholeFlag } from "./bench.js";
import {
  addCommonOptions,
  connectionShape,
  converted,
  durationFlag,
  fileShape,
  outputOf,
  outputShape,
  paramsFlag,
  parseOptions,
  setFlag,
  targetOf,
  targetShape,
  uiFor,
} from "./options.js";

/** "8" → 8 trials; "30m" → 1800 seconds. */
export function parseBudget(v: string): { trials?: number; seconds?: number } {
  if (/^\d+$/.test(v) && Number(v) > 0) return { trials: Number(v) };
  const s = /[a-z]$/.test(v) ? parseDuration(v) : undefined;
  if (s === undefined || s <= 0)
    throw new UsageError(
      `--budget ${v}: a number of trials (8) or a time (30m, 2h)`,
      "e.g. --budget 8 or --budget 45m",
    );
  return { seconds: s };
}

/** "256:128" → the random dataset's prompt and output lengths in tokens; anything else names a dataset file. */
export function parseWorkload(v: string): { inputLen: number; outputLen: number } | { file: string } {
  if (!/^[\d\s:]*$/.test(v)) return { file: v };
  const m = /^(\d+):(\d+)$/.exec(v.trim());
  if (!m || Number(m[1]) <= 0 || Number(m[2]) <= 0)
    throw new UsageError(
      `--workload ${v}: write INPUT:OUTPUT tokens per request`,
      "e.g. --workload 512:128 (512 prompt tokens, 128 generated)",
    );
  return { inputLen: Number(m[1]), outputLen: Number(m[2]) };
}

/** A dataset file, read and checked here (a user's mistake names the file and line). */
async function readDataset(file: string) {
  const [{ readFileSync }, { parseDataset }] = await Promise.all([import("node:fs"), import("../tune/dataset.js")]);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(
      `--workload ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`,
      "give INPUT:OUTPUT tokens (e.g. 512:128), or the path of a dataset file (JSONL or ShareGPT JSON)",
    );
  }
  return { path: file, parsed: parseDataset(file, text) };
}

export const tuneOptionsSchema = converted(
  z.object({
    ...fileShape,
    ...targetShape,
    ...connectionShape,
    ...outputShape,
    param: paramsFlag,
    set: setFlag,
    templates: z.optional(z.string()),
    appName: z.optional(z.string()),
    slo: z.optional(z.string()),
    workload: z._default(z.string(), "256:128"),
    requestRate: listFlag("--request-rate", false),
    numPrompts: wholeFlag("--num-prompts"),
    seed: z._default(z.string().check(z.regex(/^\d+$/, "expected a whole number, e.g. --seed 7")), "0"),
    repeat: wholeFlag("--repeat"),
    attainment: z._default(z.string(), "90"),
    budget: z.optional(z.string()),
    results: z.optional(z.string()),
    fresh: z._default(z.boolean(), false),
    write: z._default(z.boolean(), false),
    report: z.optional(z.string()),
    timeout: durationFlag("--timeout", "10m, 1h"),
    offline: z._default(z.boolean(), false),
  }),
  (o) => {
    if (!o.slo)
      throw new UsageError("tune needs an SLO to score trials by: --slo", "e.g. --slo ttft_p95=500ms,itl_p95=50ms");
    if (o.file === STDIN_FILE)
      throw new UsageError(
        "tune shows and writes a change to the app file: it cannot read it from stdin",
        "point -f at the file",
      );
    const attainment = Number(o.attainment.replace(/%$/, ""));
    if (!(attainment > 0 && attainment <= 100))
      throw new UsageError(`--attainment ${o.attainment}: a percentage above 0, at most 100`, "e.g. --attainment 90");
    return {
      ...o,
      target: targetOf(o),
      params: o.param,
      attainment: attainment / 100,
      workloadLens: parseWorkload(o.workload),
      budgetParsed: o.budget ? parseBudget(o.budget) : { trials: 8 },
      resultsFile: o.results ?? path.join(path.dirname(o.file), "vllmapp-tune.json"),
      ...outputOf(o, ["text", "json"]),
    };
  },
);

export type TuneOptions = z.output<typeof tuneOptionsSchema>;

export async function runTune(opts: TuneOptions): Promise<TuneOutcome> {
  const ui = uiFor(opts);
  const [{ loadTarget }, { nodePlanIo }, { makeSourceResolver }, { tune }, { parseTuneSlo }] = await Promise.all([
    import("./load-target.js"),
    import("../app/node-io.js"),
    import("./resolver.js"),
    import("../tune/run.js"),
    import("../tune/score.js"),
  ]);
  const slo = parseTuneSlo(opts.slo!, opts.attainment);
  const session = await (await loadTarget(opts.target)).connect(opts);
  const resolve = await makeSourceResolver({
    mode: "check",
    offline: opts.offline,
    namespace: opts.namespace,
    context: opts.context,
    kubeconfig: opts.kubeconfig,
  });
  const dataset = "file" in opts.workloadLens ? await readDataset(opts.workloadLens.file) : undefined;
  const cluster =
    opts.target === "kubernetes" ? await (await import("../tune/kubernetes.js")).connectTrials(opts) : undefined;
  const outcome = await tune(
    tuneRequest(opts, slo, dataset),
    // Kubernetes: the plans read the namespace, a named PodTemplate and learned budgets through the session
    {
      io: {
        ...nodePlanIo({ templates: opts.templates, resolve }),
        ...(session.reads ? { cluster: session.reads } : {}),
      },
      session,
      freePort,
      serverVersion,
      now: Date.now,
      ...(cluster ? { cluster } : {}),
    },
    ui,
  );
  if (opts.report) {
    const [{ tuneReport }, { writeFileSync }] = await Promise.all([import("../report/html.js"), import("node:fs")]);
    writeFileSync(opts.report, tuneReport(outcome.results));
    ui.success(`report: ${opts.report}`);
  }
  return outcome;
}

/** The search's request from the flags, with the defaults tune documents (rates 1–16, 3 runs, 30 min a run). */
export function tuneRequest(opts: TuneOptions, slo: Slo, dataset: TuneRequest["dataset"]): TuneRequest {
  const app = opts.appName ?? opts.app;
  return {
    file: opts.file,
    ...(app ? { app } : {}),
    target: opts.target,
    namespace: opts.namespace,
    params: opts.params,
    set: opts.set,
    workload: "file" in opts.workloadLens ? { inputLen: 0, outputLen: 0, fromFile: true } : opts.workloadLens,
    ...(dataset ? { dataset } : {}),
    requestRates: opts.requestRate ?? [1, 2, 4, 8, 16],
    ...(opts.numPrompts ? { numPrompts: opts.numPrompts } : {}),
    slo,
    sloText: opts.slo!,
    seed: Number(opts.seed),
    repeat: opts.repeat ?? 3,
    budget: opts.budgetParsed,
    resultsFile: opts.resultsFile,
    fresh: opts.fresh,
    ...(opts.timeout !== undefined ? { startTimeoutSeconds: opts.timeout } : {}),
    benchTimeoutSeconds: 1800,
    write: opts.write,
    offline: opts.offline,
    connection: { kubeconfig: opts.kubeconfig, context: opts.context, namespace: opts.namespace },
  };
}

/** A free loopback port, for a Docker trial to publish on. */
async function freePort(): Promise<number> {
  const net = await import("node:net");
  return new Promise<number>((resolvePort, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolvePort(port));
    });
  });
}

/** The vLLM version a server reports on /version, or null when it does not answer within 5 s. */
async function serverVersion(endpoint: string): Promise<string | null> {
  try {
    const r = await fetch(`${endpoint}/version`, { signal: AbortSignal.timeout(5000) });
    return r.ok ? (((await r.json()) as { version?: string }).version ?? null) : null;
  } catch {
    return null;
  }
}

export function formatTune(o: TuneOutcome, resultsFile: string): string {
  const r = o.results;
  const lines = [
    `Tune       ${r.app} · ${r.target} · GPU ${r.gpu} · vLLM ${r.vllm.served ?? r.vllm.release} (${r.vllm.image})`,
    `Workload   ${describeWorkload(r.workload)} · Poisson arrivals at ${r.workload.requestRates.join(", ")} req/s · seed ${r.seed} · ${r.workload.repeat} run${r.workload.repeat === 1 ? "" : "s"} per trial`,
    `SLO        ${describeSlo(r.slo)}; goodput = the highest rate at which it and every lower rate meet the SLO`,
    "",
  ];
  const rows = [["TRIAL", "STATUS", "GOODPUT", ...r.workload.requestRates.map((x) => `${x}/s`), "SECONDS"]];
  for (const t of r.trials) {
    rows.push([
      `${t.id === r.winner?.id ? "* " : "  "}${t.id}`,
      t.status,
      t.status === "ok" ? `${t.goodput} req/s` : "–",
      ...r.workload.requestRates.map((rate) => {
        const s = t.score.rates.find((x) => x.requestRate === rate);
        return s ? `${s.meets ? "ok" : "miss"} ${s.met}/${s.runs}` : "–";
      }),
      String(Math.round(t.seconds)),
    ]);
  }
  lines.push(formatTable(rows));
  const pruned = r.candidates.filter((c) => c.pruned);
  if (pruned.length) lines.push("", "Not tried (refused offline):", ...pruned.map((c) => `  ${c.id}: ${c.pruned}`));
  const failed = r.trials.filter((t) => t.status === "failed");
  if (failed.length) lines.push("", "Failed:", ...failed.map((t) => `  ${t.id}: ${t.error}`));
  const left = r.candidates.filter((c) => !c.pruned && !r.trials.some((t) => t.id === c.id));
  if (left.length)
    lines.push(
      "",
      `Budget reached; not measured yet: ${left.map((c) => c.id).join(", ")} (run again with a larger --budget: it resumes from ${resultsFile})`,
    );
  lines.push("");
  if (!r.winner) lines.push("No trial succeeded: no winner.");
  else {
    lines.push(`Winner     ${r.winner.id}: ${r.winner.why}`);
    lines.push(
      o.diff
        ? `Change     ${o.written ? `written to ${r.file}` : "(apply it with --write)"}:\n${o.diff.trimEnd()}`
        : "Change     none: the app as it is won",
    );
  }
  lines.push(`Results    ${resultsFile}`);
  return lines.join("\n");
}

export function tuneCommand(): Command {
  const cmd = new Command("tune")
    .description(
      "search serving flags for the best goodput under an SLO: trials on the app's target, the winner as a vllm-app.yaml diff",
    )
    .argument("[app]", "app name (default: the app of the file)")
    .option(
      "--slo <list>",
      "the SLO trials are scored by: ttft_p95=500ms,itl_p95=50ms (percentiles over a rate), or ttft=…,itl=…,e2el=… per request",
    )
    .option(
      "--workload <in:out|file>",
      'random prompts of IN tokens asking for OUT tokens (default 256:128), or a dataset file: vLLM\'s custom JSONL ({"prompt": …, "output_tokens": N} a line) or ShareGPT conversations, sampled with --seed',
    )
    .option(
      "--request-rate <list>",
      "the ladder of request rates (Poisson arrivals) each trial is measured at (default 1,2,4,8,16)",
    )
    .option("--num-prompts <n>", "requests per rate (default 10 s of the rate, at least 8)")
    .option("--seed <n>", "seed of the prompts and arrivals (default 0)")
    .option("--repeat <n>", "runs per trial; a rate meets the SLO when most runs do (default 3)")
    .option("--attainment <percent>", "with per-request bounds: the share of requests that must meet them (default 90)")
    .option(
      "--budget <n|duration>",
      "at most this many trials (8), or stop starting trials after this long (30m) (default 8 trials)",
    )
    .option(
      "--results <file>",
      "the results file; a search cut off by its budget resumes from it (default vllmapp-tune.json beside the app file)",
    )
    .option("--fresh", "ignore an existing results file and start over")
    .option("--write", "write the winner's change into the app file")
    .option("--report <file>", "also write a self-contained HTML report (the trials on the latency–throughput curve)")
    .option("--timeout <duration>", "how long a trial's server may take to start (default: the app's startup_timeout)")
    .option("--offline", "do not contact model backends while checking candidates");
  addCommonOptions(cmd);
  cmd.addHelpText(
    "after",
    `
Each candidate changes one knob of the app (max_num_seqs, max_num_batched_tokens, max_model_len,
kv_cache_dtype, gpu_memory_utilization, tensor parallel size, speculative decoding) and is checked
offline first (the release's flag catalog, the fit check, vLLM's own rules); the rest run one at a time
as <app>-tune beside the app, are measured with vllm bench serve and removed.

Examples:
  $ vllmapp tune --local --slo ttft_p95=500ms,itl_p95=50ms --budget 4
  $ vllmapp tune qwen3 --slo ttft=1s,itl=60ms --workload 1024:256 --request-rate 2,4,8,16 --budget 2h
  $ vllmapp tune --local --slo ttft_p95=2s --write --report tune.html`,
  );
  cmd.action(async (appName: string | undefined, raw) => {
    const opts = parseOptions(tuneOptionsSchema, { ...raw, appName });
    const outcome = await runTune(opts);
    const ui = uiFor(opts);
    ui.out(
      opts.json
        ? JSON.stringify({ ...outcome.results, diff: outcome.diff, written: outcome.written }, null, 2)
        : formatTune(outcome, opts.resultsFile),
    );
    if (!outcome.results.winner) {
      const ran = outcome.results.trials.length;
      throw new AppFailedError(
        ran
          ? `no trial of ${outcome.results.app} succeeded (${ran} failed)`
          : `no candidate of ${outcome.results.app} could run: every one was refused offline`,
        ran ? "the failures are listed above, and in the results file" : "the reasons are listed above",
      );
    }
  });
  return cmd;
}
