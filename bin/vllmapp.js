#!/usr/bin/env node
import { main } from "../dist/cli.js";

let interrupted = false;
process.on("SIGINT", () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  process.emit("vllmapp:interrupt");
  setTimeout(() => process.exit(130), 2000).unref();
});
process.exitCode = await main(process.argv);
