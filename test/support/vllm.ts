/**
 * What the real-vLLM scenarios (test/integration/real-vllm-*.test.ts) do to the server once it runs:
 * ask it a chat completion, give the CLI the test bed's S3 credentials, delete a local app and check
 * nothing of it is left. Each file keeps its own deploy step: what it asserts on the way differs.
 */
import assert from "node:assert/strict";
import { runCliAsync } from "./cli.ts";
import { containersOf } from "./docker.ts";
import { tbEnv } from "./testbed.ts";

/** One chat completion of 8 tokens on 127.0.0.1:PORT, with the key as bearer token when given; the body is null when it is not JSON. */
export async function chat(
  port: number,
  key: string | undefined,
  model: string,
): Promise<{ status: number; body: any }> {
  const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hello" }], max_tokens: 8 }),
  });
  return { status: r.status, body: (await r.json().catch(() => null)) as any };
}

/** S3 credentials of the test bed's S3 server, for the CLI's own checks and (by name) the containers. */
export function s3Env(): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: tbEnv("AWS_ACCESS_KEY_ID"),
    AWS_SECRET_ACCESS_KEY: tbEnv("AWS_SECRET_ACCESS_KEY"),
    AWS_DEFAULT_REGION: tbEnv("AWS_DEFAULT_REGION"),
    AWS_ENDPOINT_URL: tbEnv("AWS_ENDPOINT_URL"),
  };
}

/** `delete --local NAME` succeeds and leaves no container of the app. */
export async function removeLocal(name: string, dir: string): Promise<void> {
  const d = await runCliAsync(["delete", "--local", name], { cwd: dir, timeoutMs: 300_000 });
  assert.equal(d.code, 0, d.stderr);
  assert.deepEqual(await containersOf(name), [], "delete --local leaves no container");
}
