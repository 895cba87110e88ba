/**
 * A start's timeline: one entry per phase, in the order a start goes through them, with the seconds
 * spent, what the phase moved (image bytes, model bytes, weight bytes) and, for a slow phase, one line of
 * advice with the gain to expect. Pure: the pieces a target read (events, container times, log lines)
 * in, entries out; plus the start history kept with the app and the startup-probe budget learned from it.
 *
 * Phases (the names `status --json` carries):
 *   scheduling    pod created → bound to a node (with the wait for a new node: TriggeredScaleUp, Nominated)
 *   image-pull    the kubelet's pulls ("Image size: N bytes" and the duration of each Pulled event)
 *   download      the model-download init container, or vLLM fetching the weights itself
 *   loading       weights into memory ("Loading weights took", the checkpoint's size → GB/s)
 *   compiling     torch.compile / Inductor
 *   capturing     CUDA graph capture
 *   initializing  the process start (imports, config) and the engine's set-up (profiling, KV cache, warm-up)
 *   ready         the whole start: its `seconds` is the time from the first phase to ready
 * A phase that did not happen (an image already on the node, no download) is left out.
 */
import type { StartupReport, Timeline, TimelineEntry, TimelinePhase, StartRecord } from "../target.js";

export type { TimelineEntry, TimelinePhase, StartRecord };

export const TIMELINE_PHASES: readonly TimelinePhase[] = [
  "scheduling",
  "image-pull",
  "download",
  "loading",
  "compiling",
  "capturing",
  "initializing",
  "ready",
];

/** Go's time.Duration text ("1m2.5s", "845ms", "3.2µs") in seconds; undefined when it is not one. */
export function parseGoDuration(text: string): number | undefined {
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, µs: 1e-6, ns: 1e-9 };
  const re = /([\d.]+)(h|ms|m|s|us|µs|ns)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * units[m[2]!]!;
    end = re.lastIndex;
  }
  return end > 0 && end === text.length && Number.isFinite(total) ? total : undefined;
}

export interface Pull {
  image: string;
  /** the pull alone, as the kubelet measured it */
  seconds: number;
  /** the pull with its wait in the kubelet's queue */
  withWaiting: number;
  bytes: number | null;
}

/**
 * The kubelet's Pulled event message: `Successfully pulled image "X" in 3.5s (3.6s including waiting). Image
 * size: 1234 bytes.` → the pull; `Container image "X" already present on machine` → "present".
 */
export function parsePulled(message: string): Pull | "present" | undefined {
  if (/already present on machine/.test(message)) return "present";
  const m =
    /Successfully pulled image "([^"]+)" in (\S+?)(?: \((\S+?) including waiting\))?\.(?: Image size: (\d+) bytes\.)?\s*$/.exec(
      message,
    );
  if (!m) return undefined;
  const seconds = parseGoDuration(m[2]!);
  if (seconds === undefined) return undefined;
  return {
    image: m[1]!,
    seconds,
    withWaiting: (m[3] && parseGoDuration(m[3])) || seconds,
    bytes: m[4] ? Number(m[4]) : null,
  };
}

/** "1.234 GiB", "512 B", "2.5 MiB" (rclone's units, binary; decimal "kB"/"MB"/"GB" too) → bytes. */
export function parseSize(text: string): number | undefined {
  const m = /^([\d.]+)\s*([kKMGTP]i?)?B(?:ytes)?$/.exec(text.trim());
  if (!m) return undefined;
  const unit = m[2] ?? "";
  const pow = " kMGTP".indexOf(unit[0]?.replace("K", "k") ?? " ");
  const base = unit.endsWith("i") ? 1024 : 1000;
  return Math.round(Number(m[1]) * base ** Math.max(0, pow));
}

/** The bytes a download moved: the last rclone "Transferred: X / Y, 100%" line's total. */
export function downloadedBytes(lines: readonly string[]): number | null {
  let bytes: number | null = null;
  for (const l of lines) {
    for (const m of l.matchAll(/Transferred:\s+([\d.]+ ?\S*B) \/ ([\d.]+ ?\S*B), (\d+)%/g))
      bytes = parseSize(m[2]!) ?? bytes;
  }
  return bytes;
}

/** The weights' size vLLM logs: "Checkpoint size: 14.96 GiB" (before loading), or "Model loading took 14.9 GiB" (GPU). */
export function weightBytes(lines: readonly string[]): number | null {
  let bytes: number | null = null;
  for (const l of lines) {
    const m = /Checkpoint size: ([\d.]+) GiB/.exec(l) ?? /Model loading took ([\d.]+) GiB/.exec(l);
    if (m) bytes = Math.round(Number(m[1]) * 2 ** 30);
  }
  return bytes;
}

/** Human sizes in decimal units, as throughput is quoted: "6.1 GB", "845 MB", "12 kB". */
export function formatBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

const round = (x: number) => Math.round(x * 10) / 10;

/** What a target knows about a start's phases before the server's own log. */
export interface StartFacts {
  /** when the start began: the pod's creation (Kubernetes), the container's creation (Docker) */
  createdAt: number;
  /** bound to a node; undefined: not yet, or no scheduler (Docker) */
  scheduledAt?: number;
  /** the first TriggeredScaleUp / Nominated event: a node was being added for it */
  provisioning?: { at: number; by: string; message: string };
  pulls: Pull[];
  /** pulls still under way: since when */
  pulling?: number;
  /** the model-download step: from, to (undefined: still running), and the bytes its log reports */
  download?: { from: number; to?: number; bytes: number | null };
  /** the server's log-based report (src/startup/phases.ts) from its process start */
  server?: StartupReport;
  /** when the server process started, and when it was ready */
  serverStartedAt?: number;
  readyAt?: number;
  /** the weights' size from the server's log */
  weightBytes: number | null;
}

/** The entries of one start (up to now when it is still going). */
export function buildTimeline(f: StartFacts, now: number): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  const add = (phase: TimelinePhase, seconds: number, bytes: number | null = null, detail: string | null = null) =>
    out.push({ phase, seconds: round(Math.max(0, seconds)), bytes, detail, advice: null });
  const scheduled = f.scheduledAt ?? (f.pulls.length || f.pulling || f.download || f.serverStartedAt ? undefined : now);
  if (scheduled !== undefined || f.provisioning) {
    const to = scheduled ?? now;
    const prov = f.provisioning
      ? `, ${round((to - f.provisioning.at) / 1000)} s of it for a new node (${f.provisioning.by}: ${f.provisioning.message})`
      : "";
    add(
      "scheduling",
      (to - f.createdAt) / 1000,
      null,
      f.scheduledAt === undefined ? `not scheduled yet${prov}` : prov ? prov.slice(2) : null,
    );
  }
  if (f.pulls.length || f.pulling !== undefined) {
    const seconds =
      f.pulls.reduce((s, p) => s + p.withWaiting, 0) + (f.pulling !== undefined ? (now - f.pulling) / 1000 : 0);
    const known = f.pulls.filter((p) => p.bytes !== null);
    const bytes = known.length ? known.reduce((s, p) => s + p.bytes!, 0) : null;
    const each = f.pulls.map(
      (p) => `${p.image}${p.bytes !== null ? ` ${formatBytes(p.bytes)}` : ""} in ${round(p.seconds)} s`,
    );
    if (f.pulling !== undefined) each.push("pulling");
    add("image-pull", seconds, bytes, each.join("; "));
  }
  const server = f.server?.phases ?? [];
  const secondsOf = (...phases: string[]) =>
    server.filter((p) => phases.includes(p.phase)).reduce((s, p) => s + p.seconds, 0);
  const detailOf = (phase: string) => server.find((p) => p.phase === phase)?.detail ?? null;
  const selfDownload = server.some((p) => p.phase === "downloading");
  if (f.download || selfDownload) {
    const seconds = (f.download ? ((f.download.to ?? now) - f.download.from) / 1000 : 0) + secondsOf("downloading");
    add(
      "download",
      seconds,
      f.download?.bytes ?? null,
      f.download ? (f.download.to === undefined ? "model-download running" : null) : "vLLM fetched the weights itself",
    );
  }
  if (server.some((p) => p.phase === "loading"))
    add("loading", secondsOf("loading"), f.weightBytes || null, detailOf("loading"));
  if (server.some((p) => p.phase === "compiling"))
    add("compiling", secondsOf("compiling"), null, detailOf("compiling"));
  if (server.some((p) => p.phase === "capturing"))
    add("capturing", secondsOf("capturing"), null, detailOf("capturing"));
  if (server.some((p) => p.phase === "starting" || p.phase === "initializing"))
    add("initializing", secondsOf("starting", "initializing"), null, null);
  if (f.readyAt !== undefined)
    add(
      "ready",
      (f.readyAt - f.createdAt) / 1000,
      null,
      f.serverStartedAt !== undefined
        ? `the server answered ${round((f.readyAt - f.serverStartedAt) / 1000)} s after its process started`
        : null,
    );
  for (const e of out) {
    if (e.bytes !== null && e.bytes > 0 && e.seconds > 0)
      e.detail = [`${formatBytes(e.bytes / e.seconds)}/s`, e.detail].filter(Boolean).join(", ");
  }
  return withAdvice(out);
}

/**
 * One line of advice for each slow phase, with the gain to expect and where the number comes from (the
 * README's "Start-up timeline" cites each). A phase is slow from SLOW_SECONDS on and when it is at least
 * SLOW_SHARE of the start; the fast starts of a small model get none.
 */
export const SLOW_SECONDS = 30;
export const SLOW_SHARE = 0.1;

export function withAdvice(entries: TimelineEntry[]): TimelineEntry[] {
  // initializing has no advice: no published change shortens it by a known amount
  const total = entries.find((e) => e.phase === "ready")?.seconds ?? entries.reduce((s, e) => s + e.seconds, 0);
  const slow = (e: TimelineEntry) => e.seconds >= SLOW_SECONDS && e.seconds >= SLOW_SHARE * total;
  for (const e of entries) {
    if (e.phase === "ready" || !slow(e)) continue;
    e.advice = adviceFor(e);
  }
  return entries;
}

function adviceFor(e: TimelineEntry): string | null {
  const s = Math.round(e.seconds);
  const rate = e.bytes && e.seconds ? e.bytes / e.seconds : undefined;
  switch (e.phase) {
    case "scheduling":
      return /new node/.test(e.detail ?? "")
        ? `${s} s went to scheduling, most of it for a new GPU node: keep one warm (the node group's minimum, or an over-provisioning placeholder pod) to save up to that (node provisioning was 284 s of a 966 s start in kaito #2325)`
        : `${s} s went to scheduling: the cluster had no free GPU of the type asked; see vllmapp status for the scheduler's reason`;
    case "image-pull":
      return `the image pull took ${s} s${rate ? ` at ${formatBytes(rate)}/s` : ""}: pre-pull the image on the GPU nodes (a DaemonSet, or a node image that has it) to save up to ${s} s per new node (image pull was 101 s of a 966 s start in kaito #2325)`;
    case "download":
      return `the model download took ${s} s${rate ? ` at ${formatBytes(rate)}/s` : ""}: keep it on a cache volume (cache:) so the next start skips it (Tensorfuse: download 61 s → 0 s warm; KServe #3869: 15–20 min → ~1 min with a node-local cache), or stream it from the object store (stream_model: true)`;
    case "loading":
      return `the weights loaded in ${s} s${rate ? ` at ${formatBytes(rate)}/s` : ""}: stream them with the Run:ai streamer and more concurrency (env_vars RUNAI_STREAMER_CONCURRENCY: "16"), which took a 554 GiB load from 4575 s to 318 s (Dynamo's fast-model-loading guide, 14×)`;
    case "compiling":
      return /compile cache/.test(e.detail ?? "")
        ? null
        : `torch.compile took ${s} s: keep vLLM's compile cache on a volume (cache:) so restarts reuse it (Tensorfuse: compile 42 s → 13 s warm, about ${Math.round(s * 0.7)} s saved here)`;
    case "capturing":
      return `CUDA graph capture took ${s} s: with the compile cache on a volume (cache:) later starts capture faster (Tensorfuse: 54 s → 7 s warm, about ${Math.round(s * 0.85)} s saved here)`;
    default:
      return null;
  }
}

// ---------------------------------------------------------------- history

/** How many starts the history keeps. */
export const HISTORY_LENGTH = 10;

/** The history as stored (data key `starts.json` of the app's `<app>-starts` ConfigMap): newest first. */
export function parseHistory(text: string | undefined): StartRecord[] {
  if (!text) return [];
  try {
    const raw = JSON.parse(text) as unknown;
    if (!Array.isArray(raw)) return [];
    return raw.filter(
      (r): r is StartRecord =>
        typeof r === "object" &&
        r !== null &&
        typeof (r as StartRecord).id === "string" &&
        Array.isArray((r as StartRecord).phases),
    );
  } catch {
    return [];
  }
}

/** The record kept of a start: phase, seconds and bytes only (details and advice are recomputed; nothing from the config or the log's text). */
export function recordOf(
  id: string,
  at: number,
  entries: readonly TimelineEntry[],
  serverSeconds: number | null,
): StartRecord {
  const ready = entries.find((e) => e.phase === "ready");
  return {
    id,
    at: new Date(at).toISOString(),
    ready: ready !== undefined,
    seconds: ready?.seconds ?? round(entries.reduce((s, e) => s + e.seconds, 0)),
    serverSeconds,
    phases: entries.map((e) => ({ phase: e.phase, seconds: e.seconds, bytes: e.bytes, detail: null, advice: null })),
  };
}

/** The history with `rec` in front (replacing an earlier record of the same start), at most HISTORY_LENGTH long. */
export function addToHistory(history: readonly StartRecord[], rec: StartRecord): StartRecord[] {
  return [rec, ...history.filter((r) => r.id !== rec.id)].slice(0, HISTORY_LENGTH);
}

/** The entries of a stored start, with the byte rates and advice recomputed. */
export function entriesOf(rec: StartRecord): TimelineEntry[] {
  const entries = rec.phases.map((p) => ({
    ...p,
    bytes: p.bytes ?? null,
    detail: p.bytes && p.seconds ? `${formatBytes(p.bytes / p.seconds)}/s` : null,
    advice: null,
  }));
  return withAdvice(entries);
}

/**
 * The current start and the one before: `live` is the start read from the cluster now (undefined when
 * nothing runs); the previous one is the newest stored start that is not the live one.
 */
export function currentAndPrevious(
  live: { id: string; entries: TimelineEntry[] } | undefined,
  history: readonly StartRecord[],
): { current: TimelineEntry[]; previous: TimelineEntry[]; currentId: string | null; previousId: string | null } {
  const stored = history.filter((r) => r.id !== live?.id);
  const current = live ? live.entries : history[0] ? entriesOf(history[0]) : [];
  const prevRec = live ? stored[0] : history[1];
  return {
    current,
    previous: prevRec ? entriesOf(prevRec) : [],
    currentId: live?.id ?? history[0]?.id ?? null,
    previousId: prevRec?.id ?? null,
  };
}

/** The startup probe's period (src/render/kubernetes.ts), for budgets in seconds. */
export const PROBE_PERIOD_SECONDS = 10;
/** The margin over the p95 of past server starts, and the least budget learned. */
export const BUDGET_MARGIN = 2;
export const BUDGET_FLOOR_SECONDS = 300;
/** Starts a learned budget needs before it is used. */
export const BUDGET_MIN_STARTS = 3;

/** The p-th percentile (nearest rank) of xs. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/**
 * The startup probe's budget learned from the history, in seconds, or undefined when it has too few
 * starts: p95 (nearest rank) of the server's start (process start → ready: what the probe waits for) of the
 * ready starts × BUDGET_MARGIN, rounded up to a whole minute, at least BUDGET_FLOOR_SECONDS. `deployed` is
 * the budget the running pods have: kept while it is at least p95 × 1.5, so the budget alone never rolls an
 * app out again (it raises a budget that became too short, and never lowers one that is long enough).
 */
export function learnedBudget(
  history: readonly StartRecord[],
  deployed?: number,
): { seconds: number; p95: number; starts: number } | undefined {
  const xs = history.filter((r) => r.ready && typeof r.serverSeconds === "number").map((r) => r.serverSeconds!);
  if (xs.length < BUDGET_MIN_STARTS) return undefined;
  const p95 = percentile(xs, 95);
  if (deployed !== undefined && deployed >= p95 * 1.5) return { seconds: deployed, p95, starts: xs.length };
  return {
    seconds: Math.max(BUDGET_FLOOR_SECONDS, Math.ceil((p95 * BUDGET_MARGIN) / 60) * 60),
    p95,
    starts: xs.length,
  };
}

/** "scheduling      0.1 s", "image-pull     45.2 s  6.1 GB, 135 MB/s …": one line per entry (`ready`: the whole start). */
export function formatTimeline(entries: readonly TimelineEntry[], indent = "    "): string[] {
  const width = Math.max(...entries.map((e) => e.phase.length));
  const lines: string[] = [];
  for (const e of entries) {
    const what = [e.bytes ? formatBytes(e.bytes) : "", e.detail ?? ""].filter(Boolean).join(", ");
    lines.push(`${indent}${e.phase.padEnd(width)}  ${e.seconds.toFixed(1).padStart(6)} s${what ? `  ${what}` : ""}`);
    if (e.advice) lines.push(`${indent}${" ".repeat(width)}  advice: ${e.advice}`);
  }
  return lines;
}

/**
 * The entries of a start known only from the server's report (Docker: the pull and the copy step are
 * marked before the container's own log): its phases under the timeline's names, `ready` with the whole.
 */
export function entriesOfReport(r: StartupReport, weights: number | null = null): TimelineEntry[] {
  const name: Partial<Record<StartupReport["phase"], TimelinePhase>> = {
    pulling: "image-pull",
    downloading: "download",
    starting: "initializing",
    loading: "loading",
    compiling: "compiling",
    capturing: "capturing",
    initializing: "initializing",
  };
  const totals = new Map<TimelinePhase, TimelineEntry>();
  for (const p of r.phases) {
    const phase = name[p.phase];
    if (!phase) continue;
    const e = totals.get(phase) ?? {
      phase,
      seconds: 0,
      bytes: phase === "loading" ? weights || null : null,
      detail: null,
      advice: null,
    };
    e.seconds = round(e.seconds + p.seconds);
    if (p.detail) e.detail = p.detail;
    totals.set(phase, e);
  }
  const out = TIMELINE_PHASES.map((p) => totals.get(p)).filter((e): e is TimelineEntry => e !== undefined);
  if (r.phase === "ready")
    out.push({ phase: "ready", seconds: r.elapsedSeconds, bytes: null, detail: null, advice: null });
  for (const e of out)
    if (e.bytes && e.seconds > 0)
      e.detail = [`${formatBytes(e.bytes / e.seconds)}/s`, e.detail].filter(Boolean).join(", ");
  return withAdvice(out);
}

/** `--timeline`: the current start and the one before, one line per phase (with advice under a slow one). */
export function timelineLines(t: Timeline | null): string[] {
  if (!t) return [];
  const lines = [
    `  start now${t.currentId ? ` (${t.currentId})` : ""}:`,
    ...(t.current.length ? formatTimeline(t.current) : ["    (nothing has started)"]),
  ];
  lines.push(
    `  start before${t.previousId ? ` (${t.previousId})` : ""}:`,
    ...(t.previous.length ? formatTimeline(t.previous) : ["    (none recorded)"]),
  );
  return lines;
}
