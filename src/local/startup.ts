/**
 * A container's start, phase by phase (src/startup/phases.ts): its log with timestamps, read as it comes
 * while deploy waits, or read once for `status` (up to the ready line, so a long-running server's
 * access log is not read through).
 */
import { createInterface } from "node:readline";
import { splitTimestamp, StartupTracker, type StartupReport } from "../startup/phases.js";
import { dockerStream, nameOf, type ContainerInfo } from "./docker.js";

const ZERO_TIME = "0001-01-01T00:00:00Z";

function timeOf(s: string | undefined): number | undefined {
  if (!s || s.startsWith("0001-")) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

/** Follow `docker logs -f -t` into the tracker; `onLine` after each line that said something. Stop with stop(). */
export function followStartup(container: string, tracker: StartupTracker, onLine: () => void): { stop(): void } {
  const p = dockerStream(["logs", "--follow", "--timestamps", container]);
  void (async () => {
    for await (const line of p.iterable({ from: "all" })) if (tracker.rawLine(String(line), Date.now())) onLine();
  })().catch(() => {});
  void p.catch(() => {});
  return { stop: () => void p.kill() };
}

/**
 * The start of a container so far (or how the one that stopped got on), from its log; null if it never
 * started. docker logs writes the container's stdout and stderr to two pipes, so each is read in order
 * until it passes the ready line's time; then the rest of the log (requests) is left unread.
 */
export async function readStartup(c: ContainerInfo): Promise<StartupReport | null> {
  const started = timeOf(c.State.StartedAt);
  if (started === undefined) return null;
  const tracker = new StartupTracker(started);
  const p = dockerStream(["logs", "--timestamps", nameOf(c)]);
  let readyAt: number | undefined;
  let lastAt = started;
  const done = [false, false];
  const read = async (stream: NodeJS.ReadableStream | null, i: number) => {
    if (!stream) return;
    for await (const raw of createInterface({ input: stream, crlfDelay: Infinity })) {
      if (done[i]) continue; // drained, so the other pipe never blocks behind this one
      const at = splitTimestamp(raw)?.[0];
      if (at !== undefined && at > lastAt) lastAt = at;
      if (readyAt !== undefined && at !== undefined && at > readyAt) {
        done[i] = true;
        if (done.every(Boolean)) p.kill();
        continue;
      }
      tracker.rawLine(raw, Date.now());
      if (tracker.ready && readyAt === undefined) readyAt = at ?? Date.now();
    }
    done[i] = true;
    if (done.every(Boolean)) p.kill();
  };
  await Promise.all([read(p.stdout, 0), read(p.stderr, 1)]);
  p.kill();
  await p.catch(() => {});
  // docker stamps a line when it reads it, which can be just after the process ended
  const end = c.State.Running ? Date.now() : Math.max(lastAt, timeOf(c.State.FinishedAt ?? ZERO_TIME) ?? lastAt);
  return tracker.report(end);
}
