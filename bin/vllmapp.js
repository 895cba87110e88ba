#!/usr/bin/env node
import module from "node:module";

// Node.js 22+ keeps the V8 code of dist/ in its compile cache (the OS's temporary folder, or
// $NODE_COMPILE_CACHE): later runs skip compiling the bundle. Enabled before the bundle loads.
module.enableCompileCache?.();
const { main } = await import("../dist/cli.js");

// `vllmapp logs | head`: the reader went away; stop quietly instead of crashing on EPIPE
process.stdout.on("error", (e) => {
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
  process.emit("vllmapp:interrupt");
  setTimeout(() => process.exit(130), 15_000).unref();
});
process.exitCode = await main(process.argv);
