/**
 * `vllmapp tune --workload FILE`: real prompts instead of random ones. The file is read on this machine
 * in one of the two formats `vllm bench serve` reads itself: vLLM's "custom" JSONL (one
 * {"prompt": "…", "output_tokens": N} per line) or ShareGPT (a JSON array, or JSONL, of
 * {"conversations": [{"from": "human", "value": "…"}, {"from": "gpt", "value": "…"}, …]}: the first turn
 * is the prompt, the first answer's length in tokens the output length). A fixed sample of it, drawn with
 * the search's seed, travels to the benchmark (gzip, base64, inside the wrapper's config: no volume, no
 * ConfigMap, the same on Docker and Kubernetes), where vLLM's own loader reads it. So every trial of a
 * search, and a re-run with the same seed, sends the same prompts. Pure.
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { UsageError } from "../errors.js";

export type DatasetFormat = "custom" | "sharegpt";

export interface Dataset {
  format: DatasetFormat;
  /** the records, as written (ShareGPT: with at least two turns) */
  records: Record<string, unknown>[];
  /** sha256 of the file's bytes: a search over another file is another search */
  sha256: string;
}

/**
 * The wrapper's config carries the sample as one command-line argument, which Linux caps at 128 KiB
 * (MAX_ARG_STRLEN); this leaves room for the rest of the config.
 */
export const MAX_SAMPLE_BYTES = 96 * 1024;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Parse the file: a JSON array, or JSON Lines; every record in one of the two formats. */
export function parseDataset(file: string, text: string): Dataset {
  const sha256 = createHash("sha256").update(text).digest("hex");
  const rows: { line: number; value: unknown }[] = [];
  if (text.trimStart().startsWith("[")) {
    let all: unknown;
    try {
      all = JSON.parse(text);
    } catch (e) {
      throw new UsageError(
        `--workload ${file}: not valid JSON: ${(e as Error).message}`,
        "a dataset is a JSON array (ShareGPT) or JSON Lines: one record per line",
      );
    }
    (all as unknown[]).forEach((value, i) => rows.push({ line: i + 1, value }));
  } else {
    text.split("\n").forEach((l, i) => {
      if (!l.trim()) return;
      try {
        rows.push({ line: i + 1, value: JSON.parse(l) });
      } catch (e) {
        throw new UsageError(
          `--workload ${file}:${i + 1}: not a JSON record: ${(e as Error).message}`,
          "JSON Lines: one JSON object per line",
        );
      }
    });
  }
  const where = (r: { line: number }) =>
    text.trimStart().startsWith("[") ? `${file}: record ${r.line}` : `${file}:${r.line}`;
  if (!rows.length)
    throw new UsageError(
      `--workload ${file}: no records`,
      'one {"prompt": "…", "output_tokens": 128} per line, or ShareGPT conversations',
    );
  const first = rows[0]!.value;
  const format: DatasetFormat = isObject(first) && "conversations" in first ? "sharegpt" : "custom";
  const records: Record<string, unknown>[] = [];
  for (const r of rows) {
    const v = r.value;
    if (format === "sharegpt") {
      const turns = isObject(v) ? v.conversations : undefined;
      if (!Array.isArray(turns) || !turns.every((t) => isObject(t) && typeof t.value === "string")) {
        throw new UsageError(
          `--workload ${where(r)}: a ShareGPT record has "conversations": [{"from": "human", "value": "…"}, {"from": "gpt", "value": "…"}]`,
          "every record of the file in the same format",
        );
      }
      // vLLM's loader drops the conversations without an answer; so does the sample
      if (turns.length >= 2) records.push(v as Record<string, unknown>);
      continue;
    }
    if (!isObject(v) || typeof v.prompt !== "string")
      throw new UsageError(
        `--workload ${where(r)}: a record has "prompt": "…" and "output_tokens": N (vLLM's custom dataset), or is a ShareGPT conversation`,
        'e.g. {"prompt": "What is the capital of India?", "output_tokens": 64}',
      );
    if (!(Number.isInteger(v.output_tokens) && (v.output_tokens as number) > 0)) {
      throw new UsageError(
        `--workload ${where(r)}: "output_tokens" must be a whole number above 0 (the tokens the request asks for)`,
        'add it to every record, e.g. {"prompt": "…", "output_tokens": 128}',
      );
    }
    records.push(v);
  }
  if (!records.length)
    throw new UsageError(
      `--workload ${file}: no conversation has an answer (two turns or more)`,
      "vLLM's ShareGPT loader uses the first turn as the prompt and the first answer for the output length",
    );
  return { format, records, sha256 };
}

/** mulberry32: a small seeded generator, the same sequence on every machine. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` records drawn without replacement with `seed` (all of them, shuffled, when there are fewer). */
export function sampleRecords<T>(records: readonly T[], n: number, seed: number): T[] {
  const out = [...records];
  const next = random(seed);
  const k = Math.min(n, out.length);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(next() * (out.length - i));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out.slice(0, k);
}

export interface DatasetSample {
  format: DatasetFormat;
  records: number;
  /** the sample as vLLM's loader reads it, gzipped, base64 */
  data: string;
}

/** The sample the benchmark gets: custom as JSONL, ShareGPT as a JSON array of its first two turns. */
export function encodeSample(file: string, d: Dataset, n: number, seed: number): DatasetSample {
  const picked = sampleRecords(d.records, n, seed);
  const text =
    d.format === "custom"
      ? picked.map((r) => JSON.stringify({ prompt: r.prompt, output_tokens: r.output_tokens })).join("\n") + "\n"
      : JSON.stringify(picked.map((r) => ({ conversations: (r.conversations as unknown[]).slice(0, 2) })));
  const data = gzipSync(text, { level: 9 }).toString("base64");
  if (data.length > MAX_SAMPLE_BYTES) {
    throw new UsageError(
      `--workload ${file}: a sample of ${picked.length} prompts is ${Math.round(data.length / 1024)} KiB compressed; at most ${MAX_SAMPLE_BYTES / 1024} KiB travels with the benchmark`,
      "ask for fewer prompts per rate (--num-prompts), or use a file of shorter prompts",
    );
  }
  return { format: d.format, records: picked.length, data };
}
