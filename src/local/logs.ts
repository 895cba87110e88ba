/** logs --local: `docker logs` of the app's container, streamed line by line to the command. */
import { DockerError, InterruptedError, UsageError } from "../errors.js";
import { listenForInterrupt, stopListeningForInterrupt } from "../interrupt.js";
import { logLine, type AppRef, type LogLine, type LogsRequest } from "../target.js";
import type { Ui } from "../ui/output.js";
import { dockerStream, findContainers, LABEL, nameOf } from "./docker.js";

export async function logsLocal(
  apps: readonly AppRef[],
  req: LogsRequest,
  ui: Ui,
  write: (l: LogLine) => Promise<void>,
): Promise<void> {
  if (apps.length > 1)
    throw new UsageError(
      `the file has ${apps.length} apps: ${apps.map((a) => a.name).join(", ")}`,
      "name one: vllmapp logs --local APP",
    );
  const name = apps[0]!.name;
  const [c] = await findContainers(`${LABEL}=${name}`);
  if (!c)
    throw new UsageError(
      `app ${name} has no container on this Docker engine`,
      "deploy it with vllmapp deploy --local; vllmapp list --local shows what runs",
    );
  const container = nameOf(c);
  if (req.replica && req.replica !== container)
    throw new UsageError(`app ${name} has one replica, ${container}; there is no ${req.replica}`);
  if (req.previous) ui.note(`Docker keeps one container per app: this is ${container}'s log, including a crash`);
  const args = ["logs"];
  if (req.follow) args.push("--follow");
  if (req.tail !== undefined) args.push("--tail", String(req.tail));
  // docker logs --since takes Go durations or timestamps: seconds are both
  if (req.sinceSeconds !== undefined) args.push("--since", `${Math.round(req.sinceSeconds)}s`);
  if (req.timestamps) args.push("--timestamps");
  const p = dockerStream([...args, c.Id]);
  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
    p.kill();
  };
  listenForInterrupt(onInterrupt);
  try {
    for await (const line of p.iterable({ from: "all" })) await write(logLine(container, line, req.timestamps));
  } finally {
    stopListeningForInterrupt(onInterrupt);
  }
  const r = await p;
  if (interrupted) throw new InterruptedError("interrupted: stopped streaming logs");
  if (r.exitCode !== 0) throw new DockerError(`docker logs ${container} failed with exit code ${r.exitCode}`);
}
