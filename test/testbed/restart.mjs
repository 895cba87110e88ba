#!/usr/bin/env node
// Restart the test bed's kube-apiserver, as a control-plane restart or upgrade would (same ports, same
// etcd): node test/testbed/restart.mjs [--kill] [--down SECONDS]
//   --kill          SIGKILL (open connections are reset) instead of SIGTERM (a graceful shutdown)
//   --down SECONDS  stay down this long before starting again (default 0)
// The test bed is the one at $VLLMAPP_TESTBED_DIR (printed by npm run testbed:up and by npm test).
import { parseArgs } from 'node:util';
import { DEFAULT_WORK_DIR, restartProcess, log } from './lib.mjs';

const { values } = parseArgs({ options: { kill: { type: 'boolean', default: false }, down: { type: 'string', default: '0' } } });
const downMs = Number(values.down) * 1000;
if (!Number.isFinite(downMs) || downMs < 0) {
  process.stderr.write(`restart: --down takes a number of seconds, not ${values.down}\n`);
  process.exit(2);
}
try {
  const r = await restartProcess(DEFAULT_WORK_DIR, 'kube-apiserver', { signal: values.kill ? 'SIGKILL' : 'SIGTERM', downMs });
  log(`kube-apiserver restarted (pid ${r.pid}): stopped in ${r.stoppedSeconds.toFixed(1)} s, unavailable for ${r.downSeconds.toFixed(1)} s`);
} catch (e) {
  process.stderr.write(`restart: ${e.message}\n`);
  process.exit(1);
}
