/** Smoke tests of the test bed's Docker side: the vLLM stand-in image on a published 127.0.0.1 port. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { docker, freePort, tbEnv, uniqueName, waitUntil } from "../support/testbed.ts";

const IMAGE = () => tbEnv("VLLM_STANDIN_IMAGE");

async function runStandin(name: string, port: number, env: Record<string, string>, args: string[]): Promise<void> {
  const envArgs = Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
  await docker([
    "run",
    "-d",
    "--name",
    name,
    "--label",
    "vllmapp-testbed=smoke",
    "-p",
    `127.0.0.1:${port}:8000`,
    ...envArgs,
    IMAGE(),
    ...args,
  ]);
}

test("the stand-in answers /health, /v1/models, chat completions and /metrics on a published 127.0.0.1 port", async () => {
  const name = uniqueName("tb-standin");
  const port = await freePort();
  try {
    await runStandin(name, port, { STANDIN_STARTUP_DELAY: "1" }, [
      "Qwen/Qwen3-0.6B",
      "--port",
      "8000",
      "--served-model-name",
      "qwen-smoke",
      "--max-model-len",
      "4096",
    ]);
    const base = `http://127.0.0.1:${port}`;
    // 503 while "loading", then 200
    const first = await waitUntil(
      "the port to answer",
      async () => (await fetch(`${base}/health`).catch(() => undefined))?.status,
      20_000,
      100,
    );
    assert.ok(first === 503 || first === 200, `first /health status ${first}`);
    await waitUntil("/health 200", async () => (await fetch(`${base}/health`)).status === 200, 20_000, 100);

    const models = (await (await fetch(`${base}/v1/models`)).json()) as any;
    assert.equal(models.object, "list");
    assert.equal(models.data[0].id, "qwen-smoke");
    assert.equal(models.data[0].root, "Qwen/Qwen3-0.6B");
    assert.equal(models.data[0].max_model_len, 4096);

    const res = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "qwen-smoke", messages: [{ role: "user", content: "hello" }], max_tokens: 8 }),
    });
    assert.equal(res.status, 200);
    const chat = (await res.json()) as any;
    assert.equal(chat.object, "chat.completion");
    assert.equal(chat.model, "qwen-smoke");
    assert.equal(chat.choices[0].message.role, "assistant");
    assert.ok(chat.usage.completion_tokens <= 8);

    const wrong = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "nope", messages: [{ role: "user", content: "hi" }] }),
    });
    assert.equal(wrong.status, 404);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    for (const m of ["vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc"]) {
      assert.match(metrics, new RegExp(`^${m}\\{.*model_name="qwen-smoke".*\\} \\d`, "m"), m);
    }

    const logs = await docker(["logs", name]);
    assert.match(logs.stdout, /Starting vLLM API server on http:\/\/0\.0\.0\.0:8000/);
    assert.match(logs.stdout, /Application startup complete\./);

    // graceful stop on SIGTERM
    await docker(["stop", "-t", "10", name]);
    const state = JSON.parse((await docker(["inspect", name])).stdout)[0].State;
    assert.equal(state.ExitCode, 0);
  } finally {
    await docker(["rm", "-f", name], { allowFail: true });
  }
});

test("VLLM_API_KEY protects /v1/* but not /health or /metrics", async () => {
  const name = uniqueName("tb-standin-key");
  const port = await freePort();
  try {
    await runStandin(name, port, { VLLM_API_KEY: "s3cret" }, ["my-org/my-model"]);
    const base = `http://127.0.0.1:${port}`;
    await waitUntil(
      "/health 200",
      async () => (await fetch(`${base}/health`).catch(() => undefined))?.status === 200,
      20_000,
      100,
    );
    assert.equal((await fetch(`${base}/v1/models`)).status, 401);
    assert.equal((await fetch(`${base}/v1/models`, { headers: { authorization: "Bearer wrong" } })).status, 401);
    const ok = await fetch(`${base}/v1/models`, { headers: { authorization: "Bearer s3cret" } });
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as any).data[0].id, "my-org/my-model"); // served name defaults to the model
    assert.equal((await fetch(`${base}/metrics`)).status, 200);
  } finally {
    await docker(["rm", "-f", name], { allowFail: true });
  }
});

test("crash mode exits 1 with a traceback; a rejected flag exits 2 like argparse", async () => {
  const crash = await docker(
    ["run", "--rm", "--label", "vllmapp-testbed=smoke", "-e", "STANDIN_CRASH=1", IMAGE(), "Qwen/Qwen3-0.6B"],
    { allowFail: true },
  );
  assert.equal(crash.code, 1);
  assert.match(crash.stdout + crash.stderr, /Traceback \(most recent call last\)/);
  assert.match(crash.stdout + crash.stderr, /Engine core initialization failed/);

  const rej = await docker(
    [
      "run",
      "--rm",
      "--label",
      "vllmapp-testbed=smoke",
      "-e",
      "STANDIN_REJECT_FLAGS=--foo",
      IMAGE(),
      "m",
      "--foo",
      "--port",
      "8000",
    ],
    {
      allowFail: true,
    },
  );
  assert.equal(rej.code, 2);
  assert.match(rej.stderr, /vllm: error: unrecognized arguments: --foo/);
});
