/**
 * Self-contained HTML reports (`bench --report`, `bench --compare A.json B.json --report`, `tune
 * --report`): inline SVG charts (svg.ts) and tables, inline CSS, no script, and a Content-Security-Policy
 * that forbids every fetch, so the file opens offline and shows the same thing anywhere. Pure.
 */
import type { BenchLevel, BenchResult, BenchStats } from "../target.js";
import { describeWorkload, type Trial, type TuneResults } from "../tune/results.js";
import { barChart, esc, lineChart, page, PALETTE, type Series } from "./svg.js";

const n = (v: number | null | undefined, digits = 1) =>
  v === null || v === undefined ? "–" : v >= 100 ? v.toFixed(0) : v.toFixed(digits);

const levelName = (l: BenchLevel) =>
  l.requestRate !== null
    ? `${l.requestRate} req/s${l.concurrency !== null ? ` ≤${l.concurrency}` : ""}`
    : `concurrency ${l.concurrency}`;

function statsRow(name: string, s: BenchStats, ps: readonly number[]): string {
  return `<tr><td>${esc(name)}</td><td>${n(s.mean)}</td>${ps.map((p) => `<td>${n(s[`p${p}`])}</td>`).join("")}</tr>`;
}

/** One run's table: per level, the throughput, goodput and the TTFT / ITL / TPOT / E2E percentiles. */
function levelTables(r: BenchResult): string {
  const ps = r.workload.percentiles;
  const head = `<tr><th>metric (ms)</th><th>mean</th>${ps.map((p) => `<th>p${p}</th>`).join("")}</tr>`;
  return r.levels
    .map((l) => {
      const good = l.goodput
        ? `, goodput ${n(l.goodput.requestsPerSecond, 2)} req/s (${l.goodput.fraction === null ? "–" : `${Math.round(l.goodput.fraction * 100)}%`} of requests within the SLO)`
        : "";
      return `<h3>${esc(levelName(l))}</h3><p class="meta">${l.requests.completed} completed, ${l.requests.failed} failed · ${n(l.throughput.requestsPerSecond, 2)} req/s · ${n(l.throughput.outputTokensPerSecond)} output tokens/s${good}</p>
<table class="levels">${head}${statsRow("TTFT", l.ttftMs, ps)}${statsRow("ITL", l.itlMs, ps)}${statsRow("TPOT (mean ITL per request)", l.tpotMs, ps)}${statsRow("E2E latency", l.e2elMs, ps)}</table>`;
    })
    .join("\n");
}

const DEFS = `<p class="def"><b>TTFT</b>: time from sending a request to its first generated token. <b>ITL</b>: the gap between two consecutive tokens of a stream (percentiles over all gaps). <b>TPOT</b>: a request's mean inter-token latency, (E2E − TTFT) ÷ (output tokens − 1). <b>E2E</b>: time from sending a request to its last token. <b>Goodput</b> (bench): requests per second that met every per-request SLO bound (vLLM's request_goodput). Measured with vllm bench serve.</p>`;

/** `bench --report`, and `bench --compare` (two or more runs, one series each). */
export function benchReport(runs: readonly { label: string; result: BenchResult }[]): string {
  const hi = (r: BenchResult) => r.workload.percentiles.at(-1)!;
  const first = runs[0]!.result;
  const slo = first.workload.slo;
  const chart = (
    id: string,
    title: string,
    pick: (l: BenchLevel) => BenchStats,
    bound: number | undefined,
    boundName: string,
  ) =>
    lineChart({
      id,
      title: `${title} vs throughput`,
      xLabel: "output tokens/s",
      yLabel: `${title} p${hi(first)} (ms)`,
      series: runs.map((r, i): Series => ({
        name: r.label,
        color: PALETTE[i % PALETTE.length],
        points: r.result.levels
          .filter((l) => l.throughput.outputTokensPerSecond !== null && pick(l)[`p${hi(r.result)}`] != null)
          .map((l) => ({
            x: l.throughput.outputTokensPerSecond!,
            y: pick(l)[`p${hi(r.result)}`]!,
            label: `${r.label} · ${levelName(l)}`,
          })),
      })),
      hLines: bound !== undefined ? [{ y: bound, label: `SLO: ${boundName} ≤ ${bound} ms per request` }] : [],
    });
  const charts = [
    chart("ttft", "TTFT", (l) => l.ttftMs, slo.ttftMs, "TTFT"),
    chart("tpot", "TPOT", (l) => l.tpotMs, slo.tpotMs, "mean ITL"),
    chart("itl", "ITL", (l) => l.itlMs, undefined, ""),
    chart("e2el", "E2E latency", (l) => l.e2elMs, slo.e2elMs, "E2E"),
  ];
  const hasGoodput = runs.some((r) => r.result.levels.some((l) => l.goodput));
  if (hasGoodput) {
    charts.push(
      barChart({
        id: "goodput",
        title: "Goodput per level",
        xLabel: "level",
        yLabel: "requests/s within the SLO",
        bars: runs.flatMap((r, i) =>
          r.result.levels.map((l) => ({
            label: `${runs.length > 1 ? `${r.label} ` : ""}${levelName(l)}`,
            value: l.goodput?.requestsPerSecond ?? 0,
            color: PALETTE[i % PALETTE.length],
          })),
        ),
      }),
    );
  }
  const title =
    runs.length > 1 ? `Benchmark comparison: ${runs.map((r) => r.label).join(" vs ")}` : `Benchmark of ${first.app}`;
  const meta = runs
    .map(
      (r) =>
        `<p class="meta"><b>${esc(r.label)}</b>: app ${esc(r.result.app)} · model ${esc(r.result.model)} · ${esc(r.result.image)} · ${esc(r.result.endpoint)} · random prompts ${r.result.workload.inputLen} in / ${r.result.workload.outputLen} out · seed ${r.result.workload.seed}</p>`,
    )
    .join("");
  const sloText = [
    slo.ttftMs !== undefined ? `TTFT ≤ ${slo.ttftMs} ms` : "",
    slo.tpotMs !== undefined ? `mean ITL ≤ ${slo.tpotMs} ms` : "",
    slo.e2elMs !== undefined ? `E2E ≤ ${slo.e2elMs} ms` : "",
  ]
    .filter(Boolean)
    .join(", ");
  const body = `<h1>${esc(title)}</h1>${meta}${sloText ? `<p class="meta">SLO per request: ${esc(sloText)}</p>` : ""}
<h2>Latency–throughput</h2><div class="charts">${charts.join("\n")}</div>
<h2>Percentiles per level</h2>${runs.map((r) => `${runs.length > 1 ? `<h2>${esc(r.label)}</h2>` : ""}${levelTables(r.result)}`).join("\n")}
${DEFS}`;
  return page(title, body);
}

const median = (xs: readonly number[]): number | null => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : null;
};

/** A trial's curve: per rate, the median over its runs of the achieved req/s and of a latency. */
function trialPoints(
  t: Trial,
  rates: readonly number[],
  pick: (l: BenchLevel) => number | null | undefined,
): { x: number; y: number; label: string }[] {
  const out: { x: number; y: number; label: string }[] = [];
  for (const rate of rates) {
    const levels = t.runs
      .map((ls) => ls.find((l) => l.requestRate === rate))
      .filter((l): l is BenchLevel => l !== undefined);
    const x = median(levels.map((l) => l.throughput.requestsPerSecond ?? NaN));
    const y = median(levels.map((l) => pick(l) ?? NaN));
    if (x !== null && y !== null)
      out.push({ x, y, label: `${t.id} at ${rate} req/s offered: ${x.toFixed(2)} req/s served, ${y.toFixed(1)} ms` });
  }
  return out;
}

/** `tune --report`: the trials on the latency–throughput curve (the winner marked), goodput per trial, the SLO lines. */
export function tuneReport(r: TuneResults): string {
  const rates = r.workload.requestRates;
  const ok = r.trials.filter((t) => t.runs.length);
  const series = (pick: (l: BenchLevel) => number | null | undefined): Series[] =>
    ok.map((t, i) => ({
      name: t.id,
      color: t.id === r.winner?.id ? "#000000" : PALETTE[i % (PALETTE.length - 1)],
      highlight: t.id === r.winner?.id,
      points: trialPoints(t, rates, pick),
    }));
  const sloFor = (metric: string) => r.slo.percentiles.filter((p) => p.metric === metric);
  const perRequest = r.slo.perRequest;
  const latencyChart = (
    metric: "ttft" | "itl" | "tpot" | "e2el",
    title: string,
    stats: (l: BenchLevel) => BenchStats,
    perRequestBound: number | undefined,
  ) => {
    const bounds = sloFor(metric);
    const p = bounds[0]?.percentile ?? 95;
    return lineChart({
      id: metric,
      title: `${title} p${p} vs throughput`,
      xLabel: "requests/s served",
      yLabel: `${title} p${p} (ms)`,
      series: series((l) => stats(l)[`p${p}`]),
      hLines: [
        ...bounds.map((b) => ({ y: b.ms, label: `SLO: ${title} p${b.percentile} ≤ ${b.ms} ms` })),
        ...(perRequestBound !== undefined
          ? [{ y: perRequestBound, label: `SLO: ${title} ≤ ${perRequestBound} ms per request` }]
          : []),
      ],
    });
  };
  const charts = [
    latencyChart("ttft", "TTFT", (l) => l.ttftMs, perRequest.ttftMs),
    latencyChart(
      sloFor("tpot").length || perRequest.tpotMs !== undefined ? "tpot" : "itl",
      sloFor("tpot").length || perRequest.tpotMs !== undefined ? "TPOT" : "ITL",
      (l) => (sloFor("tpot").length || perRequest.tpotMs !== undefined ? l.tpotMs : l.itlMs),
      perRequest.tpotMs,
    ),
    latencyChart("e2el", "E2E latency", (l) => l.e2elMs, perRequest.e2elMs),
    barChart({
      id: "goodput",
      title: "Goodput per trial (DistServe)",
      xLabel: "trial",
      yLabel: "highest rate within the SLO (req/s)",
      bars: r.trials.map((t) => ({ label: t.id, value: t.goodput, highlight: t.id === r.winner?.id, note: t.status })),
    }),
  ];
  const rows = r.trials.map(
    (t) =>
      `<tr${t.id === r.winner?.id ? ' class="winner"' : ""}><td>${t.id === r.winner?.id ? "★ " : ""}${esc(t.id)}</td><td>${t.status}</td><td>${t.goodput}</td><td>${n(t.goodRequestsPerSecond, 2)}</td>${rates
        .map((rate) => {
          const s = t.score.rates.find((x) => x.requestRate === rate);
          return s
            ? `<td class="${s.meets ? "ok" : "miss"}" title="${esc(s.missed ?? "meets the SLO")}">${s.meets ? "ok" : "miss"} ${s.met}/${s.runs}</td>`
            : "<td>–</td>";
        })
        .join("")}<td>${Math.round(t.seconds)}</td></tr>`,
  );
  const table = `<table class="trials"><tr><th>trial</th><th>status</th><th>goodput (req/s)</th><th>good req/s at it</th>${rates.map((x) => `<th>${x} req/s</th>`).join("")}<th>seconds</th></tr>${rows.join("")}</table>`;
  const pruned = r.candidates.filter((c) => c.pruned);
  const title = `Tuning ${r.app}`;
  const body = `<h1>${esc(title)}</h1>
<p class="meta">${esc(r.target)} · GPU ${esc(r.gpu)} · vLLM ${esc(r.vllm.served ?? r.vllm.release)} · ${esc(r.vllm.image)} · ${esc(r.tool.name)} ${esc(r.tool.version)} with ${esc(r.tool.benchmark)}</p>
<p class="meta">Workload: ${esc(describeWorkload(r.workload))}; Poisson arrivals at ${rates.join(", ")} req/s; seed ${r.seed}; ${r.workload.repeat} run(s) per trial. SLO: ${esc(r.slo.text)}.</p>
${r.winner ? `<p><b>Winner: ${esc(r.winner.id)}</b> — ${esc(r.winner.why)}</p>${r.winner.diff ? `<pre>${esc(r.winner.diff)}</pre>` : "<p>No change: the app as it is won.</p>"}` : "<p>No trial succeeded.</p>"}
<h2>Trials on the latency–throughput curve</h2><div class="charts">${charts.join("\n")}</div>
<h2>Trials</h2>${table}
${pruned.length ? `<h2>Refused offline (no trial spent)</h2><ul>${pruned.map((c) => `<li><b>${esc(c.id)}</b>: ${esc(c.pruned!)}</li>`).join("")}</ul>` : ""}
<h2>Definitions</h2><ul class="def">${Object.entries(r.definitions)
    .map(([k, v]) => `<li><b>${esc(k)}</b>: ${esc(v)}</li>`)
    .join("")}</ul>`;
  return page(title, body);
}
