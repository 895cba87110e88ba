// One way to run each extra test-bed server, two ways to start it:
//   start({workDir})  standalone (integration tests that run without `npm run testbed:up`): returns {env, stop()}
//   service           an entry for test/testbed/services.mjs: {name, start(ctx, svcState)} (ctx.spawn records
//                     the process in the test bed's state, so `npm run testbed:down` stops it)
// `command(port, workDir)` provisions what it needs and returns {bin, args, env?, health, exports}.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cacheRoot, freePort, run, waitFor } from '../lib.mjs';

export function defineServer(name, command) {
  async function start({ workDir }) {
    fs.mkdirSync(workDir, { recursive: true });
    const port = await freePort();
    const c = await command(port, workDir);
    const logFile = path.join(workDir, `${name}.log`);
    const fd = fs.openSync(logFile, 'a');
    const child = spawn(c.bin, c.args, { env: { ...process.env, ...c.env }, cwd: workDir, stdio: ['ignore', fd, fd], detached: true });
    fs.closeSync(fd);
    let exited = false;
    child.on('exit', () => (exited = true));
    const stop = async () => {
      if (exited) return;
      const gone = new Promise((r) => child.once('exit', r));
      process.kill(-child.pid, 'SIGTERM');
      const t = setTimeout(() => !exited && process.kill(-child.pid, 'SIGKILL'), 10_000);
      await gone;
      clearTimeout(t);
    };
    try {
      await waitFor(name, async () => (await fetch(c.health)).ok, { timeoutMs: 120_000, logFile, isAlive: () => !exited });
    } catch (e) {
      await stop();
      throw e;
    }
    return { env: c.exports, stop };
  }
  const service = {
    name,
    async start(ctx) {
      const port = await ctx.freePort();
      const c = await command(port, ctx.workDir);
      const proc = ctx.spawn(name, c.bin, c.args, { env: { ...process.env, ...c.env } });
      await ctx.waitForHttp(name, c.health, { proc, timeoutMs: 120_000 });
      return c.exports;
    },
  };
  return { start, service };
}

/**
 * The venv's interpreter under the name of the binary it links to (python3.11): the test bed compares
 * /proc/<pid>/exe with it before it signals a process, and started through the venv it runs in the venv.
 */
export function venvPython(venv) {
  return path.join(venv, 'bin', path.basename(fs.realpathSync(path.join(venv, 'bin', 'python3'))));
}

/**
 * A Python virtualenv in the test-bed cache with `requirement` installed (from PyPI), created when
 * missing. Concurrent callers wait for the one that installs.
 */
export async function ensureVenv(name, requirement) {
  const dir = path.join(cacheRoot(), `venv-${name}`);
  const marker = path.join(dir, '.vllmapp-requirement');
  const ready = () => fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === requirement;
  if (ready()) return dir;
  fs.mkdirSync(cacheRoot(), { recursive: true });
  const lock = `${dir}.lock`;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      await waitFor(`another process installing ${requirement}`, () => !fs.existsSync(lock) || ready(), { timeoutMs: 900_000, intervalMs: 1000 });
      if (ready()) return dir;
    }
  }
  try {
    if (!ready()) {
      fs.rmSync(dir, { recursive: true, force: true });
      process.stderr.write(`[testbed] installing ${requirement} into ${dir}\n`);
      await run('python3', ['-m', 'venv', dir], { timeoutMs: 120_000 });
      await run(path.join(dir, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', requirement], { timeoutMs: 900_000 });
      fs.writeFileSync(marker, requirement);
    }
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
  return dir;
}
