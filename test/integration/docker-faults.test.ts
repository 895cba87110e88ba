/**
 * Faults in the middle of deploy --local, on the test bed's Docker engine: the engine restarted while
 * deploy waits (the container is started again and the deploy ends ready), Ctrl-C in the preflight and
 * while the container is being created, two deploys of one app at once, and a lock left by a deploy that
 * died. To press Ctrl-C in a known phase, a `docker` first on PATH slows one docker command down (it runs
 * the real docker after the pause; the engine does the work).
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { lockFile } from "../../src/local/lock.ts";
import { runCli, startCli, stderrShows, workdir } from "../support/cli.ts";
import { tbEnv, waitUntil } from "../support/testbed.ts";
import { restartProcess } from "../testbed/lib.mjs";
import { containersOf, removeApps, standinApp } from "./docker-support.ts";

const apps: string[] = [];
after(() => removeApps(apps));

const app = (what: string, extra = "") => standinApp(apps, what, extra);

const realDocker = spawnSync("sh", ["-c", "command -v docker"], { encoding: "utf8" }).stdout.trim();

/**
 * A PATH whose `docker` pauses `seconds` before `docker <subcommand>` (after touching `marker`: vllmapp
 * keeps docker's own output), then runs the real one.
 */
function slowDocker(subcommand: string, seconds: number): { PATH: string; marker: string } {
  const dir = workdir();
  const bin = path.join(dir, "docker");
  const marker = path.join(dir, "paused");
  writeFileSync(
    bin,
    `#!/bin/sh\nif [ "$1" = "${subcommand}" ]; then touch ${marker}; sleep ${seconds}; fi\nexec ${realDocker} "$@"\n`,
  );
  chmodSync(bin, 0o755);
  return { PATH: `${dir}:${process.env.PATH}`, marker };
}

const paused = (marker: string) => waitUntil(`docker to pause (${marker})`, async () => existsSync(marker), 60_000, 50);

test("the Docker engine restarted while deploy --local waits: the container is started again and the deploy ends ready", async () => {
  const a = await app("engine", "env_vars:\n  STANDIN_STARTUP_DELAY: 8\n");
  const run = startCli(["deploy", "--local"], { cwd: a.dir, env: { HOME: a.home } });
  await stderrShows(run, /waiting for http:\/\/127\.0\.0\.1:\d+\/health/);
  const restarted = await restartProcess(tbEnv("VLLMAPP_TESTBED_DIR"), "dockerd");
  assert.ok(restarted.downSeconds > 0);
  const r = await run;
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `^warning: the Docker engine stopped answering while ${a.name} was starting; waiting up to 60 s for it to come back$`,
      "m",
    ),
  );
  assert.match(r.stderr, /^the Docker engine answers again \(after \d+\.\d s\)$/m);
  assert.match(
    r.stderr,
    new RegExp(
      `^warning: the Docker engine's restart stopped vllmapp-${a.name} \\(exit code (0|143|137)\\); starting it again$`,
      "m",
    ),
  );
  assert.match(r.stderr, new RegExp(`${a.name} is ready at http://127\\.0\\.0\\.1:${a.port}`));
  const [c] = await containersOf(a.name);
  assert.equal(c.State.Running, true);
  const again = runCli(["deploy", "--local"], { cwd: a.dir, env: { HOME: a.home } });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, new RegExp(`${a.name}: unchanged`));
});

test("Ctrl-C during the preflight of deploy --local: exit 130, nothing started", async () => {
  const a = await app("intr-pre");
  const slow = slowDocker("info", 3);
  const run = startCli(["deploy", "--local"], { cwd: a.dir, env: { HOME: a.home, PATH: slow.PATH } });
  await paused(slow.marker);
  run.kill("SIGINT");
  const r = await run;
  assert.equal(r.exitCode, 130, r.stderr);
  assert.match(r.stderr, /^error: interrupted during the preflight checks: nothing was started or changed$/m);
  assert.deepEqual(await containersOf(a.name), []);
  const again = runCli(["deploy", "--local"], { cwd: a.dir, env: { HOME: a.home } });
  assert.equal(again.code, 0, again.stderr);
});

test("Ctrl-C while the container is created: it is created in full, the deploy stops before waiting (exit 130); a re-run finds it unchanged", async () => {
  const a = await app("intr-run", "env_vars:\n  STANDIN_STARTUP_DELAY: 2\n");
  const slow = slowDocker("run", 2);
  const run = startCli(["deploy", "--local"], { cwd: a.dir, env: { HOME: a.home, PATH: slow.PATH } });
  await paused(slow.marker);
  run.kill("SIGINT");
  const r = await run;
  assert.equal(r.exitCode, 130, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `^error: interrupted: ${a.name} was created in full \\(vllmapp-${a.name}\\); stopped before waiting for it \\(vllmapp status --local ${a.name}\\)$`,
      "m",
    ),
  );
  const [c] = await containersOf(a.name);
  assert.equal(c.State.Running, true);
  const again = runCli(["deploy", "--local"], { cwd: a.dir, env: { HOME: a.home } });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, new RegExp(`${a.name}: unchanged`));
});

test("Ctrl-C during the model copy (a before step): the copy is stopped, no container is started (exit 130); a re-run deploys", async () => {
  const a = await app(
    "intr-copy",
    `stream_model: false\nsecrets: [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY]\nenv_vars:\n  AWS_ENDPOINT_URL: ${tbEnv("POD_AWS_ENDPOINT_URL")}\n  AWS_DEFAULT_REGION: ${tbEnv("AWS_DEFAULT_REGION")}\n`,
  );
  writeFileSync(
    path.join(a.dir, "vllm-app.yaml"),
    readFileSync(path.join(a.dir, "vllm-app.yaml"), "utf8").replace(
      "model_path: /models/qwen3-0.6b",
      `model_path: ${tbEnv("VLLM_TINY_MODEL_S3")}`,
    ),
  );
  // the first `docker run` is the copy (rclone); the container's own comes after it
  const slow = slowDocker("run", 3);
  const run = startCli(["deploy", "--local"], { cwd: a.dir, env: { HOME: a.home, PATH: slow.PATH } });
  await paused(slow.marker);
  run.kill("SIGINT");
  const r = await run;
  assert.equal(r.exitCode, 130, r.stderr);
  assert.match(
    r.stderr,
    /^error: interrupted during copy .*: the app's container was not started or changed; vllmapp deploy --local starts over \(a model copy keeps the files it finished\)$/m,
  );
  assert.deepEqual(await containersOf(a.name), []);
  const again = runCli(["deploy", "--local"], { cwd: a.dir, env: { HOME: a.home } });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, new RegExp(`${a.name} is ready at`));
});

test("two deploy --local of one app at once: the second stops before touching the engine and names the first", async () => {
  const a = await app("twice", "env_vars:\n  STANDIN_STARTUP_DELAY: 6\n");
  const first = startCli(["deploy", "--local"], { cwd: a.dir, env: { HOME: a.home } });
  await stderrShows(first, /waiting for http/);
  const second = runCli(["deploy", "--local"], { cwd: a.dir, env: { HOME: a.home } });
  assert.equal(second.code, 4, second.stderr);
  assert.match(
    second.stderr,
    new RegExp(
      `^error: another vllmapp deploy --local of ${a.name} is running \\(pid ${first.pid}, for \\d+ s\\); nothing was changed$`,
      "m",
    ),
  );
  assert.match(
    second.stderr,
    new RegExp(
      `^ {2}hint: wait until it is done \\(vllmapp status --local ${a.name}\\), or stop it \\(kill -INT ${first.pid}\\)$`,
      "m",
    ),
  );
  const r = await first;
  assert.equal(r.exitCode, 0, r.stderr);
  const [c] = await containersOf(a.name);
  assert.equal(c.State.Running, true);
});

test("a lock left by a deploy --local that died is taken over", async () => {
  const a = await app("stale");
  // the lock file vllmapp uses, held by a process that is gone
  const dead = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" }).stdout.trim();
  const file = lockFile(a.name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ pid: Number(dead), since: new Date().toISOString() }));
  const r = runCli(["deploy", "--local"], { cwd: a.dir, env: { HOME: a.home } });
  assert.equal(r.code, 0, r.stderr);
  const [c] = await containersOf(a.name);
  assert.equal(c.State.Running, true);
});
