/**
 * Running vllmapp in tests: the built CLI as a user runs it (CI=1, NO_COLOR=1), to completion (runCli,
 * or runCliAsync when the test's own servers must keep answering meanwhile), in the background
 * (startCli), scratch folders (workdir), and the `--json` key lists both targets share (JSON_KEYS). The
 * rest of the support package: plan.ts (plan a YAML in-process), testbed.ts (the test bed: kubectl,
 * docker, waitUntil, namespaces), vllm.ts (the real-vLLM scenarios' requests), docker.ts (containers).
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { execa, type ResultPromise } from "execa";
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { waitUntil } from "./testbed.ts";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const BIN = path.join(ROOT, "bin", "vllmapp.js");
/**
 * The CLI the tests run, as argv: the npm build (`node bin/vllmapp.js`), or the single executable
 * (npm run build:binary) named by $VLLMAPP_TEST_BIN, so the e2e suite runs against either.
 */
export const CLI: readonly [string, ...string[]] = process.env.VLLMAPP_TEST_BIN
  ? [path.resolve(process.env.VLLMAPP_TEST_BIN)]
  : [process.execPath, BIN];

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of a CLI run; timeoutMs (default 60 s) is the run's budget, after which it is killed. */
export interface CliOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
}

/** The built CLI to completion, synchronously: nothing else in the test process runs meanwhile. */
export function runCli(args: string[], opts: CliOptions = {}): CliResult {
  const env: Record<string, string | undefined> = { ...process.env, CI: "1", NO_COLOR: "1", ...opts.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const r: SpawnSyncReturns<string> = spawnSync(CLI[0], [...CLI.slice(1), ...args], {
    cwd: opts.cwd ?? ROOT,
    env: env as NodeJS.ProcessEnv,
    encoding: "utf8",
    input: opts.input ?? "",
    timeout: opts.timeoutMs ?? 60_000,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The built CLI to completion without blocking the test process (its HTTP servers, port-forwards and
 * timers keep running): for the long real-vLLM runs, which pass their own timeoutMs.
 */
export async function runCliAsync(args: string[], opts: Omit<CliOptions, "input"> = {}): Promise<CliResult> {
  const r = await execa(CLI[0], [...CLI.slice(1), ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { CI: "1", NO_COLOR: "1", ...opts.env },
    extendEnv: true,
    reject: false,
    stdin: "ignore",
    timeout: opts.timeoutMs ?? 60_000,
  });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** `cli(args, cwd, env?)` with a budget of its own: the one-line binding a test file with long runs keeps. */
export function cliWithTimeout(
  timeoutMs: number,
): (args: string[], cwd: string, env?: Record<string, string>) => Promise<CliResult> {
  return (args, cwd, env = {}) => runCliAsync(args, { cwd, env, timeoutMs });
}

const scratch: string[] = [];
// node:test runs each file in a process of its own: its folders go when it exits
process.on("exit", () => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** A fresh folder holding the given files, removed when the test file's process exits. */
export function workdir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), "vllmapp-test-"));
  scratch.push(dir);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

export type CliRun = ResultPromise<{ reject: false; stdin: "ignore"; timeout: number }>;

/** The built CLI in the background, so a test can watch or interrupt it; killed after 3 minutes so a failing test never leaves it hanging. */
export function startCli(args: string[], opts: { cwd: string; env?: Record<string, string | undefined> }): CliRun {
  return execa(CLI[0], [...CLI.slice(1), ...args], {
    cwd: opts.cwd,
    env: { CI: "1", NO_COLOR: "1", ...opts.env },
    extendEnv: true,
    reject: false,
    stdin: "ignore",
    timeout: 180_000,
  });
}

/** Wait until a CLI started with startCli has written `pattern` to stderr. */
export async function stderrShows(run: CliRun, pattern: RegExp): Promise<void> {
  let seen = "";
  run.stderr!.on("data", (d: Buffer) => (seen += d.toString()));
  await waitUntil(`stderr to show ${pattern}`, async () => pattern.test(seen), 60_000, 100);
}

import type {
  AppStatus,
  AppSummary,
  DeletedApp,
  DeleteResult,
  DeployedApp,
  DeployResult,
  ListResult,
  LogLine,
  StatusResult,
} from "../../src/target.ts";

/** Every key of T, listed once: the compiler rejects a list that misses or invents one. */
function keysOf<T>() {
  return <const K extends readonly (keyof T)[]>(...keys: K & ([keyof T] extends [K[number]] ? unknown : never)) =>
    [...keys].sort() as string[];
}

/**
 * The `--json` shapes both targets print (src/target.ts; README "JSON output"): sorted key lists, for
 * `assert.deepEqual(Object.keys(x).sort(), JSON_KEYS.appStatus)` on either target.
 */
export const JSON_KEYS = {
  deployResult: keysOf<DeployResult>()("dryRun", "prerequisites", "apps"),
  deployedApp: keysOf<DeployedApp>()(
    "name",
    "namespace",
    "container",
    "model",
    "image",
    "changes",
    "endpoint",
    "ready",
    "replicas",
    "startup",
    "timeline",
    "requiresApiKey",
    "objects",
    "docker",
  ),
  statusResult: keysOf<StatusResult>()("apps"),
  appStatus: keysOf<AppStatus>()(
    "name",
    "namespace",
    "container",
    "deployed",
    "ready",
    "replicas",
    "state",
    "reason",
    "startup",
    "timeline",
    "hint",
    "endpoint",
    "ingress",
    "route",
    "modelId",
    "modelUri",
    "modelSource",
    "image",
    "created",
    "age",
    "description",
    "links",
    "requiresApiKey",
    "apiKey",
    "groups",
    "adapters",
  ),
  listResult: keysOf<ListResult>()("namespace", "apps"),
  appSummary: keysOf<AppSummary>()(
    "name",
    "namespace",
    "ready",
    "replicas",
    "endpoint",
    "modelId",
    "image",
    "age",
    "state",
  ),
  deleteResult: keysOf<DeleteResult>()("apps"),
  deletedApp: keysOf<DeletedApp>()("name", "namespace", "deleted", "kept", "purgedCache"),
  /** without --timestamps there is no `time` */
  logLine: ["line", "replica"] satisfies (keyof LogLine)[],
  logLineWithTime: keysOf<LogLine>()("replica", "time", "line"),
};
