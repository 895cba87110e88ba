/**
 * `vllmapp tune`'s results file: every candidate (pruned ones with why), every trial with its config and
 * its measurements, the definitions of the metrics, the tool and vLLM versions, the seed and the
 * workload, and the winner. It is also how a cut-off search resumes: a search with the same key (app
 * config, release, GPUs, seed, workload, SLO, ladder) reuses the trials it finds.
 */
import { createHash } from "node:crypto";
import type { SetOverride } from "../config/overrides.js";
import type { BenchLevel } from "../target.js";
import type { DatasetFormat } from "./dataset.js";
import type { Slo, TrialScore } from "./score.js";
import type { Candidate, Knob, Settings } from "./space.js";

export const RESULTS_SCHEMA = "vllmapp.dev/tune-results/v1";

/** What the numbers mean, written into every results file. */
export const DEFINITIONS = {
  ttft: "time to first token: from sending the request to receiving the first generated token, per request (ms)",
  itl: "inter-token latency: the gap between two consecutive generated tokens of a stream; its percentiles are over all gaps of all requests of the level (ms)",
  tpot: "time per output token: (end-to-end latency − TTFT) ÷ (output tokens − 1), per request, i.e. a request's mean inter-token latency (ms)",
  e2el: "end-to-end latency: from sending the request to receiving its last token, per request (ms)",
  attainment:
    "the share of a level's requests that met every per-request bound of the SLO (failed requests count as missing them)",
  meetsSlo:
    "a level meets the SLO when no request failed, every percentile bound holds (e.g. ttft_p95: the level's 95th percentile TTFT ≤ the bound) and, with per-request bounds, the attainment reaches the goal; a rate meets it when most of its repeated runs do",
  goodput:
    "DistServe's goodput: the highest request rate (req/s, Poisson arrivals) of the ladder such that it and every lower rate meet the SLO; 0 when the lowest does not",
  winner:
    "the trial with the highest goodput; equal goodputs are ordered by cost (fewer GPUs, lower gpu_memory_utilization, fp8 KV cache, shorter max_model_len, fewer max_num_seqs, fewer max_num_batched_tokens, no draft model), then by search order",
  goodRequestsPerSecond:
    "vLLM's request_goodput at the goodput rate: requests that met every per-request bound, per second of the level (median of the runs)",
} as const;

export interface Trial {
  id: string;
  index: number;
  changes: Candidate["changes"];
  settings: Settings;
  overrides: SetOverride[];
  /** ok: measured; failed: the server did not start or the benchmark failed (goodput 0) */
  status: "ok" | "failed";
  error: string | null;
  startedAt: string;
  seconds: number;
  /** the server's /version, when it could be asked */
  vllmVersion: string | null;
  /** the `vllm serve` argv the trial ran (the model argument first) */
  serveArgs: string[];
  /** each repeated run: one level per rate of the ladder */
  runs: BenchLevel[][];
  score: TrialScore;
  goodput: number;
  /** vLLM's request_goodput at the goodput rate (median of the runs); null when goodput is 0 */
  goodRequestsPerSecond: number | null;
}

export interface TuneResults {
  schema: typeof RESULTS_SCHEMA;
  /** identifies the search: a results file with another key is not resumed */
  key: string;
  tool: { name: "vllmapp"; version: string; benchmark: "vllm bench serve" };
  vllm: { release: string; image: string; served: string | null };
  app: string;
  file: string;
  target: "kubernetes" | "docker";
  gpu: string;
  seed: number;
  /** random: prompts of inputLen tokens asking for outputLen; custom, sharegpt: a sample of a dataset file (inputLen, outputLen 0) */
  workload: {
    dataset: "random" | DatasetFormat;
    file?: DatasetFile;
    inputLen: number;
    outputLen: number;
    requestRates: number[];
    numPrompts: number | null;
    repeat: number;
    warmupsPerRate: number;
  };
  slo: Slo & { text: string };
  definitions: typeof DEFINITIONS;
  budget: { trials: number | null; seconds: number | null };
  candidates: { id: string; index: number; changes: Candidate["changes"]; pruned: string | null }[];
  trials: Trial[];
  /** null while no trial succeeded */
  winner: { id: string; goodput: number; why: string; diff: string } | null;
  runnerUp: { id: string; goodput: number; goodRequestsPerSecond: number | null } | null;
  /** true when the budget stopped the search before every candidate ran */
  cutOff: boolean;
}

/** The dataset file of a search: where, which bytes, how many records, and how many of them every trial is sent. */
export interface DatasetFile {
  path: string;
  sha256: string;
  records: number;
  sampled: number;
}

/** The workload in words, for the table and the report. */
export function describeWorkload(w: TuneResults["workload"]): string {
  if (w.dataset === "random") return `random prompts: ${w.inputLen} tokens in, ${w.outputLen} out`;
  const f = w.file!;
  return `${f.sampled} prompts of ${f.path} (${w.dataset === "custom" ? "vLLM custom JSONL" : "ShareGPT"}, ${f.records} records, drawn with the seed)`;
}

/** The key of a search: what its candidates and measurements depend on. */
export function searchKey(parts: {
  appConfig: unknown;
  release: string;
  gpu: string;
  seed: number;
  workload: unknown;
  slo: unknown;
  target: string;
  knobs: readonly Knob[];
}): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 16);
}
