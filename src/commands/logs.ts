/** `vllmapp logs [APP]`: flags → the apps → target.logs, each line to stdout (`[replica] line`, or NDJSON). */
import { once } from "node:events";
import { Command } from "commander";
import * as z from "zod/mini";
import type { LogLine } from "../target.js";
import {
  addCommonOptions,
  connectionShape,
  converted,
  countFlag,
  durationFlag,
  fileShape,
  outputOf,
  outputShape,
  parseOptions,
  targetOf,
  targetShape,
  uiFor,
} from "./options.js";

export const logsOptionsSchema = converted(
  z.object({
    ...fileShape,
    ...targetShape,
    ...connectionShape,
    ...outputShape,
    appName: z.optional(z.string()),
    follow: z._default(z.boolean(), false),
    tail: countFlag("--tail"),
    since: durationFlag("--since", "30s, 10m, 2h"),
    replica: z.optional(z.string()),
    previous: z._default(z.boolean(), false),
    timestamps: z._default(z.boolean(), false),
  }),
  (o) => ({ ...o, target: targetOf(o), sinceSeconds: o.since, ...outputOf(o, ["text", "json"]) }),
);

export type LogsOptions = z.output<typeof logsOptionsSchema>;

export function formatLogLine(l: LogLine, opts: Pick<LogsOptions, "json" | "target">): string {
  if (opts.json) return JSON.stringify(l);
  const text = l.time === undefined ? l.line : `${l.time} ${l.line}`;
  // Docker has one replica per app: its lines are the container's own
  return opts.target === "docker" ? text : `[${l.replica}] ${text}`;
}

/** Set while stdout is full: every replica's stream waits for the same "drain". */
let drained: Promise<void> | undefined;

/**
 * Write to stdout, waiting when it is full, so a long log streams instead of piling up in memory. The
 * replicas' streams share one wait (a listener each would be 20 "drain" listeners for 20 replicas, and
 * Node's "possible EventEmitter memory leak" warning on stderr).
 */
async function writeOut(text: string): Promise<void> {
  while (drained) await drained;
  if (!process.stdout.write(`${text}\n`)) {
    drained ??= once(process.stdout, "drain").then(() => {
      drained = undefined;
    });
    await drained;
  }
}

export async function runLogs(opts: LogsOptions): Promise<void> {
  const ui = uiFor(opts);
  const [{ loadTarget }, { appRefs }, { fsLoadDeps }] = await Promise.all([
    import("./load-target.js"),
    import("../app/select.js"),
    import("../app/node-io.js"),
  ]);
  const apps = appRefs(opts, fsLoadDeps(), "logs");
  const session = await (await loadTarget(opts.target)).connect(opts);
  const req = {
    follow: opts.follow,
    tail: opts.tail,
    sinceSeconds: opts.sinceSeconds,
    replica: opts.replica,
    previous: opts.previous,
    timestamps: opts.timestamps,
  };
  await session.logs(apps, req, ui, (l) => writeOut(formatLogLine(l, opts)));
}

export function logsCommand(): Command {
  const cmd = new Command("logs")
    .description("stream the server's logs: every replica, prefixed by replica")
    .argument("[app]", "app name (default: the app of the file)")
    .option("-f, --follow", "keep streaming, including replicas started later (the app file is --file here)")
    .option("--tail <n>", "lines from the end of each replica's log")
    .option("--since <duration>", "only lines newer than this (10m, 1h)")
    .option("--replica <name>", "only this replica (pod or container name)")
    .option("-p, --previous", "the previous (crashed) container's log")
    .option("--timestamps", "prefix each line with its timestamp");
  addCommonOptions(cmd, { render: false, fileShort: false });
  cmd.addHelpText(
    "after",
    `
Examples:
  $ vllmapp logs -f                                  # follow, as kubectl logs -f
  $ vllmapp logs qwen3 --tail 100 --since 10m
  $ vllmapp logs --previous                          # why did it crash?
  $ vllmapp logs --local --json | jq .line`,
  );
  cmd.action(async (appName: string | undefined, raw) => {
    await runLogs(parseOptions(logsOptionsSchema, { ...raw, appName }));
  });
  return cmd;
}
