/**
 * deploy --local → ready → /v1/models → status, list, logs → redeploy (unchanged, replaced) → delete,
 * against the test bed's Docker engine and the stand-in vLLM image. A secret's value reaches the container
 * and appears in no argv, output or JSON.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { JSON_KEYS, runCli, workdir } from "../support/cli.ts";
import {
  appName,
  containersOf,
  freePort,
  get,
  removeApps,
  standinImage,
  startCli,
  waitUntil,
} from "./docker-support.ts";

const APP = appName("life");
const CONTAINER = `vllmapp-${APP}`;
const SECRET = `hf_${randomBytes(12).toString("hex")}`;
let dir: string;
let home: string;
let port: number;
let env: Record<string, string>;

function appYaml(extraEnv = ""): string {
  return `name: ${APP}
model_path: /models/qwen3-0.6b
model_id: tiny-chat
image: ${standinImage()}
port: ${port}
resources:
  gpu: 0
secrets:
  - HF_TOKEN
include:
  - chat.jinja
extra_args: ["--chat-template", "/app/include/chat.jinja"]
on_startup: ["vllm", "--version"]
on_shutdown: ["vllm", "--version"]
env_vars:
  STANDIN_STARTUP_DELAY: 2${extraEnv}
`;
}

const cli = (args: string[]) => runCli(args, { cwd: dir, env });
const apiKey = () => JSON.parse(cli(["status", "--local", "--show-api-key", "--json"]).stdout).apps[0].apiKey as string;
/** Everything a secret must never show up in. */
const seen: string[] = [];

before(async () => {
  port = await freePort();
  home = workdir();
  dir = workdir({ "chat.jinja": "{% for m in messages %}{{ m.content }}{% endfor %}\n" });
  writeFileSync(path.join(dir, "vllm-app.yaml"), appYaml());
  env = { HOME: home, HF_TOKEN: SECRET };
});

after(() => removeApps([APP]));

test("deploy --local starts the container, waits for /health, and the app answers /v1/models with its model_id", async () => {
  const run = startCli(["deploy", "--local"], { cwd: dir, env });
  // watch every process's argv while the deploy runs
  let settled = false;
  void run.finally(() => (settled = true));
  const argvs: string[] = [];
  while (!settled) argvs.push((await execa("ps", ["-eo", "args"])).stdout);
  const r = await run;
  assert.equal(r.exitCode, 0, r.stderr);
  assert.ok(
    argvs.some((a) => a.includes("deploy --local")),
    "ps saw the deploy running",
  );
  seen.push(...argvs, r.stdout, r.stderr);
  assert.match(
    r.stdout,
    new RegExp(
      `^APP +CONTAINER +ACTION +ENDPOINT +MODEL\\n${APP} +${CONTAINER} +created +http://127\\.0\\.0\\.1:${port} +tiny-chat$`,
      "m",
    ),
  );
  assert.match(r.stderr, /on_startup: vllm --version/);
  assert.match(r.stderr, new RegExp(`✔ ${APP} is ready at http://127\\.0\\.0\\.1:${port}`));
  assert.match(r.stderr, /the endpoint needs an API key .*--show-api-key/);

  const key = apiKey();
  assert.match(key, /^[A-Za-z0-9_-]{32}$/);
  const models = await get(`http://127.0.0.1:${port}/v1/models`, { Authorization: `Bearer ${key}` });
  assert.equal(models.status, 200);
  assert.deepEqual(
    JSON.parse(models.body).data.map((m: { id: string }) => m.id),
    ["tiny-chat"],
  );
  assert.equal((await get(`http://127.0.0.1:${port}/v1/models`)).status, 401);

  const [c] = await containersOf(APP);
  assert.equal(c.Name, `/${CONTAINER}`);
  assert.equal(c.Config.Labels["vllmapp.app"], APP);
  assert.ok(c.Config.Env.includes(`HF_TOKEN=${SECRET}`), "the secret reached the container");
  assert.ok(c.Config.Env.includes(`VLLM_API_KEY=${key}`));
  assert.deepEqual(c.HostConfig.PortBindings, { [`${port}/tcp`]: [{ HostIp: "127.0.0.1", HostPort: String(port) }] });
  assert.equal(c.HostConfig.IpcMode, "host");
  const mounts = Object.fromEntries(
    c.Mounts.map((m: { Destination: string; Source: string; RW: boolean }) => [m.Destination, m]),
  );
  assert.equal(mounts["/app/include/chat.jinja"].Source, path.join(dir, "chat.jinja"));
  assert.equal(mounts["/app/include/chat.jinja"].RW, false);
  assert.equal(mounts["/root/.cache/huggingface"].Source, path.join(home, ".cache", "huggingface"));
  for (const text of [...c.Args, ...argvs, r.stdout, r.stderr]) {
    assert.ok(!text.includes(SECRET), "the secret is in no argv and no output");
    assert.ok(!text.includes(key), "the API key is in no argv and no output");
  }
});

test("status and list show the running app; the API key only with --show-api-key", () => {
  const text = cli(["status", "--local"]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(
    text.stdout,
    new RegExp(
      `^${APP}: running, ready\\n  endpoint   http://127\\.0\\.0\\.1:${port}  \\(API key: --show-api-key\\)\\n  model      tiny-chat  from /models/qwen3-0\\.6b\\n  image      ${standinImage()}\\n  container  ${CONTAINER}, created \\d+[smhd] ago\\n  startup    starting \\d+\\.\\d s, .*, ready at \\d+\\.\\d s\\n$`,
    ),
  );
  const json = cli(["status", "--local", "--json"]);
  const s = JSON.parse(json.stdout).apps[0];
  assert.deepEqual(Object.keys(s).sort(), JSON_KEYS.appStatus, "the shared AppStatus keys (src/target.ts)");
  assert.deepEqual(
    {
      name: s.name,
      ready: s.ready,
      state: s.state,
      endpoint: s.endpoint,
      modelId: s.modelId,
      modelUri: s.modelUri,
      image: s.image,
      requiresApiKey: s.requiresApiKey,
      apiKey: s.apiKey,
    },
    {
      name: APP,
      ready: true,
      state: "running",
      endpoint: `http://127.0.0.1:${port}`,
      modelId: "tiny-chat",
      modelUri: "/models/qwen3-0.6b",
      image: standinImage(),
      requiresApiKey: true,
      apiKey: null,
    },
  );
  const byName = runCli(["status", "--local", APP, "--json"], { cwd: home, env });
  assert.equal(JSON.parse(byName.stdout).apps[0].endpoint, `http://127.0.0.1:${port}`);
  const list = runCli(["list", "--local", "--json"], { cwd: home, env });
  assert.equal(list.code, 0, list.stderr);
  const listed = JSON.parse(list.stdout);
  assert.ok(listed.apps.some((a: { name: string; ready: boolean }) => a.name === APP && a.ready));
  assert.deepEqual(
    [Object.keys(listed).sort(), listed.namespace, Object.keys(listed.apps[0]).sort()],
    [JSON_KEYS.listResult, null, JSON_KEYS.appSummary],
  );
  assert.match(
    runCli(["list", "--local"], { cwd: home, env }).stdout,
    new RegExp(
      `^APP +STATE +READY +ENDPOINT +MODEL +IMAGE +AGE\\n(.*\\n)*${APP} +running +yes +http://127\\.0\\.0\\.1:${port} +tiny-chat `,
      "m",
    ),
  );
  seen.push(text.stdout, text.stderr, json.stdout, list.stdout);
});

test("logs shows the server's log; --json is NDJSON by replica; --follow streams new lines", async () => {
  const text = cli(["logs", "--local", "--tail", "200"]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /vLLM API server version 0\.19\.0/);
  const json = cli(["logs", "--local", "--json", "--timestamps", "--since", "1h"]);
  const lines = json.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.ok(lines.length > 3);
  for (const l of lines) {
    assert.equal(l.replica, CONTAINER);
    assert.match(l.time, /^\d{4}-\d\d-\d\dT/);
  }
  assert.ok(
    lines.some((l) => /Starting vLLM server on/.test(l.line) || /Application startup complete/.test(l.line)),
    json.stdout,
  );

  const follow = startCli(["logs", "--local", "--follow", "--tail", "0"], { cwd: dir, env });
  let out = "";
  follow.stdout!.on("data", (d) => (out += d));
  const key = apiKey();
  await waitUntil(
    "logs --follow to stream the request just made",
    async () => {
      await get(`http://127.0.0.1:${port}/v1/models`, { Authorization: `Bearer ${key}` });
      return out.includes("GET /v1/models");
    },
    60_000,
    200,
  );
  follow.kill("SIGINT");
  const stopped = await follow;
  assert.equal(stopped.exitCode, 130, stopped.stderr);
  assert.match(stopped.stderr, /interrupted: stopped streaming logs/);
  seen.push(text.stdout, json.stdout, out);
});

test("redeploying an unchanged app does nothing; a changed one replaces the container and keeps the API key", () => {
  const key = apiKey();
  const same = cli(["deploy", "--local"]);
  assert.equal(same.code, 0, same.stderr);
  assert.match(same.stdout, new RegExp(`^${APP} +${CONTAINER} +unchanged `, "m"));
  assert.match(same.stderr, new RegExp(`${APP}: unchanged \\(${CONTAINER}\\)`));
  assert.doesNotMatch(same.stderr, /on_startup/);

  writeFileSync(path.join(dir, "vllm-app.yaml"), appYaml("\n  LOG_LEVEL: debug"));
  const changed = cli(["deploy", "--local"]);
  assert.equal(changed.code, 0, changed.stderr);
  assert.match(changed.stdout, new RegExp(`^${APP} +${CONTAINER} +replaced `, "m"));
  assert.match(changed.stderr, new RegExp(`${CONTAINER}: on_shutdown: vllm --version`));
  assert.equal(apiKey(), key);
  seen.push(same.stdout, same.stderr, changed.stdout, changed.stderr);
});

test("deploy --dry-run=client prints the docker argv, with secrets by name only, without touching Docker", () => {
  const r = runCli(["deploy", "--local", "--dry-run=client", "--json"], {
    cwd: dir,
    env: { ...env, DOCKER_HOST: "unix:///nonexistent/docker.sock" },
  });
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.deepEqual([Object.keys(doc).sort(), doc.dryRun], [JSON_KEYS.deployResult, "client"]);
  const app = doc.apps[0];
  assert.deepEqual(Object.keys(app).sort(), JSON_KEYS.deployedApp);
  const argv: string[] = app.docker.argv;
  assert.deepEqual(argv.slice(0, 5), ["docker", "run", "-d", "--name", CONTAINER]);
  assert.equal(argv[argv.indexOf("HF_TOKEN") - 1], "-e");
  assert.equal(argv[argv.indexOf("VLLM_API_KEY") - 1], "-e");
  assert.deepEqual(
    app.docker.before.map((b: { argv: string[] }) => b.argv.slice(-4)),
    [["--entrypoint", "vllm", standinImage(), "--version"]],
  );
  seen.push(r.stdout, r.stderr);
});

test("delete stops and removes the container; --purge-cache removes vllmapp's model copy, never the Hugging Face cache", () => {
  const copy = path.join(home, ".cache", "vllmapp", "models", APP);
  mkdirSync(copy, { recursive: true });
  writeFileSync(path.join(copy, "config.json"), "{}");
  writeFileSync(path.join(home, ".cache", "huggingface", "keep"), "x");
  const r = cli(["delete", "--local", "--purge-cache"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${APP}: container ${CONTAINER} removed\n${APP}: model copy ${copy} removed\n`);
  assert.match(r.stderr, new RegExp(`${CONTAINER}: on_shutdown: vllm --version`));
  assert.ok(!existsSync(copy));
  assert.equal(readFileSync(path.join(home, ".cache", "huggingface", "keep"), "utf8"), "x");
  const again = cli(["delete", "--local"]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, `${APP}: no container to remove\n`);
  const status = cli(["status", "--local"]);
  assert.equal(status.stdout, `${APP}: not deployed\n`);
  seen.push(r.stdout, r.stderr);
});

test("the secret's value appeared in no argv, output or JSON of any command", async () => {
  assert.deepEqual(await containersOf(APP), []);
  for (const text of seen) assert.ok(!text.includes(SECRET));
});
