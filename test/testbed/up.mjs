#!/usr/bin/env node
// @ts-check
// npm run testbed:up — provision what is missing, start the test bed, leave it running.
// Progress goes to stderr; stdout gets one NAME=value line per variable to export, e.g.
//   eval "$(npm run -s testbed:up)"
// State (pids, ports, work dir): $VLLMAPP_TESTBED_DIR/state.json, default <repo>/.testbed/state.json.
import { startTestbed, formatEnv, DEFAULT_WORK_DIR, readState, stateIsLive, log } from "./lib.mjs";

const prev = readState(DEFAULT_WORK_DIR);
if (prev && stateIsLive(prev) && prev.ready) {
  log(`test bed already running (state: ${DEFAULT_WORK_DIR}/state.json); printing its environment`);
  process.stdout.write(formatEnv(prev.env) + "\n");
  process.exit(0);
}
const abort = new AbortController();
/** @type {ReturnType<typeof startTestbed> | null} */
let bringUp = null;
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, async () => {
    process.stderr.write(`\ntestbed:up: got ${sig}; stopping what was started\n`);
    abort.abort();
    await bringUp?.catch(() => {});
    process.exit(130);
  });
}
try {
  bringUp = startTestbed({ workDir: DEFAULT_WORK_DIR, signal: abort.signal });
  const tb = await bringUp;
  process.stdout.write(formatEnv(tb.env) + "\n");
  log("left running; stop it with: npm run testbed:down");
  process.exit(0);
} catch (e) {
  process.stderr.write(`testbed:up failed: ${e instanceof Error ? e.stack || e.message : String(e)}\n`);
  process.exit(1);
}
