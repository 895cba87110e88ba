/**
 * `vllmapp tune`: how a trial is scored and the winner picked. Pure.
 *
 * Goodput, as in DistServe (Zhong et al., OSDI '24): the highest request rate a config serves while
 * meeting the SLO. Here the rates are a fixed ladder (--request-rate) of Poisson arrivals with a fixed
 * seed, so goodput takes one of a few values and two runs of the same config agree on it unless a rate
 * sits right at the edge; each rate is measured --repeat times and counts when most of the runs meet the
 * SLO. A trial's goodput is the highest rate such that it and every lower rate meet the SLO (0 when the
 * lowest does not). The winner has the highest goodput; trials with equal goodput are ordered by cost
 * (space.ts costKey: fewer GPUs, less memory claimed, shorter context, fewer sequences, …), never by a
 * measured number, so the same measurements up to noise give the same winner.
 */
import { parseDuration } from "../config/units.js";
import { UsageError } from "../errors.js";
import type { BenchLevel, BenchRequest } from "../target.js";

export type SloMetric = "ttft" | "itl" | "tpot" | "e2el";

export interface Slo {
  /** per request: a request is good when it meets every one (vLLM's --goodput) */
  perRequest: { ttftMs?: number; tpotMs?: number; e2elMs?: number };
  /** over a level: the percentile of the metric must not exceed the bound (e.g. ttft_p95 ≤ 500 ms) */
  percentiles: { metric: SloMetric; percentile: number; ms: number }[];
  /** the share of requests that must be good when per-request bounds are given (DistServe's attainment goal) */
  attainment: number;
}

const PER_REQUEST: Record<string, keyof Slo["perRequest"]> = {
  ttft: "ttftMs",
  itl: "tpotMs",
  tpot: "tpotMs",
  e2el: "e2elMs",
  e2e: "e2elMs",
};
const METRIC: Record<string, SloMetric> = { ttft: "ttft", itl: "itl", tpot: "tpot", e2el: "e2el", e2e: "e2el" };

/**
 * "ttft_p95=500ms,itl_p95=50ms" (percentiles over a level), "ttft=500ms,itl=50ms" (per request; itl is
 * the request's mean inter-token latency, vLLM's TPOT), or both.
 */
export function parseTuneSlo(v: string, attainment: number): Slo {
  const slo: Slo = { perRequest: {}, percentiles: [], attainment };
  for (const part of v
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean)) {
    const m = /^([a-z0-9]+?)(?:_p(\d+(?:\.\d+)?))?\s*[=:]\s*(.+)$/.exec(part);
    const seconds = m ? parseDuration(m[3]!) : undefined;
    if (!m || !METRIC[m[1]!])
      throw new UsageError(
        `--slo ${part}: the SLO keys are ttft, itl, tpot and e2el, alone (per request) or with a percentile (ttft_p95)`,
        "e.g. --slo ttft_p95=500ms,itl_p95=50ms",
      );
    if (seconds === undefined || seconds <= 0)
      throw new UsageError(`--slo ${part}: not a duration`, "write milliseconds or seconds: ttft_p95=500ms, e2el=2s");
    const ms = Math.round(seconds * 1e6) / 1000;
    if (m[2] !== undefined) {
      const percentile = Number(m[2]);
      if (percentile <= 0 || percentile >= 100)
        throw new UsageError(`--slo ${part}: the percentile is above 0 and below 100`, "e.g. ttft_p95=500ms");
      slo.percentiles.push({ metric: METRIC[m[1]!]!, percentile, ms });
    } else slo.perRequest[PER_REQUEST[m[1]!]!] = ms;
  }
  if (!slo.percentiles.length && !Object.keys(slo.perRequest).length)
    throw new UsageError("--slo: give at least one bound", "e.g. --slo ttft_p95=500ms,itl_p95=50ms");
  return slo;
}

/** The per-request bounds vLLM counts good requests by: the per-request ones, else the percentile bounds applied to each request. */
export function goodputBounds(slo: Slo): BenchRequest["slo"] {
  if (Object.keys(slo.perRequest).length) return slo.perRequest;
  const out: BenchRequest["slo"] = {};
  for (const p of slo.percentiles) {
    const key = p.metric === "ttft" ? "ttftMs" : p.metric === "e2el" ? "e2elMs" : "tpotMs";
    out[key] = Math.min(out[key] ?? Infinity, p.ms);
  }
  return out;
}

export function describeSlo(slo: Slo): string {
  const parts = slo.percentiles.map((p) => `${p.metric.toUpperCase()} p${p.percentile} ≤ ${p.ms} ms`);
  const r = slo.perRequest;
  const per = [
    r.ttftMs !== undefined ? `TTFT ≤ ${r.ttftMs} ms` : "",
    r.tpotMs !== undefined ? `mean ITL (TPOT) ≤ ${r.tpotMs} ms` : "",
    r.e2elMs !== undefined ? `E2E ≤ ${r.e2elMs} ms` : "",
  ].filter(Boolean);
  if (per.length) parts.push(`${Math.round(slo.attainment * 100)}% of requests with ${per.join(" and ")}`);
  return parts.join(", ");
}

/** One measurement of one rate: does it meet the SLO, and why not. */
export interface RateCheck {
  requestRate: number;
  /** requests that met every per-request bound, of those sent (failed requests count as missing them) */
  attainment: number | null;
  meets: boolean;
  /** the first bound missed, e.g. "TTFT p95 812 ms > 500 ms"; null when it meets the SLO */
  missed: string | null;
}

export function checkLevel(l: BenchLevel, slo: Slo): RateCheck {
  const sent = l.numPrompts;
  const good =
    l.goodput && l.durationSeconds !== null ? Math.round(l.goodput.requestsPerSecond * l.durationSeconds) : null;
  const attainment = good === null || !sent ? null : Math.min(1, good / sent);
  let missed: string | null = null;
  if (l.requests.failed > 0) missed = `${l.requests.failed} of ${sent} requests failed`;
  for (const p of slo.percentiles) {
    if (missed) break;
    const stats =
      p.metric === "ttft" ? l.ttftMs : p.metric === "itl" ? l.itlMs : p.metric === "tpot" ? l.tpotMs : l.e2elMs;
    const v = stats[`p${p.percentile}`];
    if (v === null || v === undefined) missed = `${p.metric.toUpperCase()} p${p.percentile} was not measured`;
    else if (v > p.ms) missed = `${p.metric.toUpperCase()} p${p.percentile} ${v.toFixed(1)} ms > ${p.ms} ms`;
  }
  if (!missed && Object.keys(slo.perRequest).length && (attainment === null || attainment < slo.attainment)) {
    missed = `${attainment === null ? "no" : `${Math.round(attainment * 100)}%`} of requests met the per-request bounds (< ${Math.round(slo.attainment * 100)}%)`;
  }
  return { requestRate: l.requestRate ?? 0, attainment, meets: missed === null, missed };
}

export interface TrialScore {
  /** DistServe goodput: the highest rate (req/s) of the ladder that it and every lower rate meet the SLO; 0: not even the lowest */
  goodput: number;
  /** per rate of the ladder: how many runs met the SLO, of how many, and whether it counts */
  rates: { requestRate: number; met: number; runs: number; meets: boolean; missed: string | null }[];
}

/** Score a trial from its runs (each a list of levels, one per rate, in ladder order). */
export function scoreTrial(runs: readonly (readonly BenchLevel[])[], rates: readonly number[], slo: Slo): TrialScore {
  const out: TrialScore = { goodput: 0, rates: [] };
  let broken = false;
  for (const rate of rates) {
    const checks = runs
      .map((levels) => levels.find((l) => l.requestRate === rate))
      .map((l) => (l ? checkLevel(l, slo) : undefined));
    const met = checks.filter((c) => c?.meets).length;
    const meets = met * 2 > runs.length;
    out.rates.push({
      requestRate: rate,
      met,
      runs: runs.length,
      meets,
      missed: meets ? null : (checks.find((c) => c && !c.meets)?.missed ?? "not measured"),
    });
    if (!meets) broken = true;
    if (!broken) out.goodput = rate;
  }
  return out;
}

export interface Ranked<T> {
  item: T;
  goodput: number;
  cost: number[];
}

/** Order the scored trials: highest goodput first, then lowest cost. */
export function rank<T>(list: readonly Ranked<T>[]): Ranked<T>[] {
  return [...list].sort((a, b) => b.goodput - a.goodput || compareKeys(a.cost, b.cost));
}

function compareKeys(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++)
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}
