/**
 * Waiting for a started container: GET /health on the published loopback port (what a client would do),
 * raced against `docker wait`, which returns the moment the container exits; meanwhile its log tells
 * which phase of the start it is in (startup.ts), shown as progress and, once ready, phase by phase.
 */
import { request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { formatDuration } from "../config/units.js";
import { AppFailedError, DockerError, InterruptedError, ReadinessTimeoutError } from "../errors.js";
import { listenForInterrupt, stopListeningForInterrupt } from "../interrupt.js";
import {
  describeCurrent,
  describePhases,
  ProgressGate,
  StartupTracker,
  type StartupPhase,
  type StartupReport,
} from "../startup/phases.js";
import type { Spinner, Ui } from "../ui/output.js";
import { dockerOk, dockerStream, logTail, nameOf, type ContainerInfo } from "./docker.js";
import { followStartup } from "./startup.js";

/** 200 from GET http://127.0.0.1:PORT/health, within a second. */
export function isHealthy(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path: "/health", agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
    req.end();
  });
}

function indent(lines: readonly string[]): string {
  return lines.map((l) => `    ${l}`).join("\n");
}

/** Why the container stopped, as an AppFailedError with its last log lines. */
async function exitedError(app: string, info: ContainerInfo, startup: StartupReport): Promise<AppFailedError> {
  const container = nameOf(info);
  const state = info.State;
  const tail = await logTail(container);
  const logs = tail.length ? `\n  last log lines:\n${indent(tail)}` : "";
  if (state.OOMKilled) {
    return new AppFailedError(
      `${container} was OOM-killed before it became ready (while ${startup.phase})${logs}`,
      "it needs more memory than the machine gives it: lower --max-model-len or --gpu-memory-utilization in extra_args, or pick a smaller model",
    );
  }
  return new AppFailedError(
    `${container} exited with code ${state.ExitCode} before it became ready${state.Error ? ` (${state.Error})` : ""}${logs}`,
    `the whole log: vllmapp logs --local ${app} (it stopped while ${startup.phase})`,
  );
}

/** /health is polled this often: a server that comes up is seen within 0.1 s (a refused connect costs nothing) */
const POLL_MS = 100;

export interface WaitTarget {
  app: string;
  container: string;
  port: number;
  timeoutSeconds: number;
  /** when the container started (ms); default: now */
  startedAt?: number;
  /** what happened before the container started (the image pull, a model copy), for the phases */
  before?: { phase: StartupPhase; at: number }[];
}

/** How long the wait rides out a Docker engine that stopped answering (a restart of the engine). */
export const ENGINE_OUTAGE_SECONDS = 60;

async function engineAnswers(): Promise<boolean> {
  try {
    await dockerOk(["version", "--format", "{{.Server.Version}}"]);
    return true;
  } catch (e) {
    if (e instanceof DockerError) return false;
    throw e;
  }
}

/**
 * After `docker wait` ended: did the engine go away (a restart)? A container that stopped by a signal or
 * cleanly (143, 137 not OOM, or 0: a server's graceful exit on SIGTERM) may be the engine shutting down,
 * which stops its containers before it stops answering,
 * so the engine is watched for a few seconds then. If it is gone, it is waited for, up to
 * ENGINE_OUTAGE_SECONDS; true when it went away and came back.
 */
async function engineRestarted(t: WaitTarget, ui: Ui, stoppedBySignal: () => Promise<boolean>): Promise<boolean> {
  let down = !(await engineAnswers());
  for (let i = 0; !down && i < 30 && (await stoppedBySignal()); i++) {
    await sleep(100);
    down = !(await engineAnswers());
  }
  if (!down) return false;
  ui.warn(
    `the Docker engine stopped answering while ${t.app} was starting; waiting up to ${ENGINE_OUTAGE_SECONDS} s for it to come back`,
  );
  const since = Date.now();
  while (!(await engineAnswers())) {
    if (Date.now() - since > ENGINE_OUTAGE_SECONDS * 1000) {
      throw new DockerError(
        `the Docker engine went away while ${t.app} was starting and has not answered for ${ENGINE_OUTAGE_SECONDS} s`,
        `start it again (sudo systemctl start docker), then run vllmapp deploy --local again: it starts ${t.container} anew`,
      );
    }
    await sleep(500);
  }
  ui.info(`the Docker engine answers again (after ${((Date.now() - since) / 1000).toFixed(1)} s)`);
  return true;
}

async function inspect(container: string): Promise<ContainerInfo> {
  const [info] = JSON.parse(await dockerOk(["inspect", "--type", "container", container])) as ContainerInfo[];
  return info!;
}

/** What the rounds of one wait share: the target, the start-up tracker, the spinner and its update. */
interface Waiting {
  t: WaitTarget;
  ui: Ui;
  url: string;
  /** when the wait began (ms) */
  started: number;
  tracker: StartupTracker;
  spin: Spinner;
  /** the progress line, when the gate lets it through */
  update: () => void;
}

/** Ctrl-C during the wait: aborts the round under way, and a round that starts after it. */
class InterruptWatch {
  private interrupted = false;
  private round: AbortController | undefined;
  readonly onInterrupt = () => {
    this.interrupted = true;
    this.round?.abort("interrupted");
  };

  /** A new round's controller: aborted with "exited" when `docker wait` returns, "interrupted" on Ctrl-C. */
  startRound(): AbortController {
    const round = new AbortController();
    this.round = round;
    if (this.interrupted) round.abort("interrupted");
    return round;
  }
}

function interruptedError(t: WaitTarget): InterruptedError {
  return new InterruptedError(
    `interrupted: stopped waiting; ${t.container} goes on starting (vllmapp status --local ${t.app})`,
  );
}

/**
 * One round of the wait, while the container runs: /health polled, its log followed for the phase,
 * raced against `docker wait`. The start-up report once /health answers 200; undefined when the round
 * is aborted (the container exited, or Ctrl-C); a timeout error past the deadline.
 */
async function waitRound(w: Waiting, round: AbortController): Promise<StartupReport | undefined> {
  const { t, tracker, spin } = w;
  const logs = followStartup(t.container, tracker, w.update);
  const waiter = dockerStream(["wait", t.container]);
  void waiter.then(() => round.abort("exited"));
  try {
    while (!round.signal.aborted) {
      if (await isHealthy(t.port)) {
        tracker.mark("ready", Date.now());
        const report = tracker.report(Date.now());
        spin.succeed(
          `${t.app} is ready at http://127.0.0.1:${t.port} (${formatDuration(Math.round((Date.now() - w.started) / 1000))})`,
        );
        w.ui.info(`${t.app} startup: ${describePhases(report)}`);
        return report;
      }
      const elapsed = (Date.now() - w.started) / 1000;
      if (elapsed >= t.timeoutSeconds) {
        spin.stop();
        const tail = await logTail(t.container, 5);
        throw new ReadinessTimeoutError(
          `${t.container} did not answer ${w.url} with 200 within ${formatDuration(t.timeoutSeconds)}; it is still running, ${describeCurrent(tracker.report(Date.now()))}${tail.length ? `\n  last log lines:\n${indent(tail)}` : ""}`,
          `large models take long to download and load: raise --timeout (or startup_timeout), and follow it with vllmapp logs --local ${t.app} --follow`,
        );
      }
      w.update();
      await sleep(POLL_MS, undefined, { signal: round.signal }).catch(() => {});
    }
    return undefined;
  } finally {
    waiter.kill();
    logs.stop();
  }
}

/**
 * After `docker wait` returned: when the engine restarted and the container runs again (live-restore)
 * or can be started again, returns and the wait goes on; else throws why it ended: the container exited
 * (with its last log lines), or `docker wait` itself was stopped (Ctrl-C reaches it too).
 */
async function afterDockerWait(w: Waiting): Promise<void> {
  const { t, ui, spin } = w;
  const bySignal = async () => {
    const i = await inspect(t.container).catch(() => undefined);
    return !i || (!i.State.Running && !i.State.OOMKilled && [0, 137, 143].includes(i.State.ExitCode));
  };
  const restarted = await engineRestarted(t, ui, bySignal);
  const info = await inspect(t.container);
  if (info.State.Running) {
    if (restarted) return;
    spin.stop();
    throw interruptedError(t);
  }
  if (restarted && !info.State.OOMKilled) {
    ui.warn(`the Docker engine's restart stopped ${t.container} (exit code ${info.State.ExitCode}); starting it again`);
    await dockerOk(["start", t.container]);
    return;
  }
  spin.stop();
  throw await exitedError(t.app, info, w.tracker.report(Date.now()));
}

export async function waitUntilHealthy(t: WaitTarget, ui: Ui): Promise<StartupReport> {
  const url = `http://127.0.0.1:${t.port}/health`;
  const started = Date.now();
  const tracker = new StartupTracker(t.startedAt ?? started);
  for (const b of t.before ?? []) tracker.mark(b.phase, b.at);
  // without a TTY, a progress line when the phase changes and every 30 s, rather than every poll
  const gate = new ProgressGate(ui.interactive);
  const progress = (r: StartupReport) =>
    `${t.app}: ${describeCurrent(r)} — waiting for ${url}, ${formatDuration(Math.round(r.elapsedSeconds))} in all`;
  const spin = await ui.spinner(progress(tracker.report(Date.now())));
  const update = () => {
    const r = tracker.report(Date.now());
    if (gate.pass(r, Date.now())) spin.update(progress(r));
  };
  const w: Waiting = { t, ui, url, started, tracker, spin, update };
  const interrupts = new InterruptWatch();
  listenForInterrupt(interrupts.onInterrupt);
  try {
    for (;;) {
      const round = interrupts.startRound();
      const report = await waitRound(w, round);
      if (report) return report;
      if (round.signal.reason === "interrupted") {
        spin.stop();
        throw interruptedError(t);
      }
      await afterDockerWait(w);
    }
  } finally {
    stopListeningForInterrupt(interrupts.onInterrupt);
  }
}
