/** Shared by the docker-*.test.ts files: the stand-in image, app names, docker's stdout, cleanup by label. */
import assert from "node:assert/strict";
import { workdir } from "../support/cli.ts";
import { freePort } from "../support/testbed.ts";

export { startCli } from "../support/cli.ts";
export { containersOf, dockerOut, removeApps } from "../support/docker.ts";
export { freePort, waitUntil } from "../support/testbed.ts";

/** The test bed's stand-in vLLM image (never pulled). */
export function standinImage(): string {
  const image = process.env.VLLM_STANDIN_IMAGE;
  assert.ok(
    image,
    'VLLM_STANDIN_IMAGE is not set: run the tests through `npm test` (or eval "$(npm run -s testbed:up)")',
  );
  return image;
}

/** An app name unique to this test process (DNS-1123). */
export function appName(what: string): string {
  return `dk${process.pid}-${what}`;
}

/** GET a loopback URL; the body as text. */
export async function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { headers });
  return { status: res.status, body: await res.text() };
}

/**
 * A folder with a vllm-app.yaml for the stand-in on a free port, no GPU, no API key (`extra` is appended),
 * and a HOME of its own; the app's name is pushed to `apps`, for removeApps after the file.
 */
export async function standinApp(
  apps: string[],
  what: string,
  extra = "",
): Promise<{ name: string; dir: string; port: number; home: string }> {
  const name = appName(what);
  apps.push(name);
  const port = await freePort();
  const yaml = `name: ${name}\nmodel_path: /models/qwen3-0.6b\nimage: ${standinImage()}\nport: ${port}\nrequires_auth: false\nresources:\n  gpu: 0\n${extra}`;
  return { name, dir: workdir({ "vllm-app.yaml": yaml }), port, home: workdir() };
}
