/**
 * deploy --local when things go wrong, against the test bed's Docker engine: a crash (exit 6, with its last
 * log lines), a readiness timeout (exit 5), a failing on_startup (exit 6), and the preflight errors (exit 4,
 * nothing started): port in use, no engine, no GPU runtime, an image that cannot be pulled; a missing secret (exit 2).
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { runCli, workdir } from "../support/cli.ts";
import {
  containersOf,
  dockerOut,
  removeApps,
  standinApp,
  standinImage,
  startCli,
  waitUntil,
} from "./docker-support.ts";

const apps: string[] = [];
after(() => removeApps(apps));

/** A folder with a vllm-app.yaml for the stand-in; `extra` is appended to it. */
const app = (what: string, extra = "") => standinApp(apps, what, extra);

test("a container that crashes on start is reported with exit 6 and its last log lines; status and logs still show it", async () => {
  const a = await app("crash", "env_vars:\n  STANDIN_CRASH: 1\n");
  const r = runCli(["deploy", "--local"], { cwd: a.dir, env: { HOME: a.home } });
  assert.equal(r.code, 6, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(`error: vllmapp-${a.name} exited with code 1 before it became ready\\n  last log lines:\\n`),
  );
  assert.match(r.stderr, /^ {4}\(EngineCore_DP0 pid=\d+\) ERROR .*torch\.OutOfMemoryError: CUDA out of memory/m);
  assert.match(r.stderr, new RegExp(`hint: the whole log: vllmapp logs --local ${a.name}`));
  const status = runCli(["status", "--local", "--json"], { cwd: a.dir, env: { HOME: a.home } });
  const s = JSON.parse(status.stdout).apps[0];
  // the stand-in crashes right after "Starting to load model"
  assert.deepEqual([s.state, s.ready, s.reason], ["exited", false, "exited with code 1 while loading"]);
  const logs = runCli(["logs", "--local", "--previous"], { cwd: a.dir, env: { HOME: a.home } });
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /RuntimeError: Engine core initialization failed/);
  const del = runCli(["delete", "--local"], { cwd: a.dir, env: { HOME: a.home } });
  assert.equal(del.code, 0, del.stderr);
  assert.deepEqual(await containersOf(a.name), []);
});

test("an app that does not become healthy within --timeout is exit 5; Ctrl-C while waiting is 130; --no-wait returns once started", async () => {
  const a = await app("slow", "env_vars:\n  STANDIN_STARTUP_DELAY: 600\n");
  const r = runCli(["deploy", "--local", "--timeout", "2s"], { cwd: a.dir, env: { HOME: a.home } });
  assert.equal(r.code, 5, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `error: vllmapp-${a.name} did not answer http://127\\.0\\.0\\.1:${a.port}/health with 200 within 2s; it is still running`,
    ),
  );
  assert.match(r.stderr, /hint: .*raise --timeout \(or startup_timeout\)/);
  const interrupted = startCli(["deploy", "--local"], { cwd: a.dir, env: { HOME: a.home } });
  let err = "";
  interrupted.stderr.on("data", (d) => (err += d));
  await waitUntil("deploy --local to say it is waiting", async () => err.includes("waiting for"), 60_000, 100);
  interrupted.kill("SIGINT");
  const i = await interrupted;
  assert.equal(i.exitCode, 130, i.stderr);
  assert.match(i.stderr, new RegExp(`error: interrupted: stopped waiting; vllmapp-${a.name} goes on starting`));
  const again = runCli(["deploy", "--local", "--no-wait"], { cwd: a.dir, env: { HOME: a.home } });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, new RegExp(`^${a.name} +vllmapp-${a.name} +unchanged `, "m"));
  const statusNow = () =>
    JSON.parse(runCli(["status", "--local", "--json"], { cwd: a.dir, env: { HOME: a.home } }).stdout).apps[0];
  assert.deepEqual([statusNow().state, statusNow().ready], ["running", false]);
  // where the start stands, from the server's own log: the stand-in says it loads the model (once it has printed that)
  const status = await waitUntil(
    "status to read the loading phase from the log",
    async () => {
      const s = statusNow();
      return s.startup?.phase === "loading" ? s : undefined;
    },
    20_000,
    250,
  );
  assert.match(status.reason, /^starting: loading \(\d+ s\)$/);
});

test("a failing on_startup stops the deploy with its output (exit 6) before the server starts", async () => {
  const a = await app("onstart", 'on_startup: ["vllm", "fetch-adapters"]\n');
  const r = runCli(["deploy", "--local"], { cwd: a.dir, env: { HOME: a.home } });
  assert.equal(r.code, 6, r.stderr);
  assert.match(
    r.stderr,
    /error: on_startup: vllm fetch-adapters failed with exit code 2\n  last output lines:\n(.*\n)*.*invalid choice: 'fetch-adapters'/,
  );
  assert.deepEqual(await containersOf(a.name), []);
});

test("a port in use (by a process or another app's container) is exit 4 before anything starts", async () => {
  const a = await app("clash");
  const holder: Server = createServer();
  await new Promise<void>((resolve) => holder.listen(a.port, "127.0.0.1", resolve));
  try {
    const r = runCli(["deploy", "--local"], { cwd: a.dir, env: { HOME: a.home } });
    assert.equal(r.code, 4, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `error: port ${a.port} on 127\\.0\\.0\\.1 is already in use by process ${process.pid} \\(node\\)\\n  hint: stop it, or set another port: in the app's file`,
      ),
    );
    assert.deepEqual(await containersOf(a.name), []);
  } finally {
    holder.close();
  }
  const first = runCli(["deploy", "--local", "--no-wait"], { cwd: a.dir, env: { HOME: a.home } });
  assert.equal(first.code, 0, first.stderr);
  const other = await app("clash2");
  const yaml = `name: ${other.name}\nmodel_path: /models/qwen3-0.6b\nimage: ${standinImage()}\nport: ${a.port}\nrequires_auth: false\nresources:\n  gpu: 0\n`;
  const dir = workdir({ "vllm-app.yaml": yaml });
  const clash = runCli(["deploy", "--local"], { cwd: dir, env: { HOME: a.home } });
  assert.equal(clash.code, 4, clash.stderr);
  assert.match(
    clash.stderr,
    new RegExp(`port ${a.port} on 127\\.0\\.0\\.1 is already in use by container vllmapp-${a.name}`),
  );
  assert.deepEqual(await containersOf(other.name), []);
});

test("no Docker engine is exit 4 with how to start one", async () => {
  const a = await app("noengine");
  const r = runCli(["deploy", "--local"], {
    cwd: a.dir,
    env: { HOME: a.home, DOCKER_HOST: `unix://${a.home}/nothing-listens.sock` },
  });
  assert.equal(r.code, 4, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `error: cannot reach a Docker engine at DOCKER_HOST=unix://${a.home}/nothing-listens\\.sock: .*\\n  hint: start the engine that should answer there, or unset DOCKER_HOST`,
    ),
  );
  const status = runCli(["status", "--local"], {
    cwd: a.dir,
    env: { HOME: a.home, DOCKER_HOST: `unix://${a.home}/nothing-listens.sock` },
  });
  assert.equal(status.code, 4, status.stderr);
});

test("GPUs without an NVIDIA runtime are exit 4 with the advice; --gpus 0 runs it on CPU", async () => {
  const a = await app("gpu");
  const yaml = `name: ${a.name}\nmodel_path: /models/qwen3-0.6b\nimage: ${standinImage()}\nport: ${a.port}\nrequires_auth: false\nresources:\n  gpu: L4:1\n`;
  const dir = workdir({ "vllm-app.yaml": yaml });
  const r = runCli(["deploy", "--local"], { cwd: dir, env: { HOME: a.home } });
  assert.equal(r.code, 4, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `error: app ${a.name} asks for GPUs \\(--gpus "device=0"\\) but this Docker engine has no NVIDIA runtime \\(runtimes: .*runc.*\\)\\n  hint: install the NVIDIA Container Toolkit .*, or run on CPU with --gpus 0`,
    ),
  );
  assert.deepEqual(await containersOf(a.name), []);
  const cpu = runCli(["deploy", "--local", "--gpus", "0"], { cwd: dir, env: { HOME: a.home } });
  assert.equal(cpu.code, 0, cpu.stderr);
  assert.match(cpu.stdout, new RegExp(`^${a.name} +vllmapp-${a.name} +created `, "m"));
});

test("an image that is not here and cannot be pulled is exit 4", async () => {
  const a = await app("noimage");
  const dir = workdir({
    "vllm-app.yaml": `name: ${a.name}\nmodel_path: /models/qwen3-0.6b\nimage: vllmapp.invalid/no-such-image:1\nport: ${a.port}\nresources:\n  gpu: 0\n`,
  });
  const r = runCli(["deploy", "--local"], { cwd: dir, env: { HOME: a.home } });
  assert.equal(r.code, 4, r.stderr);
  assert.match(
    r.stderr,
    /error: image vllmapp\.invalid\/no-such-image:1 is not on this machine and cannot be pulled: .*\n {2}hint: check the image name and tag/,
  );
  assert.deepEqual(await containersOf(a.name), []);
});

test("a secret missing from the environment is exit 2, naming it, before anything starts", async () => {
  const a = await app(
    "nosecret",
    "secrets:\n  - VLLMAPP_TEST_UNSET_TOKEN\n  - env_var: VLLMAPP_TEST_UNSET_KEY\n    secret: creds\n",
  );
  const r = runCli(["deploy", "--local"], {
    cwd: a.dir,
    env: { HOME: a.home, VLLMAPP_TEST_UNSET_TOKEN: undefined, VLLMAPP_TEST_UNSET_KEY: undefined },
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `error: secrets not set in the environment: VLLMAPP_TEST_UNSET_TOKEN \\(app ${a.name}\\), VLLMAPP_TEST_UNSET_KEY \\(app ${a.name}\\)`,
    ),
  );
  assert.deepEqual(await containersOf(a.name), []);
});

test("a container vllmapp did not start that has the app's container name is exit 4, and is left alone", async () => {
  const a = await app("foreign");
  await dockerOut("create", "--name", `vllmapp-${a.name}`, standinImage());
  try {
    const r = runCli(["deploy", "--local"], { cwd: a.dir, env: { HOME: a.home } });
    assert.equal(r.code, 4, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `error: a container named vllmapp-${a.name} exists that vllmapp did not start\\n  hint: remove or rename it \\(docker rm -f vllmapp-${a.name}\\), or rename the app`,
      ),
    );
    assert.equal(await dockerOut("inspect", "--format", "{{.Name}}", `vllmapp-${a.name}`), `/vllmapp-${a.name}`);
  } finally {
    await dockerOut("rm", "-f", `vllmapp-${a.name}`);
  }
});
