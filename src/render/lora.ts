/** LoRA adapters (`lora:`): their sources, the paths vLLM is given, the flags; the names an argv serves. Pure. */
import type { AppConfig } from "../config/schema.js";
import { parseAdapterSource, type AdapterSource } from "../models/adapter-source.js";
import { errorOf } from "./findings.js";
import { CACHE_MOUNT } from "./labels.js";
import type { Finding } from "../errors.js";
import type { TargetKind } from "./types.js";

/** The adapter names in a `vllm serve` argv: each --lora-modules value (a JSON spec, or name=path). */
export function adapterNamesOf(args: readonly string[]): string[] {
  const names: string[] = [];
  for (let i = args.indexOf("--lora-modules") + 1; i > 0 && i < args.length && !args[i]!.startsWith("--"); i++) {
    const a = args[i]!;
    try {
      const spec = JSON.parse(a) as { name?: unknown };
      if (typeof spec.name === "string") names.push(spec.name);
    } catch {
      if (a.includes("=")) names.push(a.split("=")[0]!);
    }
  }
  return names;
}

/** vLLM's --max-lora-rank choices (enforced by its parser). */
export const LORA_RANKS = [1, 8, 16, 32, 64, 128, 256, 320, 512] as const;

/** Flags `lora:` owns: in extra_args they are errors once lora: is set. */
export const LORA_FLAGS = ["--enable-lora", "--lora-modules", "--max-loras", "--max-lora-rank", "--max-cpu-loras"];

/** Where adapters copied from an object store live: on Kubernetes in the cache volume, on Docker under /adapters. */
export const ADAPTER_MOUNT = "/mnt/adapters";

export interface Adapter {
  name: string;
  source: AdapterSource;
  /** the path (or HF repo id) vLLM is given */
  path: string;
  index: number;
}

/** The container path of an adapter fetched or mounted by vllmapp. */
function adapterPath(app: AppConfig, name: string, src: AdapterSource, target: TargetKind): string {
  switch (src.kind) {
    case "hf":
      return src.repo;
    case "s3":
    case "gs":
    case "az":
      return target === "kubernetes" ? `${CACHE_MOUNT}/adapters/${name}` : `/adapters/${name}`;
    case "pvc":
      return `${ADAPTER_MOUNT}/${name}${src.subPath ? `/${src.subPath}` : ""}`;
    case "path":
      return src.path;
  }
}

/** The smallest of vLLM's rank choices that holds `rank`. */
export function roundRank(rank: number): number | undefined {
  return LORA_RANKS.find((r) => r >= rank);
}

export interface LoraPlan {
  adapters: Adapter[];
  args: string[];
  env: [string, string][];
  problems: Finding[];
}

type LoraConfig = NonNullable<AppConfig["lora"]>;

/**
 * `lora:` → vLLM's flags: `--enable-lora`, `--max-loras`, `--max-lora-rank` (as written, else the
 * adapters' largest rank read by check/deploy rounded up to vLLM's choices), `--lora-modules` with one JSON
 * spec per adapter, and for `dynamic: true` runtime loading (VLLM_ALLOW_RUNTIME_LORA_UPDATING).
 */
export function planLora(
  app: AppConfig,
  servedAs: string,
  target: TargetKind,
  flagsSet: ReadonlySet<string>,
  ranks: ReadonlyMap<string, number> = new Map(),
): LoraPlan {
  const lora = app.lora;
  if (!lora) return { adapters: [], args: [], env: [], problems: [] };
  const owned = LORA_FLAGS.filter((f) => flagsSet.has(f)).map((f) =>
    errorOf(
      ["extra_args"],
      `${f} is set by vllmapp from lora:; remove it from extra_args`,
      "list adapters under lora.adapters, and set lora.max_rank / max_loras",
    ),
  );
  const { adapters, problems: adapterProblems } = adaptersOf(app, servedAs, target);
  const count = adapters.length;
  const rank = maxRankOf(lora, adapters, ranks);
  const runtime = runtimeLoading(app, lora, count);
  const args = ["--enable-lora", "--max-loras", String(lora.max_loras ?? Math.max(1, Math.min(count, 4)))];
  args.push(...rank.args);
  if (lora.max_cpu_loras !== undefined) args.push("--max-cpu-loras", String(lora.max_cpu_loras));
  if (count)
    args.push(
      "--lora-modules",
      ...adapters.map((a) => JSON.stringify({ name: a.name, path: a.path, base_model_name: servedAs })),
    );
  return {
    adapters,
    args,
    env: runtime.env,
    problems: [...owned, ...adapterProblems, ...rank.problems, ...runtime.problems],
  };
}

/** The adapters as listed, each source parsed and placed; a repeated name, the base model's name, a source the target cannot read are errors. */
function adaptersOf(
  app: AppConfig,
  servedAs: string,
  target: TargetKind,
): { adapters: Adapter[]; problems: Finding[] } {
  const adapters: Adapter[] = [];
  const problems: Finding[] = [];
  const seen = new Set<string>();
  app.lora!.adapters.forEach((a, i) => {
    const at = ["lora", "adapters", i];
    if (seen.has(a.name)) problems.push(errorOf([...at, "name"], `adapter "${a.name}" is listed twice`));
    seen.add(a.name);
    if (a.name === servedAs)
      problems.push(
        errorOf(
          [...at, "name"],
          `adapter "${a.name}" has the base model's name (model_id): clients could not tell them apart`,
          "give the adapter another name",
        ),
      );
    const src = parseAdapterSource(a.source);
    if ("message" in src) {
      problems.push(errorOf([...at, "source"], src.message, src.hint));
      return;
    }
    if (src.kind === "hf" && src.revision)
      problems.push(
        errorOf(
          [...at, "source"],
          `vLLM downloads an adapter's Hugging Face repo at its default branch: @${src.revision} cannot be honoured`,
          `drop @${src.revision}, or copy that revision to s3:// or a PVC`,
        ),
      );
    if (src.kind === "pvc" && target === "docker")
      problems.push(
        errorOf(
          [...at, "source"],
          `pvc://${src.claim} is a Kubernetes volume: it is not available with --target docker`,
          "use a folder on this machine (an absolute path), s3:// or a Hugging Face repo for local runs",
        ),
      );
    adapters.push({ name: a.name, source: src, path: adapterPath(app, a.name, src, target), index: i });
  });
  return { adapters, problems };
}

/**
 * `--max-lora-rank`: max_rank as written (an error when an adapter's known rank is above it), else the
 * largest known rank rounded up to vLLM's choices; with no rank known, vLLM's default and a note.
 */
function maxRankOf(
  lora: LoraConfig,
  adapters: readonly Adapter[],
  ranks: ReadonlyMap<string, number>,
): { args: string[]; problems: Finding[] } {
  const known = adapters.map((a) => ranks.get(a.name)).filter((r): r is number => r !== undefined);
  const needed = known.length ? Math.max(...known) : undefined;
  if (lora.max_rank !== undefined) {
    const problems: Finding[] = [];
    if (needed !== undefined && needed > lora.max_rank) {
      const big = adapters
        .filter((a) => (ranks.get(a.name) ?? 0) > lora.max_rank!)
        .map((a) => `${a.name} (r=${ranks.get(a.name)})`);
      problems.push(
        errorOf(
          ["lora", "max_rank"],
          `max_rank ${lora.max_rank} is below the rank of ${big.join(", ")}: vLLM refuses to load it`,
          `set max_rank: ${roundRank(needed) ?? needed}`,
        ),
      );
    }
    return { args: ["--max-lora-rank", String(lora.max_rank)], problems };
  }
  if (needed !== undefined) {
    const r = roundRank(needed);
    if (r !== undefined) return { args: ["--max-lora-rank", String(r)], problems: [] };
    const largest = LORA_RANKS.at(-1);
    const message = `an adapter has rank ${needed}, above vLLM's largest --max-lora-rank (${largest})`;
    return { args: [], problems: [errorOf(["lora", "adapters"], message)] };
  }
  if (!adapters.length) return { args: [], problems: [] };
  const note: Finding = {
    path: ["lora"],
    severity: "note",
    message:
      "the adapters' ranks are read by `vllmapp check` and `deploy`; without them vLLM's default --max-lora-rank 16 applies",
    hint: "set lora.max_rank to render it without reading the adapters",
  };
  return { args: [], problems: [note] };
}

/** dynamic: true turns on runtime loading (and warns what it opens); without it, no adapters is an error. */
function runtimeLoading(
  app: AppConfig,
  lora: LoraConfig,
  count: number,
): { env: [string, string][]; problems: Finding[] } {
  if (!lora.dynamic) {
    if (count) return { env: [], problems: [] };
    const problem = errorOf(
      ["lora", "adapters"],
      "lora: lists no adapters and dynamic is false, so no adapter could ever be served",
      "list adapters, or set dynamic: true to load them at run time",
    );
    return { env: [], problems: [problem] };
  }
  const env: [string, string][] =
    app.env_vars?.VLLM_ALLOW_RUNTIME_LORA_UPDATING === undefined ? [["VLLM_ALLOW_RUNTIME_LORA_UPDATING", "True"]] : [];
  const warning: Finding = {
    path: ["lora", "dynamic"],
    severity: "warning",
    message:
      "dynamic: true opens /v1/load_lora_adapter and /v1/unload_lora_adapter to every client with the API key, and adapters loaded that way are gone after a restart",
    hint: "prefer listing adapters under lora.adapters (loaded at every start)",
  };
  return { env, problems: [warning] };
}
