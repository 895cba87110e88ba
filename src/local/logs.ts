/** logs --local: `docker logs` of the app's container, streamed line by line (NDJSON with --json). */
import type { LogsOptions } from "../commands/target.js";
import { parseDuration } from "../config/units.js";
import { DockerError, InterruptedError, UsageError } from "../errors.js";
import type { Ui } from "../ui/output.js";
import { dockerStream, findContainers, LABEL, nameOf } from "./docker.js";
import { appNames } from "./status.js";

/** docker logs --since takes Go durations or timestamps; vllmapp's durations (1d, 1h30m) become seconds. */
function sinceArg(since: string): string {
  const s = parseDuration(since);
  return s === undefined ? since : `${Math.round(s)}s`;
}

function jsonLine(replica: string, line: string, timestamps: boolean): Record<string, string> {
  if (!timestamps) return { replica, line };
  const sp = line.indexOf(" ");
  return sp < 0 ? { replica, time: line, line: "" } : { replica, time: line.slice(0, sp), line: line.slice(sp + 1) };
}

export async function logsLocal(opts: LogsOptions, ui: Ui): Promise<void> {
  const names = appNames(opts, "logs");
  if (names.length > 1) throw new UsageError(`${opts.file} has ${names.length} apps: ${names.join(", ")}`, "name one: vllmapp logs --local APP");
  const name = names[0]!;
  const [c] = await findContainers(`${LABEL}=${name}`);
  if (!c) throw new UsageError(`app ${name} has no container on this Docker engine`, "deploy it with vllmapp deploy --local; vllmapp list --local shows what runs");
  const container = nameOf(c);
  if (opts.replica && opts.replica !== container) throw new UsageError(`app ${name} has one replica, ${container}; there is no ${opts.replica}`);
  if (opts.previous) ui.note(`Docker keeps one container per app: this is ${container}'s log, including a crash`);
  const args = ["logs"];
  if (opts.follow) args.push("--follow");
  if (opts.tail !== undefined) args.push("--tail", String(opts.tail));
  if (opts.since) args.push("--since", sinceArg(opts.since));
  if (opts.timestamps) args.push("--timestamps");
  const p = dockerStream([...args, c.Id]);
  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
    p.kill();
  };
  process.once("vllmapp:interrupt", onInterrupt);
  try {
    for await (const line of p.iterable({ from: "all" })) {
      process.stdout.write(`${opts.json ? JSON.stringify(jsonLine(container, line, Boolean(opts.timestamps))) : line}\n`);
    }
  } finally {
    process.off("vllmapp:interrupt", onInterrupt);
  }
  const r = await p;
  if (interrupted) throw new InterruptedError("interrupted: stopped streaming logs");
  if (r.exitCode !== 0) throw new DockerError(`docker logs ${container} failed with exit code ${r.exitCode}`);
}
