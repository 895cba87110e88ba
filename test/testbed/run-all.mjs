#!/usr/bin/env node
// npm test (and so .ci/run): build the CLI bundle, bring the test bed up, run every
// *.test.ts under test/{unit,golden,e2e,integration,testbed} with node:test + tsx
// (one file at a time) with the test bed's environment on Node.js 24 and, at the same time,
// the unit, golden and e2e files again on Node.js 22 (the supported lines, test/testbed/node-lines.mjs:
// provisioned from the npm registry into the test bed's cache, in parallel with the
// bring-up, when the machine's node is another version), then ALWAYS tear the test
// bed down. The Node.js 24 pass writes to our stdout as it goes; the Node.js 22 pass to a file
// that is printed whole once both passes ended (or on a signal), so the two reporters never
// interleave. Exits with the first failing pass's exit code (Node.js 24's, then Node.js 22's);
// any provisioning failure is fatal. A signal stops both passes.
//
// Environment knobs:
//   VLLMAPP_TESTBED_KEEP=1   keep the work dir (logs, state) after teardown
//   VLLMAPP_TEST_FILES="a.test.ts b.test.ts"  run only these files (still with the test bed)
//   VLLMAPP_TEST_TIMEOUT_MS=N  passed as --test-timeout=N (per test; default 600000)
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startTestbed, stopTestbed, REPO_ROOT, log, dumpLogs } from "./lib.mjs";
import { MAIN_LINE, nodeForLine } from "./node-lines.mjs";

const TEST_DIRS = ["test/unit", "test/golden", "test/e2e", "test/integration", "test/testbed"];
/** The older supported line runs the tests that need no test bed. */
const OLDER_LINE = 22;
const OLDER_LINE_DIRS = ["test/unit/", "test/golden/", "test/e2e/"];

function findTests() {
  if (process.env.VLLMAPP_TEST_FILES) return process.env.VLLMAPP_TEST_FILES.split(/\s+/).filter(Boolean);
  /** @type {string[]} */
  const out = [];
  /** @param {string} dir */
  const walk = (dir) => {
    let entries;
    try {
      entries = fs.readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const rel = path.posix.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== "node_modules" && !e.name.startsWith(".")) walk(rel);
      } else if (e.isFile() && e.name.endsWith(".test.ts")) out.push(rel);
    }
  };
  TEST_DIRS.forEach(walk);
  return out.sort();
}

/** The running test passes (each in a process group of its own). */
/** @type {Set<import("node:child_process").ChildProcess>} */
const children = new Set();
/** The Node.js 22 pass's output file while it is not yet printed. */
/** @type {string | null} */
let olderOutput = null;
/** @type {Awaited<ReturnType<typeof startTestbed>> | null} */
let testbed = null;
/** @type {Promise<boolean> | null} */
let stopping = null;
/** @type {ReturnType<typeof startTestbed> | null} */
let bringUp = null; // the startTestbed promise while the test bed is coming up
/** @type {NodeJS.Signals | null} */
let signalled = null; // the signal that stops the run: nothing new is started after it
const bringUpAbort = new AbortController();

function teardown() {
  if (!stopping) {
    stopping = (async () => {
      if (!testbed) return true;
      const t = Date.now();
      try {
        await stopTestbed(testbed.state);
        log(`test bed torn down in ${((Date.now() - t) / 1000).toFixed(1)}s`);
        return true;
      } catch (e) {
        process.stderr.write(`run-all: TEARDOWN FAILED: ${/** @type {Error} */ (e).message}\n`);
        return false;
      }
    })();
  }
  return stopping;
}

for (const sig of /** @type {const} */ (["SIGINT", "SIGTERM", "SIGHUP"])) {
  process.on(sig, async () => {
    if (signalled) return;
    signalled = sig;
    process.stderr.write(`\nrun-all: got ${sig}; stopping tests and tearing the test bed down\n`);
    await Promise.all(
      [...children].map(async (c) => {
        const pid = /** @type {number} */ (c.pid);
        killGroup(pid, "SIGTERM");
        // give the tests 10 s to stop, then kill what is left of their process group
        await Promise.race([new Promise((r) => c.once("close", r)), new Promise((r) => setTimeout(r, 10_000))]);
        killGroup(pid, "SIGKILL");
      }),
    );
    printOlderOutput();
    if (bringUp && !testbed) {
      // interrupted during bring-up: startTestbed stops what it started, then rejects
      bringUpAbort.abort();
      await bringUp.catch(() => {});
    }
    await teardown();
    process.exit(128 + (os.constants.signals[sig] || 1));
  });
}

/** @param {number} pid @param {NodeJS.Signals} sig */
function killGroup(pid, sig) {
  try {
    process.kill(-pid, sig);
  } catch {}
}

/**
 * Run a command in a process group of its own (so a signal to us, or a test's stray child such as
 * a CLI left following logs, can be stopped as a group), with our stdio. After it exits, whatever is
 * left in its group is killed. `outFile`: its stdout and stderr go to that file instead.
 * @param {string} cmd @param {string[]} args @param {NodeJS.ProcessEnv} env @param {string} [outFile]
 * @returns {Promise<number>}
 */
function runInherit(cmd, args, env, outFile) {
  return new Promise((resolve) => {
    // after a signal, no next step starts (the Node.js 22 pass once started while the test bed was torn down)
    if (signalled) return resolve(128 + (os.constants.signals[signalled] || 1));
    const fd = outFile ? fs.openSync(outFile, "w") : null;
    /** @type {import("node:child_process").StdioOptions} */
    const stdio = fd === null ? "inherit" : ["ignore", fd, fd];
    const child = spawn(cmd, args, { cwd: REPO_ROOT, env, stdio, detached: true });
    if (fd !== null) fs.closeSync(fd);
    children.add(child);
    const pid = child.pid;
    child.on("error", (e) => {
      children.delete(child);
      process.stderr.write(`run-all: cannot run ${cmd}: ${e.message}\n`);
      resolve(127);
    });
    child.on("close", (code, signal) => {
      children.delete(child);
      if (pid) killGroup(pid, "SIGKILL");
      resolve(code ?? 128 + (os.constants.signals[/** @type {NodeJS.Signals} */ (signal)] || 1));
    });
  });
}

/** Print the Node.js 22 pass's output (once, whole). */
function printOlderOutput() {
  if (!olderOutput) return;
  const file = olderOutput;
  olderOutput = null;
  let text = "";
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return;
  }
  process.stdout.write(`\n===== the Node.js ${OLDER_LINE} pass's output =====\n${text}`);
  process.stdout.write(`===== end of the Node.js ${OLDER_LINE} pass's output =====\n`);
}

async function main() {
  const files = findTests();
  if (files.length === 0) {
    process.stderr.write(`run-all: no *.test.ts files under ${TEST_DIRS.join(", ")}\n`);
    return 1;
  }

  // the Node.js binaries download while the CLI builds and the test bed comes up
  const nodes = Promise.all([nodeForLine(MAIN_LINE), nodeForLine(OLDER_LINE)]);
  nodes.catch(() => {}); // awaited below; a failure is reported there

  log("npm run build");
  const buildCode = await runInherit("npm", ["run", "build"], process.env);
  if (buildCode !== 0) {
    process.stderr.write(`run-all: npm run build failed (exit ${buildCode})\n`);
    return buildCode;
  }

  // A work dir of its own, so a test bed left running by `npm run testbed:up` is not touched.
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "vllmapp-testbed-run-"));
  const t = Date.now();
  try {
    bringUp = startTestbed({ workDir, signal: bringUpAbort.signal });
    testbed = await bringUp;
  } catch (e) {
    const err = /** @type {Error} */ (e);
    process.stderr.write(`run-all: the test bed could not be brought up:\n${err.stack || err.message}\n`);
    return 1;
  }
  const upSeconds = ((Date.now() - t) / 1000).toFixed(1);
  process.stderr.write(`run-all: test bed bring-up took ${upSeconds}s\n`);
  for (const [k, v] of Object.entries(testbed.env)) process.stderr.write(`  ${k}=${v}\n`);

  let mainNode, olderNode;
  try {
    [mainNode, olderNode] = await nodes;
  } catch (e) {
    const err = /** @type {Error} */ (e);
    process.stderr.write(`run-all: the Node.js binaries could not be provisioned:\n${err.stack || err.message}\n`);
    return 1;
  }

  const env = { ...process.env, ...testbed.env };
  let PATH = process.env.PATH || "";
  if (testbed.env.VLLMAPP_TEST_KUBECTL) PATH = `${path.dirname(testbed.env.VLLMAPP_TEST_KUBECTL)}:${PATH}`;
  // a hung test fails after 10 minutes instead of holding CI until its own limit
  const timeout = [`--test-timeout=${process.env.VLLMAPP_TEST_TIMEOUT_MS || 600_000}`];
  // `node` on PATH is the pass's node too, for what the tests start by name (npx, #!/usr/bin/env node)
  /** @param {string} node @param {string[]} list @param {string} [outFile] */
  const pass = (node, list, outFile) =>
    runInherit(
      node,
      ["--import", "tsx", "--test", "--test-concurrency=1", ...timeout, ...list],
      { ...env, PATH: `${path.dirname(node)}:${PATH}` },
      outFile,
    );

  // both passes at once: the Node.js 22 one (no test bed needed, every file in temp dirs of its own) to a file
  const older = files.filter((f) => OLDER_LINE_DIRS.some((d) => f.startsWith(d)));
  const t0 = Date.now();
  let olderCode = 0;
  /** @type {Promise<number>} */
  let olderPass = Promise.resolve(0);
  if (older.length > 0) {
    olderOutput = path.join(workDir, `node${OLDER_LINE}-pass.log`);
    log(
      `running ${older.length} unit, golden and e2e test file(s) on Node.js ${OLDER_LINE} (${olderNode}) alongside, its output to ${olderOutput} (printed when both passes end)`,
    );
    olderPass = pass(olderNode, older, olderOutput).then((c) => {
      log(`the Node.js ${OLDER_LINE} pass exited with ${c} after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      return c;
    });
  }
  log(`running ${files.length} test file(s) on Node.js ${MAIN_LINE} (${mainNode})`);
  const code = await pass(mainNode, files);
  olderCode = await olderPass;
  printOlderOutput();
  if ((code !== 0 || olderCode !== 0) && process.env.VLLMAPP_TESTBED_DUMP_LOGS) dumpLogs(workDir);
  process.stderr.write(
    `run-all: tests exited with ${code} on Node.js ${MAIN_LINE}, ${olderCode} on Node.js ${OLDER_LINE}; test bed bring-up took ${upSeconds}s\n`,
  );
  // interrupted: the signal's exit code, whatever the killed tests returned
  if (signalled) return 128 + (os.constants.signals[signalled] || 1);
  return code || olderCode;
}

let code = 1;
try {
  code = await main();
} catch (e) {
  const err = /** @type {Error} */ (e);
  process.stderr.write(`run-all: ${err.stack || err.message}\n`);
  code = 1;
} finally {
  const ok = await teardown();
  if (!ok && code === 0) code = 1;
}
process.exit(code);
