/**
 * Which phase a starting vLLM server is in, and how long each took: from the container's state (image
 * pull, a model-download init container) and from vLLM's own log lines, classified by the patterns
 * below (vLLM 0.32's wording, checked against real logs in test/fixtures/vllm-0.32/). Pure: lines and
 * times in, a StartupReport out.
 *
 * Phases, in the order a start goes through them:
 *   pulling       the image is pulled (Kubernetes events; Docker: the pull before `docker run`)
 *   downloading   weights are copied to disk (init container, copy step, or vLLM's "Fetching N files")
 *   starting      Python imports vLLM and the engine reads the model's config
 *   loading       weights go into (GPU) memory ("Starting to load model" … "Loading weights took")
 *   compiling     torch.compile / Inductor ("Dynamo bytecode transform", "Compiling a graph", cache loads)
 *   capturing     CUDA graphs are captured ("Capturing CUDA graphs" … "Graph capturing finished")
 *   initializing  memory profiling, the KV cache, warm-up and the API server coming up
 *   ready         "Application startup complete" (then /health answers 200)
 */
import type { StartupPhase, StartupReport } from "../target.js";

export type { StartupPhase, StartupReport };

const ORDER: StartupPhase[] = [
  "pulling",
  "downloading",
  "starting",
  "loading",
  "compiling",
  "capturing",
  "initializing",
  "ready",
];
const rank = (p: StartupPhase) => ORDER.indexOf(p);

/** What one log line says about the start. */
export interface LineEvent {
  phase: StartupPhase;
  /** the phase that follows this line (a "finished" line hands over to the next phase) */
  then?: StartupPhase;
  /** a fact about the phase worth keeping ("weights in 12.3 s") */
  detail?: string;
  /** where a long phase is ("3/6 files", "2.2G of 5.0G") */
  progress?: string;
}

interface Rule {
  re: RegExp;
  event: (m: RegExpExecArray) => LineEvent;
}

const pct = (m: string | undefined) => (m === undefined ? undefined : Number(m));

const RULES: Rule[] = [
  { re: /Application startup complete/, event: () => ({ phase: "ready" }) },
  // huggingface_hub's snapshot download: "Fetching 6 files:  50%|█████     | 3/6 [00:01<00:01, ...]"
  {
    re: /Fetching (\d+) files:\s+(\d+)%\|[^|]*\|\s*(\d+)\/(\d+)/,
    event: (m) => ({
      phase: "downloading",
      progress: `${m[3]}/${m[4]} files`,
      ...(pct(m[2]) === 100 ? { then: "starting" as const, detail: `${m[1]} files` } : {}),
    }),
  },
  // a file's byte progress bar: "model-00001-of-00004.safetensors:  45%|████▌     | 2.23G/4.98G [00:10<00:12, 215MB/s]"
  {
    re: /^(\S+\.(?:safetensors|bin|pt|pth|gguf|json)):\s+(\d+)%\|[^|]*\|\s*([\d.]+[kMGTP]?B?)\/([\d.]+[kMGTP]?B?)\s/,
    event: (m) => ({ phase: "downloading", progress: `${m[3]} of ${m[4]} (${m[1]})` }),
  },
  // rclone's --stats-one-line (the model-download init container, the Docker copy step)
  {
    re: /Transferred:\s+([\d.]+ \S+) \/ ([\d.]+ \S+), (\d+)%/,
    event: (m) => ({ phase: "downloading", progress: `${m[1]} of ${m[2]} (${m[3]}%)` }),
  },
  { re: /Starting to load model/, event: () => ({ phase: "loading" }) },
  {
    re: /Loading safetensors checkpoint shards:\s+(\d+)% Completed \| (\d+)\/(\d+)/,
    event: (m) => ({ phase: "loading", progress: `${m[2]}/${m[3]} shards` }),
  },
  {
    re: /Loading safetensors using Runai Model Streamer:\s+(\d+)%(?:[^|]*\|\s*(\d+)\/(\d+))?/,
    event: (m) => ({ phase: "loading", progress: m[2] ? `${m[2]}/${m[3]} tensors streamed` : `${m[1]}% streamed` }),
  },
  {
    re: /Loading weights took ([\d.]+) seconds/,
    event: (m) => ({ phase: "loading", then: "initializing", detail: `weights in ${m[1]} s` }),
  },
  {
    re: /Model loading took ([\d.]+) GiB(?: memory)? and ([\d.]+) seconds/,
    event: (m) => ({ phase: "loading", then: "initializing", detail: `${m[1]} GiB in ${Number(m[2]).toFixed(1)} s` }),
  },
  {
    re: /Directly load the compiled graph\(s\) for .* from the cache, took ([\d.]+) s/,
    event: (m) => ({ phase: "compiling", detail: `from the compile cache in ${m[1]} s` }),
  },
  {
    re: /Dynamo bytecode transform time: ([\d.]+) s|Compiling a graph for (?:dynamic shape|compile range)|Start compiling|Cache the graph of/,
    event: () => ({ phase: "compiling" }),
  },
  {
    re: /torch\.compile (?:and initial profiling\/warmup run together )?(?:takes|took) ([\d.]+) s in total/,
    event: (m) => ({ phase: "compiling", then: "initializing", detail: `torch.compile ${m[1]} s` }),
  },
  {
    re: /Capturing CUDA graphs[^:]*:\s+(\d+)%[^|]*\|[^|]*\|\s*(\d+)\/(\d+)/,
    event: (m) => ({ phase: "capturing", progress: `${m[2]}/${m[3]} graphs` }),
  },
  { re: /Capturing CUDA graphs/, event: () => ({ phase: "capturing" }) },
  {
    re: /Graph capturing finished in (\d+) secs/,
    event: (m) => ({ phase: "capturing", then: "initializing", detail: `CUDA graphs in ${m[1]} s` }),
  },
  {
    re: /Memory profiling takes|Available KV cache memory|KV cache size:|init engine \(profile|Starting vLLM (?:API )?server on|Started server process|Waiting for application startup/,
    event: () => ({ phase: "initializing" }),
  },
  {
    re: /Initializing a V1 LLM engine|non-default args:|vLLM API server version/,
    event: () => ({ phase: "starting" }),
  },
];

/** Classify one line (a tqdm line holds several updates, split by \r: the last one that says something wins). */
export function classifyLine(line: string): LineEvent | undefined {
  let found: LineEvent | undefined;
  for (const part of line.split("\r")) {
    const text = part.trim();
    if (!text) continue;
    for (const r of RULES) {
      const m = r.re.exec(text);
      if (m) {
        found = r.event(m);
        break;
      }
    }
  }
  return found;
}

/** "2026-12-01T09:11:31.311322107Z text" (docker logs -t, kubectl logs --timestamps) → [ms, text]. */
export function splitTimestamp(raw: string): [number, string] | undefined {
  const sp = raw.indexOf(" ");
  if (sp < 20) return undefined;
  const t = Date.parse(raw.slice(0, sp));
  return Number.isNaN(t) ? undefined : [t, raw.slice(sp + 1)];
}

interface Mark {
  at: number;
  event: LineEvent;
  seq: number;
}

/**
 * Collects what is known about one server's start — marks from the container state and classified log
 * lines, each at its time — and reports the phases. Marks may come in any order; the report sorts them.
 */
/** How far before the recorded start a line may be stamped and still be this start's (see used()). */
const START_SLACK_MS = 1000;

export class StartupTracker {
  private readonly marks: Mark[] = [];
  private seq = 0;

  /** `startedAt`: when the server process started (the container's start), in ms; undefined: not yet. */
  constructor(private startedAt: number | undefined) {}

  /** The server process started again (a restarted container): its lines start over; pull and download stay. */
  restart(startedAt: number): void {
    this.startedAt = startedAt;
    for (let i = this.marks.length - 1; i >= 0; i--)
      if (rank(this.marks[i]!.event.phase) >= rank("starting")) this.marks.splice(i, 1);
  }

  /** Something the container's state says: a pull, an init container's download, from `at` on. */
  mark(phase: StartupPhase, at: number, extra: Omit<LineEvent, "phase"> = {}): void {
    this.marks.push({ at, event: { phase, ...extra }, seq: this.seq++ });
  }

  /** A log line at `at`; true when it told something. */
  line(text: string, at: number): boolean {
    const ev = classifyLine(text);
    if (!ev) return false;
    this.marks.push({ at, event: ev, seq: this.seq++ });
    return true;
  }

  /** A raw line with its timestamp prefix; lines without one count at `fallback`. */
  rawLine(raw: string, fallback: number): boolean {
    const split = splitTimestamp(raw);
    return split ? this.line(split[1], split[0]) : this.line(raw, fallback);
  }

  /**
   * The marks that belong to this start, in time order: what came before the process (pull, download),
   * and what the process said once started; lines from before it started belong to an earlier container.
   * "Before" allows START_SLACK_MS: the engine records a container's start after the process has begun,
   * so a server that prints at once has lines stamped a few ms before its StartedAt (seen: 3 ms).
   */
  private used(): Mark[] {
    const started = this.startedAt;
    return [...this.marks]
      .filter((m) =>
        rank(m.event.phase) < rank("starting") ? true : started !== undefined && m.at >= started - START_SLACK_MS,
      )
      .sort((a, b) => a.at - b.at || a.seq - b.seq);
  }

  /** When it became ready, if it did. */
  get readyAt(): number | undefined {
    return this.used().find((m) => m.event.phase === "ready")?.at;
  }

  get ready(): boolean {
    return this.readyAt !== undefined;
  }

  /** The phases so far; `now` closes the current one (ignored once ready). */
  report(now: number): StartupReport {
    const marks = this.used();
    const end = marks.find((m) => m.event.phase === "ready")?.at ?? now;
    type Span = { phase: StartupPhase; from: number; detail?: string; progress?: string };
    const spans: Span[] = [];
    const started = this.startedAt;
    const pre = marks.filter(
      (m) => (started === undefined || m.at < started) && rank(m.event.phase) < rank("starting"),
    );
    const firstAt = Math.min(started ?? end, ...pre.map((m) => m.at));
    const enter = (phase: StartupPhase, at: number) => {
      const cur = spans.at(-1);
      if (cur?.phase === phase) return cur;
      const s: Span = { phase, from: at };
      spans.push(s);
      return s;
    };
    const apply = (m: Mark) => {
      if (m.at > end) return;
      const cur = spans.at(-1);
      // once the weights load, nothing goes back to downloading or starting (late config fetches)
      if (cur && rank(cur.phase) >= rank("loading") && rank(m.event.phase) < rank("loading")) return;
      if (cur?.phase === "ready") return;
      const s = enter(m.event.phase, Math.max(m.at, cur?.from ?? m.at));
      if (m.event.detail) s.detail = m.event.detail;
      if (m.event.progress) s.progress = m.event.progress;
      if (m.event.then && m.event.then !== m.event.phase) enter(m.event.then, m.at);
    };
    for (const m of pre) apply(m);
    if (started !== undefined) {
      enter("starting", Math.max(started, spans.at(-1)?.from ?? started));
      for (const m of marks.filter((x) => !pre.includes(x))) apply(m);
    }
    if (!spans.length) enter("starting", end);
    const totals = new Map<StartupPhase, { seconds: number; detail: string | null }>();
    spans.forEach((s, i) => {
      const to = s.phase === "ready" ? s.from : (spans[i + 1]?.from ?? end);
      const t = totals.get(s.phase) ?? { seconds: 0, detail: null };
      t.seconds += Math.max(0, to - s.from) / 1000;
      if (s.detail) t.detail = s.detail;
      totals.set(s.phase, t);
    });
    const current = spans.at(-1)!;
    const round = (x: number) => Math.round(x * 10) / 10;
    return {
      phase: current.phase,
      elapsedSeconds: round((end - firstAt) / 1000),
      phases: [...totals].map(([phase, t]) => ({ phase, seconds: round(t.seconds), detail: t.detail })),
      progress: current.phase === "ready" ? null : (current.progress ?? null),
    };
  }
}

/**
 * "loading (12 s)", "downloading 3/6 files (40 s)": the current phase with the time spent in it, the
 * seconds rounded down to `step` (progress lines without a terminal print only when the text changes).
 */
export function describeCurrent(r: StartupReport, step = 1): string {
  const cur = r.phases.find((p) => p.phase === r.phase);
  const secs = Math.floor((cur?.seconds ?? 0) / step) * step;
  return `${r.phase}${r.progress ? ` ${r.progress}` : ""} (${secs} s)`;
}

/** "pulling 3.1 s, starting 18.8 s, loading 0.2 s (weights in 0.04 s), initializing 4.7 s, ready at 31 s" */
export function describePhases(r: StartupReport): string {
  const parts = r.phases
    .filter((p) => p.phase !== "ready")
    .map((p) => `${p.phase} ${p.seconds.toFixed(1)} s${p.detail ? ` (${p.detail})` : ""}`);
  if (r.phase === "ready") parts.push(`ready at ${r.elapsedSeconds.toFixed(1)} s`);
  return parts.join(", ");
}

/**
 * When to show a start's progress: on a terminal, every time; without one (CI logs), when the phase or
 * its progress changes and otherwise every 30 s, so a long load prints a line now and then, not one a second.
 */
export class ProgressGate {
  private key = "";
  private at = 0;
  constructor(private readonly interactive: boolean) {}

  pass(r: StartupReport, now: number): boolean {
    if (r.phase === "ready") return false;
    const key = `${r.phase} ${r.progress ?? ""}`;
    if (!this.interactive && key === this.key && now - this.at < 30_000) return false;
    this.key = key;
    this.at = now;
    return true;
  }
}
