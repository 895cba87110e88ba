#!/usr/bin/env node
import { main } from "../dist/cli.js";

// `vllmapp logs | head`: the reader went away; stop quietly instead of crashing on EPIPE
process.stdout.on("error", (e) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw e;
});
let interrupted = false;
process.on("SIGINT", () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  process.emit("vllmapp:interrupt");
  setTimeout(() => process.exit(130), 2000).unref();
});
process.exitCode = await main(process.argv);
