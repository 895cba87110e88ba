#!/usr/bin/env node
// @ts-check
// Restart a part of the running test bed, as an operator or an upgrade would (same ports, same data):
//   node test/testbed/restart.mjs [kube-apiserver|dockerd] [--kill] [--down SECONDS]
//   kube-apiserver  (the default) the control plane's API server, on the same etcd
//   dockerd         the test bed's own Docker engine (it stops its containers first)
//   --kill          SIGKILL (open connections are reset) instead of SIGTERM; kube-apiserver only
//   --down SECONDS  stay down this long before starting again (default 0)
// The test bed is the one at $VLLMAPP_TESTBED_DIR (printed by npm run testbed:up and by npm test).
import { parseArgs } from "node:util";
import { DEFAULT_WORK_DIR, restartProcess, log } from "./lib.mjs";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { kill: { type: "boolean", default: false }, down: { type: "string", default: "0" } },
});
const name = positionals[0] ?? "kube-apiserver";
const downMs = Number(values.down) * 1000;
if (!Number.isFinite(downMs) || downMs < 0 || positionals.length > 1) {
  process.stderr.write("usage: node test/testbed/restart.mjs [kube-apiserver|dockerd] [--kill] [--down SECONDS]\n");
  process.exit(2);
}
try {
  const r = await restartProcess(DEFAULT_WORK_DIR, name, { signal: values.kill ? "SIGKILL" : "SIGTERM", downMs });
  log(
    `${name} restarted (pid ${r.pid}): stopped in ${r.stoppedSeconds.toFixed(1)} s, unavailable for ${r.downSeconds.toFixed(1)} s`,
  );
} catch (e) {
  process.stderr.write(`restart: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
