// One way to run each extra test-bed server, two ways to start it:
//   start({workDir, podHost?})  standalone (integration tests that run without `npm run testbed:up`): returns {env, stop()}
//   service           an entry for test/testbed/services.mjs: {name, start(ctx, svcState)} (ctx.spawn records
//                     the process in the test bed's state, so `npm run testbed:down` stops it)
// `command(port, workDir, {podHost})` provisions what it needs and returns {bin, args, env?, health, exports,
// podExports?(url), listensOnPodHost?}.
// Every server listens on 127.0.0.1; with a pod host (ctx.podHost, the real node's pod bridge address, or
// `podHost` given to start()) it is also reachable on podHost at the same port: by itself when it says
// `listensOnPodHost`, else through forward.mjs (a second recorded process, `<name>-pod`). Then the env also
// gets podExports(`http://<podHost>:<port>`), e.g. POD_AWS_ENDPOINT_URL. Never 0.0.0.0.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { cacheRoot, freePort, run, waitFor } from "../lib.mjs";

/**
 * What `command` returns: how to run the server and what it exports (K: those names; P: the pod host's).
 * @template {string} K
 * @template {string} P
 * @typedef {object} ServerCommand
 * @property {string} bin
 * @property {string[]} args
 * @property {NodeJS.ProcessEnv} [env]
 * @property {string} health  a URL that answers 200 once the server is up
 * @property {Record<K, string>} exports
 * @property {(podUrl: string) => Record<P, string>} [podExports]
 * @property {boolean} [listensOnPodHost]
 */
/** @typedef {import("../services.mjs").Service} Service */

const FORWARD = path.join(path.dirname(fileURLToPath(import.meta.url)), "forward.mjs");
/** @param {string} health @param {string} podHost */
const podUrlOf = (health, podHost) => {
  const u = new URL(health);
  u.hostname = podHost;
  return u;
};

/** @param {string} workDir @param {string} logName @param {string} bin @param {string[]} args @param {NodeJS.ProcessEnv} [env] */
function spawnLogged(workDir, logName, bin, args, env) {
  const logFile = path.join(workDir, `${logName}.log`);
  const fd = fs.openSync(logFile, "a");
  const child = spawn(bin, args, {
    env: { ...process.env, ...env },
    cwd: workDir,
    stdio: ["ignore", fd, fd],
    detached: true,
  });
  fs.closeSync(fd);
  let exited = false;
  child.on("exit", () => (exited = true));
  const stop = async () => {
    if (exited) return;
    const gone = new Promise((r) => child.once("exit", r));
    const pgid = -(/** @type {number} */ (child.pid)); // set: spawn succeeded, or it threw
    process.kill(pgid, "SIGTERM");
    const t = setTimeout(() => !exited && process.kill(pgid, "SIGKILL"), 10_000);
    await gone;
    clearTimeout(t);
  };
  return { logFile, stop, alive: () => !exited };
}

/**
 * @template {string} K
 * @template {string} [P=never]
 * @param {string} name
 * @param {(port: number, workDir: string, opts: { podHost?: string }) => Promise<ServerCommand<K, P>>} command
 */
export function defineServer(name, command) {
  /**
   * @param {{ workDir: string, podHost?: string }} opts
   * @returns {Promise<{ env: Record<K, string> & Partial<Record<P, string>>, stop: () => Promise<void> }>}
   */
  async function start({ workDir, podHost }) {
    fs.mkdirSync(workDir, { recursive: true });
    const port = await freePort();
    const extra = podHost && podHost !== "127.0.0.1" ? podHost : undefined;
    const c = await command(port, workDir, { podHost: extra });
    const first = spawnLogged(workDir, name, c.bin, c.args, c.env);
    const procs = [first];
    const stop = async () => {
      for (const p of procs.reverse()) await p.stop();
    };
    try {
      await waitFor(name, async () => (await fetch(c.health)).ok, {
        timeoutMs: 120_000,
        logFile: first.logFile,
        isAlive: first.alive,
      });
      const env = /** @type {Record<K, string> & Partial<Record<P, string>>} */ ({ ...c.exports });
      if (extra) {
        if (!c.listensOnPodHost)
          procs.push(
            spawnLogged(workDir, `${name}-pod`, process.execPath, [FORWARD, extra, String(port), String(port)], {}),
          );
        const p = /** @type {typeof first} */ (procs[procs.length - 1]);
        await waitFor(`${name} on ${extra}`, async () => (await fetch(podUrlOf(c.health, extra))).ok, {
          timeoutMs: 30_000,
          logFile: p.logFile,
          isAlive: p.alive,
        });
        Object.assign(env, c.podExports?.(`http://${extra}:${port}`));
      }
      return { env, stop };
    } catch (e) {
      await stop();
      throw e;
    }
  }
  /** @type {Service} */
  const service = {
    name,
    async start(ctx) {
      const port = await ctx.freePort();
      const extra = ctx.podHost && ctx.podHost !== "127.0.0.1" ? ctx.podHost : undefined;
      const c = await command(port, ctx.workDir, { podHost: extra });
      const proc = ctx.spawn(name, c.bin, c.args, { env: { ...process.env, ...c.env } });
      await ctx.waitForHttp(name, c.health, { proc, timeoutMs: 120_000 });
      const env = { ...c.exports };
      if (extra) {
        const fwd = c.listensOnPodHost
          ? proc
          : ctx.spawn(`${name}-pod`, process.execPath, [FORWARD, extra, String(port), String(port)], {
              env: process.env,
            });
        await ctx.waitForHttp(`${name} on ${extra}`, podUrlOf(c.health, extra).toString(), {
          proc: fwd,
          timeoutMs: 30_000,
        });
        Object.assign(env, c.podExports?.(`http://${extra}:${port}`));
      }
      return env;
    },
  };
  return { start, service };
}

/**
 * The venv's interpreter under the name of the binary it links to (python3.11): the test bed compares
 * /proc/<pid>/exe with it before it signals a process, and started through the venv it runs in the venv.
 */
export function venvPython(/** @type {string} */ venv) {
  return path.join(venv, "bin", path.basename(fs.realpathSync(path.join(venv, "bin", "python3"))));
}

/**
 * A Python virtualenv in the test-bed cache with `requirement` installed (from PyPI), created when
 * missing. Concurrent callers wait for the one that installs.
 * @param {string} name @param {string} requirement
 */
export async function ensureVenv(name, requirement) {
  const dir = path.join(cacheRoot(), `venv-${name}`);
  const marker = path.join(dir, ".vllmapp-requirement");
  const ready = () => fs.existsSync(marker) && fs.readFileSync(marker, "utf8") === requirement;
  if (ready()) return dir;
  fs.mkdirSync(cacheRoot(), { recursive: true });
  const lock = `${dir}.lock`;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      await waitFor(`another process installing ${requirement}`, () => !fs.existsSync(lock) || ready(), {
        timeoutMs: 900_000,
        intervalMs: 1000,
      });
      if (ready()) return dir;
    }
  }
  try {
    if (!ready()) {
      fs.rmSync(dir, { recursive: true, force: true });
      process.stderr.write(`[testbed] installing ${requirement} into ${dir}\n`);
      await run("python3", ["-m", "venv", dir], { timeoutMs: 120_000 });
      await run(path.join(dir, "bin", "pip"), ["install", "--quiet", "--disable-pip-version-check", requirement], {
        timeoutMs: 900_000,
      });
      fs.writeFileSync(marker, requirement);
    }
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
  return dir;
}
