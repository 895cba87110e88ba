/**
 * deploy --local of the test bed's tiny model on the REAL vLLM (its CPU build), from each source vllmapp
 * reads: a host folder, the Hub replay, s3:// streamed by vLLM, s3:// copied by the real rclone step, and
 * an MLflow run's output. Each must answer /v1/models with model_id and a chat completion with the
 * generated key, and refuse a request without it. One server at a time (2 cores).
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { cliWithTimeout, workdir } from "../support/cli.ts";
import { tbEnv } from "../support/testbed.ts";
import { chat, removeLocal as remove, s3Env } from "../support/vllm.ts";
import { containersOf, freePort, removeApps } from "./docker-support.ts";

const apps: string[] = [];
after(() => removeApps(apps));

/** The built CLI with a budget for a real server start (the 2 cores may be busy). */
const cli = cliWithTimeout(300_000);

/** deploy --local, then the checks every source must pass; returns what a test may look at further. */
async function deployAndAsk(what: string, source: string, opts: { env?: Record<string, string>; extra?: string } = {}) {
  const name = `rl${process.pid % 10000}-${what}`;
  apps.push(name);
  const port = await freePort();
  const dir = workdir({
    "vllm-app.yaml": `name: ${name}
${source}
model_id: tiny-${what}
image: ${tbEnv("VLLM_IMAGE")}
port: ${port}
extra_args: [--max-model-len, "512"]
${opts.extra ?? ""}`,
  });
  const r = await cli(["deploy", "--local", "-f", "vllm-app.yaml", "--timeout", "4m"], dir, opts.env);
  assert.equal(r.code, 0, `deploy --local (${what}) exited ${r.code}:\n${r.stderr}`);
  assert.match(r.stderr, new RegExp(`${name} is ready at http://127\\.0\\.0\\.1:${port}`));
  // the start, phase by phase, from the real server's log
  // vLLM says how long the weights took when it loads them itself; the Run:ai streamer reports tensors instead
  assert.match(
    r.stderr,
    new RegExp(
      `^${name} startup: (?:downloading \\d+\\.\\d s, )?starting \\d+\\.\\d s, .*loading \\d+\\.\\d s(?: \\(weights in [\\d.]+ s\\))?, .*ready at \\d+\\.\\d s$`,
      "m",
    ),
  );
  const status = JSON.parse((await cli(["status", "--local", "--show-api-key", "--json", name], dir)).stdout);
  const key = status.apps[0].apiKey as string;
  assert.match(key, /^\S{20,}$/);
  const models = (await (
    await fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { authorization: `Bearer ${key}` } })
  ).json()) as any;
  assert.deepEqual(
    models.data.map((m: any) => m.id),
    [`tiny-${what}`],
  );
  const ok = await chat(port, key, `tiny-${what}`);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.object, "chat.completion");
  assert.ok(ok.body.usage.completion_tokens > 0);
  assert.equal((await chat(port, undefined, `tiny-${what}`)).status, 401, "refused without the key");
  assert.equal((await chat(port, "wrong-key", `tiny-${what}`)).status, 401, "refused with a wrong key");
  return { name, dir, port, key, status };
}

test("a host folder: bind-mounted read-only at the same path; status ready, vLLM's own start-up lines in logs, delete leaves nothing", async () => {
  const folder = tbEnv("VLLM_TINY_MODEL_DIR");
  const { name, dir, port, status } = await deployAndAsk("dir", `model_path: ${folder}`);
  assert.equal(status.apps[0].ready, true);
  const [c] = await containersOf(name);
  const m = c.Mounts.find((x: any) => x.Destination === folder);
  assert.ok(m, "the folder is mounted at the same path");
  assert.equal(m.Source, folder);
  assert.equal(m.RW, false);
  const logs = await cli(["logs", "--local", name], dir);
  assert.equal(logs.code, 0, logs.stderr);
  // vLLM 0.32 prints its version in its start-up banner ("… version 0.32.0"), not as "vLLM API server version"
  assert.match(logs.stdout, /\(APIServer pid=\d+\) INFO .* version 0\.32\.0/);
  assert.match(logs.stdout, new RegExp(`Starting vLLM server on http://0\\.0\\.0\\.0:${port}`));
  assert.match(logs.stdout, /Application startup complete/);
  await remove(name, dir);
});

test("the Hub replay: vLLM downloads the repo through HF_ENDPOINT into the mounted HF cache", async () => {
  const repo = tbEnv("VLLM_TINY_MODEL_HF");
  const { name, dir } = await deployAndAsk(
    "hf",
    `model_hf_path: ${repo}\nenv_vars:\n  HF_ENDPOINT: ${tbEnv("POD_HF_ENDPOINT")}`,
    {
      env: { HF_ENDPOINT: tbEnv("HF_ENDPOINT"), HOME: workdir() },
    },
  );
  await remove(name, dir);
});

test("s3:// streamed: vLLM reads the weights from the test bed's S3 server with the Run:ai streamer", async () => {
  const uri = tbEnv("VLLM_TINY_MODEL_S3");
  const { name, dir } = await deployAndAsk(
    "s3s",
    `model_path: ${uri}\nstream_model: true\nsecrets: [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY]\nenv_vars:\n  AWS_ENDPOINT_URL: ${tbEnv("POD_AWS_ENDPOINT_URL")}\n  AWS_DEFAULT_REGION: ${tbEnv("AWS_DEFAULT_REGION")}`,
    { env: s3Env() },
  );
  const [c] = await containersOf(name);
  assert.ok(c.Args.includes("runai_streamer"), `argv ${c.Args.join(" ")}`);
  assert.ok(c.Args.includes(uri.replace(/\/$/, "")) || c.Args.includes(uri), "vLLM is given the s3:// URI");
  await remove(name, dir);
});

test("s3:// downloaded: the real rclone step copies the model, vLLM serves the local copy", async () => {
  const uri = tbEnv("VLLM_TINY_MODEL_S3");
  const home = workdir();
  const { name, dir } = await deployAndAsk(
    "s3d",
    `model_path: ${uri}\nstream_model: false\nsecrets: [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY]\nenv_vars:\n  AWS_ENDPOINT_URL: ${tbEnv("POD_AWS_ENDPOINT_URL")}\n  AWS_DEFAULT_REGION: ${tbEnv("AWS_DEFAULT_REGION")}`,
    { env: { ...s3Env(), HOME: home } },
  );
  const [c] = await containersOf(name);
  assert.ok(!c.Args.includes("runai_streamer"));
  assert.ok(c.Args.includes(`/models/${name}`), `vLLM serves the copy: ${c.Args.join(" ")}`);
  const copied = c.Mounts.find((x: any) => x.Destination === `/models/${name}`);
  assert.ok(copied && copied.Source.startsWith(home), "the copy lives under the user's home");
  await remove(name, dir);
});

test("an MLflow run's output: resolved at deploy time to the run's artifact and served", async () => {
  const run = tbEnv("VLLM_TINY_MODEL_MLFLOW_RUN");
  const { name, dir } = await deployAndAsk(
    "mlf",
    `runs: {backend: mlflow, tracking_uri: ${tbEnv("MLFLOW_TRACKING_URI")}}\nmodel_path:\n  run_output: {run_name: ${run}, output: model}\nsecrets: [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY]\nenv_vars:\n  AWS_ENDPOINT_URL: ${tbEnv("POD_AWS_ENDPOINT_URL")}\n  AWS_DEFAULT_REGION: ${tbEnv("AWS_DEFAULT_REGION")}`,
    { env: s3Env() },
  );
  await remove(name, dir);
});
