/**
 * vllmapp as a process: what bin/vllmapp.js (the npm package) and src/sea.ts (the single executable) run.
 * The process-wide handlers live here, once; main() (cli.ts) never exits.
 */
import { main } from "./cli.js";

export async function runProcess(argv: string[]): Promise<void> {
  // `vllmapp logs | head`: the reader went away; stop quietly instead of crashing on EPIPE
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
  // Ctrl-C: a command that is in a phase it can stop cleanly listens for "vllmapp:interrupt", finishes
  // what must not be left half-done (an app's apply) and says where it stopped; anything else stops at
  // once. A second Ctrl-C always stops at once.
  let interrupted = false;
  process.on("SIGINT", () => {
    if (interrupted || process.listenerCount("vllmapp:interrupt") === 0) {
      if (!interrupted) process.stderr.write("interrupted\n");
      process.exit(130);
    }
    interrupted = true;
    (process.emit as (event: string) => boolean)("vllmapp:interrupt");
    setTimeout(() => process.exit(130), 15_000).unref();
  });
  process.exitCode = await main(argv);
}
