#!/usr/bin/env node
// @ts-check
// npm run testbed:down — stop exactly what testbed:up started (pids from the state file,
// containers labelled vllmapp.app or vllmapp-testbed, the dockerd it started) and remove its work dir.
import fs from "node:fs";
import { stopTestbed, readState, DEFAULT_WORK_DIR, log } from "./lib.mjs";

const state = readState(DEFAULT_WORK_DIR);
if (!state) {
  log(`no test bed state in ${DEFAULT_WORK_DIR}; nothing to stop`);
  if (fs.existsSync(DEFAULT_WORK_DIR)) fs.rmSync(DEFAULT_WORK_DIR, { recursive: true, force: true });
  process.exit(0);
}
try {
  await stopTestbed(state);
  log("test bed stopped");
} catch (e) {
  process.stderr.write(`testbed:down: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
