/** Helpers for tests that use the test bed (kubectl against the kwok cluster, docker with the stand-in). */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import net from "node:net";

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The test bed's environment; fails loudly if the test bed is not up (never skips). */
export function tbEnv(name: string): string {
  const v = process.env[name];
  if (!v)
    throw new Error(
      `${name} is not set: run the tests with \`npm test\` (or export the output of \`npm run testbed:up\`)`,
    );
  return v;
}

export function sh(
  cmd: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      {
        env: opts.env ?? process.env,
        timeout: opts.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
        encoding: "utf8",
      },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== "number") {
          reject(new Error(`${cmd} ${args.join(" ")}: ${err.message}\n${stderr}`));
          return;
        }
        resolve({ code: typeof err?.code === "number" ? err.code : 0, stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** Run the test bed's kubectl; throws on a non-zero exit unless allowFail. */
export async function kubectl(
  args: string[],
  opts: { input?: string; allowFail?: boolean; timeoutMs?: number } = {},
): Promise<Run> {
  const r = await sh(tbEnv("VLLMAPP_TEST_KUBECTL"), args, opts);
  if (r.code !== 0 && !opts.allowFail)
    throw new Error(`kubectl ${args.join(" ")} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r;
}

export async function kubectlJson<T = any>(args: string[]): Promise<T> {
  return JSON.parse((await kubectl([...args, "-o", "json"])).stdout) as T;
}

export async function docker(args: string[], opts: { allowFail?: boolean; timeoutMs?: number } = {}): Promise<Run> {
  const r = await sh("docker", args, opts);
  if (r.code !== 0 && !opts.allowFail)
    throw new Error(`docker ${args.join(" ")} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString("hex")}`;
}

/**
 * A namespace of its own for a test file, deleted by the returned cleanup. `restricted`: Pod Security
 * "restricted" enforced and warned, as a security-minded platform team sets it.
 */
export async function withNamespace(
  prefix: string,
  opts: { restricted?: boolean } = {},
): Promise<{ ns: string; cleanup: () => Promise<void> }> {
  const ns = uniqueName(prefix);
  await kubectl(["create", "namespace", ns]);
  if (opts.restricted)
    await kubectl([
      "label",
      "namespace",
      ns,
      "pod-security.kubernetes.io/enforce=restricted",
      "pod-security.kubernetes.io/warn=restricted",
    ]);
  // The ServiceAccount controller creates "default" asynchronously; pods need it.
  await waitUntil(
    `serviceaccount default in ${ns}`,
    async () => (await kubectl(["-n", ns, "get", "sa", "default"], { allowFail: true })).code === 0,
    30_000,
  );
  return {
    ns,
    cleanup: async () => {
      // Not waiting: the namespace controller finishes in the background (pods go at once via kwok's pod-delete stage).
      await kubectl(["delete", "namespace", ns, "--wait=false"], { allowFail: true });
    },
  };
}

export async function waitUntil<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 60_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
