/** Shared by the docker-*.test.ts files: the stand-in image, free ports, the CLI run asynchronously, cleanup by label. */
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { execa, type ResultPromise } from "execa";
import { BIN } from "../helpers.ts";

/** The test bed's stand-in vLLM image (never pulled). */
export function standinImage(): string {
  const image = process.env.VLLM_STANDIN_IMAGE;
  assert.ok(image, "VLLM_STANDIN_IMAGE is not set: run the tests through `npm test` (or eval \"$(npm run -s testbed:up)\")");
  return image;
}

/** A port nothing listens on right now, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** An app name unique to this test process (DNS-1123). */
export function appName(what: string): string {
  return `dk${process.pid}-${what}`;
}

/** The built CLI, not awaited, so a test can watch it while it runs. */
/** A CLI run in the background; killed after 3 minutes so a failing test never leaves it hanging. */
export function startCli(args: string[], opts: { cwd: string; env?: Record<string, string> }): ResultPromise<{ reject: false; stdin: "ignore"; timeout: number }> {
  return execa(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: { CI: "1", NO_COLOR: "1", ...opts.env }, extendEnv: true, reject: false, stdin: "ignore", timeout: 180_000 });
}

export async function docker(...args: string[]): Promise<string> {
  return (await execa("docker", args)).stdout;
}

/** `docker inspect` of the containers that carry vllmapp.app=APP. */
export async function containersOf(app: string): Promise<any[]> {
  const ids = (await docker("ps", "-aq", "--filter", `label=vllmapp.app=${app}`)).split("\n").filter(Boolean);
  return ids.length ? JSON.parse(await docker("inspect", ...ids)) : [];
}

/** Remove every container of these apps, whatever state the test left them in. */
export async function removeApps(apps: readonly string[]): Promise<void> {
  for (const app of apps) {
    const ids = (await docker("ps", "-aq", "--filter", `label=vllmapp.app=${app}`)).split("\n").filter(Boolean);
    if (ids.length) await docker("rm", "-f", ...ids);
  }
}

/** GET a loopback URL; the body as text. */
export async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { headers });
  return { status: res.status, body: await res.text() };
}
