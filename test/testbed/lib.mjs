// vllmapp test bed: a real Kubernetes control plane (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, kwok with fake GPU nodes) and a
// Docker engine with a locally built vLLM stand-in image, all on 127.0.0.1.
//
//   import { startTestbed, stopTestbed } from './lib.mjs';
//   const tb = await startTestbed();          // provisions what is missing, starts everything
//   process.env = { ...process.env, ...tb.env };
//   await tb.stop();                          // stops exactly what it started
//
// Everything it starts is recorded in <workDir>/state.json (pids, ports, paths)
// so that a separate process (down.mjs) can stop it. Other servers join through
// test/testbed/services.mjs (see README.md).
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createBridge, startRealNode, stopRealNode, REAL_NODE } from "./node.mjs";
import { ensureVllmImage } from "./vllm-image.mjs";
import { ensureRcloneImage } from "./rclone-image.mjs";
import { ensureTinyModel } from "./tiny-model.mjs";
import { publishTinyModel } from "./publish.mjs";
import {
  ensureClusterNetBinaries,
  startClusterNet,
  stopClusterNet,
  SERVICE_CIDR,
  KUBERNETES_SERVICE_IP,
} from "./cluster-net.mjs";
import { ensureRegistryBinary, forgetImages, pushArchive, startRegistry, writeHostsToml } from "./registry.mjs";

/**
 * @typedef {{ env?: NodeJS.ProcessEnv, cwd?: string, input?: string | Buffer, timeoutMs?: number,
 *   allowFail?: boolean, stderrTo?: NodeJS.WritableStream }} RunOptions
 * @typedef {{ code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }} RunResult
 * @typedef {{ timeoutMs?: number, intervalMs?: number, logFile?: string, isAlive?: () => boolean }} WaitOptions
 * @typedef {{ ca: Buffer, cert: Buffer, key: Buffer }} Tls  a client's TLS options (adminTls)
 * @typedef {{ name: string, pid: number, bin: string, args: string[], logFile: string }} ProcessRecord  one in state.json
 * @typedef {ProcessRecord & { alive: () => boolean }} SpawnedProcess
 * @typedef {{ startedByUs: boolean, host: string, serverVersion?: string | null, execRoot?: string,
 *   dataRoot?: string, storage?: string }} DockerState
 * @typedef {{ bridge?: string, bridgeCreated?: boolean, bridgeIfindex?: number, nodeDir?: string, runDir?: string,
 *   containerdSock?: string, containerdRoot?: string, createdHostPaths?: string[], name?: string }} NodeState
 * @typedef {Record<string, string>} TestbedEnv  what the tests get (KUBECONFIG, VLLM_IMAGE, ...)
 */
/**
 * The test bed's state.json.
 * @typedef {object} TestbedState
 * @property {number} version
 * @property {string} workDir
 * @property {string} startedAt
 * @property {number} ownerPid
 * @property {ProcessRecord[]} processes
 * @property {Record<string, number>} ports
 * @property {DockerState | null} docker
 * @property {Record<string, Record<string, unknown>>} services
 * @property {TestbedEnv} env
 * @property {NodeState} [node]
 * @property {{ host: string, storage: string }} [registry]
 * @property {number} [bringUpSeconds]
 * @property {boolean} [ready]
 */
/**
 * test/cluster/versions.env (readVersions checks the first three, extraBinPaths the rest)
 * @typedef {{ K8S_VERSION: string, ETCD_VERSION: string, KWOK_VERSION: string, K8S_OLDEST_VERSION: string,
 *   KUBE_SCORE_VERSION: string, KUBECONFORM_VERSION: string, PSS_VERSION: string, SCHEMA_K8S_VERSIONS: string }} Versions
 * @typedef {ReturnType<typeof binPaths>} BinPaths
 * @typedef {{ pki: string, server: string, bins: BinPaths, api: (path: string) => Promise<unknown>,
 *   kubectl: (args: string[], opts?: RunOptions) => Promise<RunResult> }} ClusterHandle  the control plane, for the real node
 * @typedef {{ tag: string, archive: string }} BuiltImage  a cached image and its docker-archive
 * @typedef {import("./services.mjs").Service} Service
 * @typedef {Ctx} TestbedContext  what the bring-up hands to node.mjs, registry.mjs and the services
 */
/**
 * startTestbed's options (its doc comment says what each does)
 * @typedef {object} TestbedOptions
 * @property {string} [workDir]
 * @property {boolean} [docker]
 * @property {boolean} [cluster]
 * @property {boolean} [oldest]
 * @property {boolean} [checkers]
 * @property {Service[]} [services]
 * @property {AbortSignal} [signal]
 * @property {boolean} [realNode]  the real node (default: with Docker and the cluster)
 * @property {boolean} [realVllm]  false: no real vLLM and rclone images (nor the registry and tiny model)
 * @property {boolean} [keepWorkDirOnFailure]
 */

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const CLUSTER_DIR = path.join(REPO_ROOT, "test/cluster");
export const STANDIN_DIR = path.join(REPO_ROOT, "test/standin");
export const FIXTURES_DIR = path.join(REPO_ROOT, "test/fixtures/testbed");
export const DEFAULT_WORK_DIR = process.env.VLLMAPP_TESTBED_DIR
  ? path.resolve(process.env.VLLMAPP_TESTBED_DIR)
  : path.join(REPO_ROOT, ".testbed");

// Docker settings: our own dockerd uses a non-RFC1918 bridge (198.18.0.0/15 is
// the RFC 2544 benchmarking range), so even docker-proxy never targets 10/8,
// 172.16/12 or 192.168/16.
export const DOCKER_SOCKET = "/var/run/docker.sock";
export const DOCKER_BIP = "198.18.0.1/24";
export const DOCKER_POOL = "base=198.18.0.0/16,size=24";
// Bump when the stand-in image layout (not the Go source) changes.
const STANDIN_RECIPE = "standin-image-v1";

const t0 = Date.now();
/** @param {string} msg */
export function log(msg) {
  const s = ((Date.now() - t0) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[testbed ${s}s] ${msg}\n`);
}

export class TestbedError extends Error {}

// The abort signal of the bring-up in progress (startTestbed's opts.signal): run() kills its child and
// waitFor() stops polling when it fires, so an interrupted bring-up can tear down what it started.
/** @type {AbortSignal | null} */
let activeSignal = null;
function checkAborted() {
  if (activeSignal?.aborted) throw new TestbedError("test bed bring-up interrupted");
}

// ---------------------------------------------------------------- helpers

/** @returns {Versions} */
export function readVersions() {
  const txt = fs.readFileSync(path.join(CLUSTER_DIR, "versions.env"), "utf8");
  /** @type {Record<string, string>} */
  const v = {};
  for (const line of txt.split("\n")) {
    const m = /^\s*([A-Z0-9_]+)=(\S+)/.exec(line);
    if (m) v[/** @type {string} */ (m[1])] = /** @type {string} */ (m[2]);
  }
  for (const k of ["K8S_VERSION", "ETCD_VERSION", "KWOK_VERSION"]) {
    if (!v[k]) throw new TestbedError(`test/cluster/versions.env lacks ${k}`);
  }
  return /** @type {Versions} */ (v);
}

export function cacheRoot() {
  if (process.env.VLLMAPP_TESTBED_CACHE) return path.resolve(process.env.VLLMAPP_TESTBED_CACHE);
  const xdg = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(xdg, "vllmapp-testbed");
}

/** Same bytes as build-bins.sh's nodetools_hash: sha256 over "<relative path><content>" of each .go/go.mod file. */
function nodetoolsHash() {
  const dir = path.join(CLUSTER_DIR, "nodetools");
  /** @type {(d: string, p?: string) => string[]} */
  const walk = (d, p = "") =>
    fs
      .readdirSync(d, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name), `${p}${e.name}/`) : [p + e.name]));
  const h = crypto.createHash("sha256");
  for (const f of walk(dir)
    .filter((f) => /\.go$|(^|\/)go\.mod$/.test(f))
    .sort()) {
    h.update(f);
    h.update(fs.readFileSync(path.join(dir, f)));
  }
  return h.digest("hex").slice(0, 16);
}

export function binPaths(v = readVersions(), root = cacheRoot()) {
  const k8s = path.join(root, `k8s-${v.K8S_VERSION}`);
  const etcd = path.join(root, `etcd-${v.ETCD_VERSION}`);
  const kwok = path.join(root, `kwok-${v.KWOK_VERSION}`);
  const kubelet = path.join(root, `kubelet-${v.K8S_VERSION}`);
  const nodetools = path.join(root, `nodetools-${nodetoolsHash()}`);
  return {
    cacheRoot: root,
    dirs: { k8s, etcd, kwok, kubelet, nodetools },
    kubelet: path.join(kubelet, "kubelet"),
    nodetools,
    kubeApiserver: path.join(k8s, "kube-apiserver"),
    kubeControllerManager: path.join(k8s, "kube-controller-manager"),
    kubeScheduler: path.join(k8s, "kube-scheduler"),
    kubectl: path.join(k8s, "kubectl"),
    etcd: path.join(etcd, "etcd"),
    kwok: path.join(kwok, "kwok"),
    kwokCrds: path.join(kwok, "crds"),
  };
}

/** @param {string} file */
function tail(file, n = 30) {
  try {
    const lines = fs.readFileSync(file, "utf8").trimEnd().split("\n");
    return lines.slice(-n).join("\n");
  } catch {
    return "(no log)";
  }
}

/**
 * Run a command to completion; throws TestbedError with its output on failure.
 * @param {string} cmd @param {readonly string[]} args @param {RunOptions} [opts]
 * @returns {Promise<RunResult>}
 */
export function run(cmd, args, opts = {}) {
  const { env, cwd, input, timeoutMs = 120_000, allowFail = false, stderrTo } = opts;
  return new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn(cmd, args, { env: env ?? process.env, cwd, stdio: ["pipe", "pipe", "pipe"] });
    } catch (e) {
      reject(new TestbedError(`cannot run ${cmd}: ${/** @type {Error} */ (e).message}`));
      return;
    }
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => {
      err += d;
      if (stderrTo) stderrTo.write(d);
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    const signal = activeSignal;
    const onAbort = () => child.kill("SIGKILL");
    signal?.addEventListener("abort", onAbort, { once: true });
    child.on("close", () => signal?.removeEventListener("abort", onAbort));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new TestbedError(`cannot run ${cmd}: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const res = { code, signal, stdout: out, stderr: err };
      if ((code === 0 || allowFail) && !signal) resolve(res);
      else if (allowFail) resolve(res);
      else
        reject(
          new TestbedError(
            `${path.basename(cmd)} ${args.join(" ").slice(0, 300)} failed (${signal ?? "exit " + code}):\n${(err || out).trim().slice(-3000)}`,
          ),
        );
    });
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

/** @param {string} name */
export function which(name) {
  for (const dir of (process.env.PATH || "").split(":")) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {}
  }
  for (const dir of ["/usr/sbin", "/sbin", "/usr/local/sbin"]) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  return null;
}

/**
 * A free TCP port on 127.0.0.1 (bind to port 0, read it, close).
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {net.AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Poll fn until it returns a truthy value; throws with `what` and a log tail on timeout.
 * @template T
 * @param {string} what @param {() => T | Promise<T>} fn @param {WaitOptions} [opts]
 * @returns {Promise<NonNullable<T>>}
 */
export async function waitFor(what, fn, { timeoutMs = 60_000, intervalMs = 200, logFile, isAlive } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastErr;
  for (;;) {
    checkAborted();
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      lastErr = e;
    }
    if (isAlive && !isAlive()) {
      throw new TestbedError(
        `${what}: process exited${logFile ? `; last log lines of ${logFile}:\n${tail(logFile)}` : ""}`,
      );
    }
    if (Date.now() > deadline) {
      throw new TestbedError(
        `timed out after ${timeoutMs / 1000}s waiting for ${what}${lastErr ? ` (last error: ${/** @type {Error} */ (lastErr).message})` : ""}` +
          (logFile ? `; last log lines of ${logFile}:\n${tail(logFile)}` : ""),
      );
    }
    await sleep(intervalMs);
  }
}

/**
 * @param {string} url
 * @param {{ method?: string, body?: string, headers?: Record<string, string | number>, tls?: Tls, timeoutMs?: number }} [opts]
 * @returns {Promise<{ status: number | undefined, body: string }>}
 */
function request(url, { method = "GET", body, headers = {}, tls, timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === "https:" ? https : http;
    const req = mod.request(
      u,
      {
        method,
        headers: { ...headers, ...(body ? { "content-length": Buffer.byteLength(body) } : {}) },
        timeout: timeoutMs,
        ...(tls || {}),
      },
      (res) => {
        let data = "";
        res.on("data", (d) => (data += d));
        res.on("end", () => resolve({ status: res.statusCode, body: data }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timeout after ${timeoutMs}ms`)));
    req.on("error", reject);
    if (body) req.end(body);
    else req.end();
  });
}

// ---------------------------------------------------------------- processes

/** @param {number} pid */
function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return /** @type {NodeJS.ErrnoException} */ (e).code === "EPERM";
  }
}

/**
 * True if `pid` is still the process we started (guards against pid reuse).
 * @param {{ pid?: number, bin?: string } | undefined} p
 */
function isOurProcess(p) {
  if (!p?.pid || !isAlive(p.pid)) return false;
  try {
    const exe = fs.readlinkSync(`/proc/${p.pid}/exe`).replace(/ \(deleted\)$/, "");
    if (p.bin && exe !== p.bin && path.basename(exe) !== path.basename(p.bin)) return false;
    // zombies count as gone
    const stat = fs.readFileSync(`/proc/${p.pid}/stat`, "utf8");
    const st = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return st !== "Z";
  } catch {
    return isAlive(p.pid);
  }
}

/**
 * Stop one recorded process: SIGTERM, wait, then SIGKILL its process group.
 * @param {ProcessRecord | undefined} p @param {{ timeoutMs?: number }} [opts]
 */
export async function stopProcess(p, { timeoutMs = 15_000 } = {}) {
  if (!p || !isOurProcess(p)) return false;
  try {
    process.kill(p.pid, "SIGTERM");
  } catch {}
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isOurProcess(p)) return true;
    await sleep(100);
  }
  log(`${p.name} (pid ${p.pid}) ignored SIGTERM for ${timeoutMs / 1000}s; sending SIGKILL`);
  try {
    process.kill(-p.pid, "SIGKILL"); // its own process group (spawned detached)
  } catch {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {}
  }
  for (let i = 0; i < 50 && isOurProcess(p); i++) await sleep(100);
  return true;
}

// ---------------------------------------------------------------- state

/** @param {string} workDir */
export function statePath(workDir) {
  return path.join(workDir, "state.json");
}

/** @returns {TestbedState | null} */
export function readState(workDir = DEFAULT_WORK_DIR) {
  try {
    return JSON.parse(fs.readFileSync(statePath(workDir), "utf8"));
  } catch {
    return null;
  }
}

/**
 * Write the state file whole (a temporary file renamed over it, so a reader never sees half of it).
 * @param {string} workDir @param {TestbedState} state
 */
function writeState(workDir, state) {
  fs.mkdirSync(workDir, { recursive: true });
  const tmp = statePath(workDir) + ".tmp";
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2) + "\n");
  fs.renameSync(tmp, statePath(workDir));
}

/**
 * True if any process recorded in the state is still running.
 * @param {TestbedState | null} state
 */
export function stateIsLive(state) {
  return !!state && (state.processes || []).some((p) => isOurProcess(p));
}

class Ctx {
  /** @param {string} workDir */
  constructor(workDir) {
    this.workDir = workDir;
    this.logDir = path.join(workDir, "logs");
    /** @type {TestbedState} */
    this.state = {
      version: 1,
      workDir,
      startedAt: new Date().toISOString(),
      ownerPid: process.pid,
      processes: [],
      ports: {},
      docker: null,
      services: {},
      env: {},
    };
    this.log = log;
    this.freePort = freePort;
    this.waitFor = waitFor;
    this.run = run;
    this.which = which;
    this.Error = TestbedError;
    /**
     * the pod bridge address servers also listen on (so pods and containers reach them), when the real node runs
     * @type {string | null}
     */
    this.podHost = null;
    // set during the bring-up
    /** @type {ClusterHandle | undefined} the control plane, once it runs */
    this.cluster = undefined;
    /** @type {{ vllm: BuiltImage, rclone: BuiltImage } | undefined} the real vLLM and rclone images */
    this.images = undefined;
    /** @type {Promise<Record<string, string>> | undefined} the registry pushes: image tag → registry ref */
    this.pushing = undefined;
    /** @type {string | undefined} the OCI registry's host:port */
    this.registryHost = undefined;
  }

  save() {
    writeState(this.workDir, this.state);
  }

  /**
   * Start a long-running process, detached, logging to logs/<name>.log; recorded in the state.
   * @param {string} name @param {string} bin @param {string[]} args
   * @param {{ env?: NodeJS.ProcessEnv, cwd?: string }} [opts]
   * @returns {SpawnedProcess}
   */
  spawn(name, bin, args, { env, cwd } = {}) {
    checkAborted();
    fs.mkdirSync(this.logDir, { recursive: true });
    const logFile = path.join(this.logDir, `${name}.log`);
    const fd = fs.openSync(logFile, "a");
    let child;
    try {
      child = spawn(bin, args, {
        env: env ?? process.env,
        cwd: cwd ?? this.workDir,
        detached: true, // own process group: a Ctrl-C to the parent does not kill it before teardown
        stdio: ["ignore", fd, fd],
      });
    } finally {
      fs.closeSync(fd);
    }
    if (!child.pid) throw new TestbedError(`could not start ${name} (${bin})`);
    let exited = false;
    child.on("exit", () => (exited = true));
    child.on("error", () => (exited = true));
    child.unref();
    const rec = { name, pid: child.pid, bin, args, logFile };
    this.state.processes.push(rec);
    fs.writeFileSync(path.join(this.workDir, `${name}.pid`), `${child.pid}\n`);
    this.save();
    const pid = child.pid;
    return { ...rec, alive: () => !exited && isAlive(pid) };
  }

  /**
   * HTTP(S) GET until it answers `okStatus`.
   * @param {string} what @param {string} url
   * @param {{ tls?: Tls, okStatus?: number, timeoutMs?: number, proc?: SpawnedProcess }} [opts]
   */
  waitForHttp(what, url, { tls, okStatus = 200, timeoutMs, proc } = {}) {
    return waitFor(what, async () => (await request(url, { tls, timeoutMs: 3000 })).status === okStatus, {
      timeoutMs,
      logFile: proc?.logFile,
      isAlive: proc?.alive,
    });
  }
}

/**
 * Restart one process of a running test bed, as an operator or a control-plane upgrade would: stop it
 * (SIGTERM: a graceful shutdown that closes its connections; SIGKILL: connections reset), stay down for
 * `downMs`, start it again with the same binary and arguments (same ports), and wait until it answers.
 * The new pid replaces the old one in the state file, so teardown stops the new process.
 * kube-apiserver and dockerd (one the test bed started) can be restarted; `node test/testbed/restart.mjs`
 * is the command-line form.
 * @param {string} workDir @param {string} name
 * @param {{ signal?: "SIGTERM" | "SIGKILL", downMs?: number }} [opts]
 */
export async function restartProcess(workDir, name, { signal = "SIGTERM", downMs = 0 } = {}) {
  if (name !== "kube-apiserver" && name !== "dockerd")
    throw new TestbedError(`restartProcess: only kube-apiserver and dockerd can be restarted (asked for ${name})`);
  const state = readState(workDir);
  const rec = state?.processes?.find((p) => p.name === name);
  if (!rec || !isOurProcess(rec)) {
    throw new TestbedError(
      `no running ${name} of the test bed at ${workDir}${name === "dockerd" && state?.docker && !state.docker.startedByUs ? " (it uses a Docker engine it did not start, and does not restart that one)" : ""}`,
    );
  }
  if (name === "dockerd" && signal === "SIGKILL")
    throw new TestbedError("dockerd is restarted with SIGTERM only (SIGKILL would orphan its containerd)");
  const t0 = Date.now();
  if (signal === "SIGKILL") {
    try {
      process.kill(rec.pid, "SIGKILL");
    } catch {}
    for (let i = 0; i < 100 && isOurProcess(rec); i++) await sleep(50);
  } else {
    // kube-apiserver stops listening at once and closes its watches; the process itself can linger for a
    // minute on its own shutdown, and is then killed, as a kubelet kills a static pod after its grace
    // period. dockerd stops its containers first (their own grace period, 10 s).
    await stopProcess(rec, { timeoutMs: name === "dockerd" ? 30_000 : 5_000 });
  }
  if (isOurProcess(rec)) throw new TestbedError(`${name} (pid ${rec.pid}) did not stop`);
  const stoppedAt = Date.now();
  await sleep(downMs);
  const fd = fs.openSync(rec.logFile, "a");
  let child;
  try {
    // dockerd gets the dead proxy it was started with (startDocker)
    const env =
      name === "dockerd"
        ? { ...process.env, HTTP_PROXY: "http://127.0.0.1:9", HTTPS_PROXY: "http://127.0.0.1:9", NO_PROXY: "" }
        : process.env;
    child = spawn(rec.bin, rec.args, { cwd: workDir, detached: true, stdio: ["ignore", fd, fd], env });
  } finally {
    fs.closeSync(fd);
  }
  child.unref();
  const pid = /** @type {number} */ (child.pid); // a spawn that fails (ENOENT) fails the wait below
  const fresh = /** @type {TestbedState} */ (readState(workDir));
  fresh.processes = fresh.processes.map((p) => (p.name === name ? { ...p, pid } : p));
  writeState(workDir, fresh);
  fs.writeFileSync(path.join(workDir, `${name}.pid`), `${child.pid}\n`);
  /** @type {() => Promise<unknown>} */
  let answers = () => dockerAnswers(process.env);
  if (name === "kube-apiserver") {
    const tls = adminTls(path.join(workDir, "pki"));
    // rec was found in the state
    answers = () => apiserverReady(`https://127.0.0.1:${/** @type {TestbedState} */ (state).ports.apiserver}`, tls);
  }
  await waitFor(`${name} to answer after the restart`, answers, {
    timeoutMs: 90_000,
    intervalMs: 100,
    logFile: rec.logFile,
    isAlive: () => isAlive(pid),
  });
  // it stopped accepting connections at t0 (SIGTERM or SIGKILL)
  return { pid: child.pid, stoppedSeconds: (stoppedAt - t0) / 1000, downSeconds: (Date.now() - t0) / 1000 };
}

// ---------------------------------------------------------------- provisioning

/** Build the control-plane binaries into the cache (test/cluster/build-bins.sh) when missing. */
export async function ensureBinaries() {
  const v = readVersions();
  const b = binPaths(v);
  const missing = Object.entries(b.dirs)
    .filter(([, d]) => !fs.existsSync(path.join(d, ".complete")))
    .map(([k]) => k);
  if (missing.length === 0) return b;
  log(
    `building ${missing.join(", ")} from Go modules into ${cacheRoot()} (cold build takes several minutes on 2 cores)`,
  );
  const started = Date.now();
  const child = spawn("bash", [path.join(CLUSTER_DIR, "build-bins.sh"), ...missing], {
    stdio: ["ignore", "ignore", "pipe"],
    detached: true, // own process group, so an interrupt stops go build too
  });
  child.stderr.on("data", (d) => process.stderr.write(d));
  const beat = setInterval(() => log(`... still building (${Math.round((Date.now() - started) / 60000)} min)`), 60_000);
  const signal = activeSignal;
  const onAbort = () => {
    try {
      process.kill(-(/** @type {number} */ (child.pid)), "SIGTERM"); // bash and the go build it runs
    } catch {}
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  const code = await new Promise((r) => child.on("close", r));
  signal?.removeEventListener("abort", onAbort);
  clearInterval(beat);
  checkAborted();
  if (code !== 0)
    throw new TestbedError(
      `building the control-plane binaries failed (test/cluster/build-bins.sh exit ${code}); see the output above`,
    );
  log(`binaries built in ${Math.round((Date.now() - started) / 1000)}s`);
  return b;
}

/**
 * sha256 over "<path relative to the repo><content>" of each file, then `extra` (build-bins.sh's files_hash).
 * @param {string} extra @param {string[]} files
 */
function filesHash(extra, files) {
  const h = crypto.createHash("sha256");
  for (const f of files) {
    h.update(f);
    h.update(fs.readFileSync(path.join(REPO_ROOT, f)));
  }
  h.update(extra);
  return h.digest("hex").slice(0, 16);
}

/**
 * Where build-bins.sh's `k8s-oldest` and `checkers` components put their outputs: the oldest supported
 * minor's kube-apiserver, kube-score, kubeconform, psscheck and kubeconform's generated schemas.
 */
export function extraBinPaths(v = readVersions(), root = cacheRoot()) {
  for (const k of /** @type {const} */ ([
    "K8S_OLDEST_VERSION",
    "KUBE_SCORE_VERSION",
    "KUBECONFORM_VERSION",
    "PSS_VERSION",
    "SCHEMA_K8S_VERSIONS",
  ])) {
    if (!v[k]) throw new TestbedError(`test/cluster/versions.env lacks ${k}`);
  }
  const oldest = path.join(root, `k8s-oldest-${v.K8S_OLDEST_VERSION}`);
  const kubeScore = path.join(root, `kube-score-${v.KUBE_SCORE_VERSION}`);
  const kubeconform = path.join(root, `kubeconform-${v.KUBECONFORM_VERSION}`);
  const pss = ["go.mod", "go.sum", "main.go"].map((f) => `test/checks/psscheck/${f}`);
  const psscheck = path.join(root, `psscheck-${filesHash(v.PSS_VERSION, pss)}`);
  const schemas = path.join(root, `kube-schemas-${filesHash(v.SCHEMA_K8S_VERSIONS, ["test/checks/gen-schemas.mjs"])}`);
  return {
    oldest: { dirs: { oldest }, kubeApiserver: path.join(oldest, "kube-apiserver") },
    checkers: {
      dirs: { kubeScore, kubeconform, psscheck, schemas },
      kubeScore: path.join(kubeScore, "kube-score"),
      kubeconform: path.join(kubeconform, "kubeconform"),
      psscheck: path.join(psscheck, "psscheck"),
      schemas,
    },
  };
}

/**
 * Build one group of build-bins.sh components when any of `dirs` lacks its .complete marker. Its own
 * build-bins.sh process, so it runs alongside ensureBinaries() (the cold times are in README.md).
 * @template {{ dirs: Record<string, string> }} P
 * @param {string} what @param {string[]} components @param {P} paths
 * @returns {Promise<P>}
 */
async function ensureBuilt(what, components, paths) {
  if (Object.values(paths.dirs).every((d) => fs.existsSync(path.join(d, ".complete")))) return paths;
  log(`building ${what} into ${cacheRoot()}`);
  const started = Date.now();
  const child = spawn("bash", [path.join(CLUSTER_DIR, "build-bins.sh"), ...components], {
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
  });
  child.stderr.on("data", (d) => process.stderr.write(d));
  const signal = activeSignal;
  const onAbort = () => {
    try {
      process.kill(-(/** @type {number} */ (child.pid)), "SIGTERM");
    } catch {}
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  const code = await new Promise((r) => child.on("close", r));
  signal?.removeEventListener("abort", onAbort);
  checkAborted();
  if (code !== 0)
    throw new TestbedError(
      `building ${what} failed (test/cluster/build-bins.sh ${components.join(" ")} exit ${code}); see the output above`,
    );
  log(`${what} built in ${Math.round((Date.now() - started) / 1000)}s`);
  return paths;
}

/** The oldest supported minor's kube-apiserver (build-bins.sh k8s-oldest). */
export function ensureOldestBinaries() {
  return ensureBuilt("the oldest kube-apiserver", ["k8s-oldest"], extraBinPaths().oldest);
}

/** kube-score, kubeconform and its schemas, psscheck (build-bins.sh checkers). */
export function ensureCheckers() {
  return ensureBuilt("the manifest checkers", ["checkers"], extraBinPaths().checkers);
}

// apt runs one at a time (dpkg's lock), and `apt-get update` once per process.
let aptQueue = Promise.resolve();
let aptUpdated = false;

/**
 * Install the Debian packages whose check fails, with apt (root). `wanted`: [{ pkg, has: () => bool }].
 * Fails loudly when something cannot be provisioned: nothing is skipped.
 * @param {{ pkg: string, has: () => boolean }[]} wanted @param {string} why
 */
export function ensureDebianPackages(wanted, why) {
  const job = aptQueue.then(async () => {
    const missing = wanted.filter((w) => !w.has()).map((w) => w.pkg);
    if (missing.length === 0) return;
    if (process.getuid?.() !== 0)
      throw new TestbedError(
        `${why} needs ${missing.join(", ")} and we are not root: apt-get install -y ${missing.join(" ")}`,
      );
    if (!which("apt-get")) throw new TestbedError(`${why} needs ${missing.join(", ")} and apt-get is not available`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const lock = ["-o", "DPkg::Lock::Timeout=600"];
    if (!aptUpdated) {
      log("apt-get update");
      await run("apt-get", [...lock, "update"], { env, timeoutMs: 600_000 });
      aptUpdated = true;
    }
    log(`${why}: apt-get install -y ${missing.join(" ")}`);
    await run("apt-get", [...lock, "install", "-y", "--no-install-recommends", ...missing], {
      env,
      timeoutMs: 900_000,
    });
    const still = wanted.filter((w) => !w.has()).map((w) => w.pkg);
    if (still.length) throw new TestbedError(`apt-get install ${still.join(" ")} finished but they are still missing`);
    log(`${missing.join(", ")} installed`);
  });
  aptQueue = job.catch(() => {});
  return job;
}

/** Install Debian's docker.io with apt when dockerd is missing. */
export function ensureDockerInstalled() {
  return ensureDebianPackages(
    [{ pkg: "docker.io", has: () => !!(which("dockerd") && which("docker")) }],
    "the Docker engine",
  );
}

/** What the real node runs on: Debian's containerd, runc, CNI plugins, iproute2. */
export function ensureNodePackages() {
  return ensureDebianPackages(
    [
      { pkg: "containerd", has: () => !!(which("containerd") && which("ctr")) },
      { pkg: "runc", has: () => !!which("runc") },
      {
        pkg: "containernetworking-plugins",
        has: () => fs.existsSync("/usr/lib/cni/bridge") && fs.existsSync("/usr/lib/cni/host-local"),
      },
      { pkg: "iproute2", has: () => !!which("ip") },
    ],
    "the real node",
  );
}

// ---------------------------------------------------------------- PKI

/**
 * A random serial per certificate: -CAcreateserial has every signing read and rewrite one ca.srl, and the
 * certificates here are signed at the same time (a run failed with "Unable to load number from ca.srl").
 */
function serial() {
  return ["-set_serial", `0x${crypto.randomBytes(16).toString("hex")}`];
}

/**
 * The TLS options of the admin client: the test bed's CA and the admin's certificate.
 * @param {string} pki
 * @returns {Tls}
 */
function adminTls(pki) {
  return {
    ca: fs.readFileSync(path.join(pki, "ca.crt")),
    cert: fs.readFileSync(path.join(pki, "admin.crt")),
    key: fs.readFileSync(path.join(pki, "admin.key")),
  };
}

/** @param {string} server @param {Tls} tls */
async function apiserverReady(server, tls) {
  return (await request(`${server}/readyz`, { tls, timeoutMs: 3000 })).status === 200;
}

/**
 * A certificate of the test bed's CA (`<pki>/ca.crt`, `ca.key`) with a new P-256 key: `<dir>/<name>.crt` and
 * `.key`, for `subject` (openssl's -subj), with the extensions of `<pki>/<ext>` (made by makePki). The API
 * server's, the admin's, the real node's kubelet's (node.mjs), kube-proxy's and CoreDNS's (cluster-net.mjs).
 * @param {{ dir: string, pki: string, name: string, subject: string, ext?: "client.ext" | "server.ext",
 *   run?: typeof run }} what  run: the context's, where there is one
 * @returns {Promise<{ cert: string, key: string }>}
 */
export async function issueCert({ dir, pki, name, subject, ext = "client.ext", run: runCmd = run }) {
  /** @param {string[]} args */
  const o = (args) => runCmd("openssl", args, { cwd: dir });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await o(["req", "-new", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject]);
  await o([
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    path.join(pki, "ca.crt"),
    "-CAkey",
    path.join(pki, "ca.key"),
    ...serial(),
    "-days",
    "30",
    "-out",
    `${name}.crt`,
    "-extfile",
    path.join(pki, ext),
  ]);
  return { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
}

/** @param {string} dir */
async function makePki(dir) {
  fs.mkdirSync(dir, { recursive: true });
  /** @param {string[]} args */
  const o = (args) => run("openssl", args, { cwd: dir });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  fs.writeFileSync(
    path.join(dir, "ca.cnf"),
    "[req]\ndistinguished_name = dn\nx509_extensions = v3_ca\nprompt = no\n[dn]\nCN = vllmapp-testbed-ca\n" +
      "[v3_ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n",
  );
  await o(["req", "-x509", "-new", ...ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "30", "-config", "ca.cnf"]);
  fs.writeFileSync(
    path.join(dir, "server.ext"),
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n" +
      `subjectAltName=IP:127.0.0.1,DNS:localhost,IP:${KUBERNETES_SERVICE_IP},DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n`,
  );
  fs.writeFileSync(
    path.join(dir, "client.ext"),
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n",
  );
  await Promise.all([
    issueCert({ dir, pki: dir, name: "apiserver", subject: "/CN=kube-apiserver", ext: "server.ext" }),
    issueCert({ dir, pki: dir, name: "admin", subject: "/O=system:masters/CN=vllmapp-testbed-admin" }),
    o(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", "sa.key"]).then(() =>
      o(["pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub"]),
    ),
  ]);
}

/**
 * A kubeconfig for the test cluster (CA from the test bed PKI) with one client-cert user: the admin's
 * (KUBECONFIG), or the real node's kubelet (node.mjs).
 * @param {string} file @param {string} server @param {string} pki
 * @param {{ user: string, cert: string, key: string, context?: string, namespace?: string }} who
 *   the user's name, client certificate and key files
 */
export function writeKubeconfig(file, server, pki, { user, cert, key, context = "vllmapp-testbed", namespace }) {
  /** @param {string} f */
  const b64 = (f) => fs.readFileSync(f).toString("base64");
  fs.writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters:
- name: vllmapp-testbed
  cluster:
    server: ${server}
    certificate-authority-data: ${b64(path.join(pki, "ca.crt"))}
users:
- name: ${user}
  user:
    client-certificate-data: ${b64(cert)}
    client-key-data: ${b64(key)}
contexts:
- name: ${context}
  context:
    cluster: vllmapp-testbed
    user: ${user}
${namespace ? `    namespace: ${namespace}\n` : ""}current-context: ${context}
`,
    { mode: 0o600 },
  );
}

// ---------------------------------------------------------------- control plane

const KWOK_CRDS = [
  "Stage",
  "Logs",
  "ClusterLogs",
  "PortForward",
  "ClusterPortForward",
  "Exec",
  "ClusterExec",
  "Attach",
  "ClusterAttach",
];
/** @type {Record<string, string>} */
const CRD_FILES = {
  Stage: "stages",
  Logs: "logs",
  ClusterLogs: "clusterlogs",
  PortForward: "portforwards",
  ClusterPortForward: "clusterportforwards",
  Exec: "execs",
  ClusterExec: "clusterexecs",
  Attach: "attaches",
  ClusterAttach: "clusterattaches",
};

/** @param {Ctx} ctx @param {BinPaths} bins @param {Versions} versions */
async function startControlPlane(ctx, bins, versions) {
  const w = ctx.workDir;
  const pki = path.join(w, "pki");
  const kubeconfig = path.join(w, "admin.kubeconfig");
  const [etcdPort, peerPort, apiPort, kwokPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  Object.assign(ctx.state.ports, { etcd: etcdPort, etcdPeer: peerPort, apiserver: apiPort, kwok: kwokPort });
  ctx.save();

  await makePki(pki);
  const server = `https://127.0.0.1:${apiPort}`;
  writeKubeconfig(kubeconfig, server, pki, {
    user: "vllmapp-testbed-admin",
    cert: path.join(pki, "admin.crt"),
    key: path.join(pki, "admin.key"),
    namespace: "default",
  });
  const kubeCacheDir = path.join(w, "kube-cache");
  const kenv = { ...process.env, KUBECONFIG: kubeconfig, KUBECACHEDIR: kubeCacheDir };
  /** @param {string[]} args @param {RunOptions} [opts] */
  const kubectl = (args, opts = {}) => run(bins.kubectl, args, { env: kenv, timeoutMs: 60_000, ...opts });
  const tls = adminTls(pki);
  /** @param {string} p @returns {Promise<unknown>} */
  const api = async (p) => {
    const r = await request(server + p, { tls, timeoutMs: 5000 });
    if (r.status !== 200) throw new Error(`GET ${p}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
    return JSON.parse(r.body);
  };

  // etcd
  const etcd = ctx.spawn("etcd", bins.etcd, [
    "--name=testbed",
    `--data-dir=${path.join(w, "etcd")}`,
    `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
    `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
    `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-cluster=testbed=http://127.0.0.1:${peerPort}`,
    "--unsafe-no-fsync=true",
    "--log-level=warn",
  ]);
  await ctx.waitForHttp("etcd /health", `http://127.0.0.1:${etcdPort}/health`, { proc: etcd, timeoutMs: 30_000 });
  log(`etcd ${versions.ETCD_VERSION} up on 127.0.0.1:${etcdPort}`);

  // kube-apiserver
  const apiserver = ctx.spawn("kube-apiserver", bins.kubeApiserver, [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    "--bind-address=127.0.0.1",
    `--secure-port=${apiPort}`,
    "--advertise-address=127.0.0.1",
    "--endpoint-reconciler-type=none",
    `--tls-cert-file=${pki}/apiserver.crt`,
    `--tls-private-key-file=${pki}/apiserver.key`,
    `--cert-dir=${path.join(w, "apiserver-certs")}`,
    `--client-ca-file=${pki}/ca.crt`,
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    `--service-account-key-file=${pki}/sa.pub`,
    `--service-account-signing-key-file=${pki}/sa.key`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    "--authorization-mode=Node,RBAC",
    "--allow-privileged=true",
    "--enable-priority-and-fairness=false",
    "--kubelet-preferred-address-types=InternalIP,Hostname",
    // logs/exec/port-forward to the real node's kubelet authenticate with the admin client cert
    `--kubelet-client-certificate=${pki}/admin.crt`,
    `--kubelet-client-key=${pki}/admin.key`,
    "--profiling=false",
    "--v=1",
  ]);
  await waitFor("kube-apiserver /readyz", () => apiserverReady(server, tls), {
    timeoutMs: 90_000,
    logFile: apiserver.logFile,
    isAlive: apiserver.alive,
    intervalMs: 250,
  });
  log(`kube-apiserver ${versions.K8S_VERSION} ready on ${server}`);

  // kube-controller-manager + kube-scheduler (no serving ports at all)
  ctx.spawn("kube-controller-manager", bins.kubeControllerManager, [
    `--kubeconfig=${kubeconfig}`,
    "--leader-elect=false",
    "--controllers=*",
    `--service-account-private-key-file=${pki}/sa.key`,
    `--root-ca-file=${pki}/ca.crt`,
    "--use-service-account-credentials=false",
    "--bind-address=127.0.0.1",
    "--secure-port=0",
    "--profiling=false",
    "--v=1",
  ]);
  const schedCfg = path.join(w, "kube-scheduler.yaml");
  fs.writeFileSync(
    schedCfg,
    `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: ${JSON.stringify(kubeconfig)}
leaderElection:
  leaderElect: false
`,
  );
  ctx.spawn("kube-scheduler", bins.kubeScheduler, [
    `--config=${schedCfg}`,
    "--bind-address=127.0.0.1",
    "--secure-port=0",
    "--v=1",
  ]);

  // kwok CRDs, stages and default logs (CRD mode, so tests can add Logs/Stage objects)
  const crdFiles = KWOK_CRDS.map((k) => path.join(bins.kwokCrds, `kwok.x-k8s.io_${CRD_FILES[k]}.yaml`));
  await kubectl(["create", ...crdFiles.flatMap((f) => ["-f", f])]);
  await kubectl([
    "wait",
    "--for=condition=Established",
    "--timeout=60s",
    ...KWOK_CRDS.map((k) => `crd/${CRD_FILES[k]}.kwok.x-k8s.io`),
  ]);
  const clusterLogs = path.join(w, "kwok-clusterlogs.yaml");
  // kwok serves a missing log file as an empty log: fail here instead of in every logs test
  for (const f of ["vllm-container.log", "vllm-crash.log", "vllm-oom.log"]) {
    if (!fs.existsSync(path.join(FIXTURES_DIR, f)))
      throw new TestbedError(`log fixture ${path.join(FIXTURES_DIR, f)} is missing`);
  }
  fs.writeFileSync(
    clusterLogs,
    `apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: vllmapp-testbed-default
spec:
  logs:
  - containers: []
    logsFile: ${JSON.stringify(path.join(FIXTURES_DIR, "vllm-container.log"))}
    follow: false
`,
  );
  await kubectl([
    "create",
    "-f",
    path.join(CLUSTER_DIR, "kwok/stages-node.yaml"),
    "-f",
    path.join(CLUSTER_DIR, "kwok/stages-pod.yaml"),
    "-f",
    clusterLogs,
  ]);

  // kwok. All options as flags: a KwokConfiguration file given with --config is not defaulted
  // in kwok v0.8.0 (its parallelism options stay 0 and the node/pod controllers refuse to start).
  const kwok = ctx.spawn(
    "kwok",
    bins.kwok,
    [
      `--kubeconfig=${kubeconfig}`,
      // only the fake nodes: --manage-all-nodes would take over the real node (its kubelet endpoint and lease)
      "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
      "--node-ip=127.0.0.1",
      "--node-name=localhost",
      `--node-port=${kwokPort}`,
      `--server-address=127.0.0.1:${kwokPort}`,
      "--node-lease-duration-seconds=40",
      "--cidr=10.244.0.0/16",
      `--enable-crds=${KWOK_CRDS.join(",")}`,
    ],
    { env: { ...process.env, KWOK_WORKDIR: path.join(w, "kwok-home") } },
  );

  // GPU nodes
  const nodesYaml = fs
    .readFileSync(path.join(CLUSTER_DIR, "kwok/nodes.yaml"), "utf8")
    .replaceAll("${K8S_VERSION}", versions.K8S_VERSION);
  await kubectl(["create", "-f", "-"], { input: nodesYaml });
  const nodeNames = [...nodesYaml.matchAll(/^\s{2}name:\s*(\S+)/gm)].map((m) => /** @type {string} */ (m[1]));
  await waitFor(
    `nodes ${nodeNames.join(", ")} Ready and untainted`,
    async () => {
      const list = /** @type {import("@kubernetes/client-node").V1NodeList} */ (await api("/api/v1/nodes"));
      const ok = list.items.filter(
        (n) =>
          n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") &&
          !(n.spec?.taints || []).some((t) => t.key.startsWith("node.kubernetes.io/")),
      );
      return nodeNames.every((name) => ok.some((n) => n.metadata?.name === name));
    },
    { timeoutMs: 90_000, logFile: kwok.logFile, isAlive: kwok.alive, intervalMs: 250 },
  );
  await waitFor(
    "default ServiceAccount in namespace default",
    async () => !!(await api("/api/v1/namespaces/default/serviceaccounts/default")),
    {
      timeoutMs: 60_000,
    },
  );
  log(`kwok ${versions.KWOK_VERSION} up on 127.0.0.1:${kwokPort}; ${nodeNames.length} GPU nodes Ready`);
  ctx.cluster = { pki, server, kubectl, api, bins };

  return {
    KUBECONFIG: kubeconfig,
    VLLMAPP_TEST_KUBECTL: bins.kubectl,
    VLLMAPP_TEST_APISERVER: server,
    KUBECACHEDIR: kubeCacheDir,
  };
}

// ---------------------------------------------------------------- docker

/**
 * The oldest supported minor's API server, for server-side dry runs only: its own etcd (the same etcd
 * binary, its own data dir), its own PKI and kubeconfig, random loopback ports. No controller-manager,
 * scheduler or node: namespaces get no default ServiceAccount and deleted ones stay Terminating.
 * @param {Ctx} ctx @param {BinPaths} bins @param {{ kubeApiserver: string }} oldest @param {Versions} versions
 */
async function startOldestApiserver(ctx, bins, oldest, versions) {
  const w = ctx.workDir;
  const pki = path.join(w, "pki-oldest");
  const kubeconfig = path.join(w, "oldest.kubeconfig");
  const [etcdPort, peerPort, apiPort] = await Promise.all([freePort(), freePort(), freePort()]);
  Object.assign(ctx.state.ports, { etcdOldest: etcdPort, etcdOldestPeer: peerPort, apiserverOldest: apiPort });
  ctx.save();
  await makePki(pki);
  const server = `https://127.0.0.1:${apiPort}`;
  writeKubeconfig(kubeconfig, server, pki, {
    user: "vllmapp-testbed-admin",
    cert: path.join(pki, "admin.crt"),
    key: path.join(pki, "admin.key"),
    context: "vllmapp-testbed-oldest",
    namespace: "default",
  });
  const etcd = ctx.spawn("etcd-oldest", bins.etcd, [
    "--name=oldest",
    `--data-dir=${path.join(w, "etcd-oldest")}`,
    `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
    `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
    `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-cluster=oldest=http://127.0.0.1:${peerPort}`,
    "--unsafe-no-fsync=true",
    "--log-level=warn",
  ]);
  await ctx.waitForHttp("etcd-oldest /health", `http://127.0.0.1:${etcdPort}/health`, {
    proc: etcd,
    timeoutMs: 30_000,
  });
  const apiserver = ctx.spawn("kube-apiserver-oldest", oldest.kubeApiserver, [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    "--bind-address=127.0.0.1",
    `--secure-port=${apiPort}`,
    "--advertise-address=127.0.0.1",
    "--endpoint-reconciler-type=none",
    `--tls-cert-file=${pki}/apiserver.crt`,
    `--tls-private-key-file=${pki}/apiserver.key`,
    `--cert-dir=${path.join(w, "apiserver-oldest-certs")}`,
    `--client-ca-file=${pki}/ca.crt`,
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    `--service-account-key-file=${pki}/sa.pub`,
    `--service-account-signing-key-file=${pki}/sa.key`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    "--authorization-mode=RBAC",
    "--enable-priority-and-fairness=false",
    "--profiling=false",
    "--v=1",
  ]);
  await waitFor("kube-apiserver-oldest /readyz", () => apiserverReady(server, adminTls(pki)), {
    timeoutMs: 90_000,
    logFile: apiserver.logFile,
    isAlive: apiserver.alive,
    intervalMs: 250,
  });
  log(`kube-apiserver ${versions.K8S_OLDEST_VERSION} (oldest supported minor) ready on ${server}`);
  return {
    KUBECONFIG_OLDEST: kubeconfig,
    VLLMAPP_TEST_OLDEST_VERSION: versions.K8S_OLDEST_VERSION,
    VLLMAPP_TEST_APISERVER_OLDEST: server,
  };
}

/**
 * The engine's version when one answers with `env`'s DOCKER_HOST, else null.
 * @param {NodeJS.ProcessEnv} env
 */
async function dockerAnswers(env) {
  const r = await run("docker", ["version", "--format", "{{.Server.Version}}"], {
    env,
    allowFail: true,
    timeoutMs: 10_000,
  }).catch(() => null);
  return r && r.code === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

/**
 * @param {Ctx} ctx
 * @returns {Promise<TestbedEnv>}
 */
async function startDocker(ctx) {
  if (!which("docker")) throw new TestbedError("no docker CLI on PATH");
  // An engine that already answers (DOCKER_HOST or the default socket) is used as is and never stopped.
  const existing = await dockerAnswers(process.env);
  if (existing) {
    ctx.state.docker = {
      startedByUs: false,
      serverVersion: existing,
      host: process.env.DOCKER_HOST || `unix://${DOCKER_SOCKET}`,
    };
    ctx.save();
    log(`using the Docker engine that already answers (${existing}, ${ctx.state.docker.host})`);
    return process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {};
  }
  if (process.env.DOCKER_HOST && process.env.DOCKER_HOST !== `unix://${DOCKER_SOCKET}`) {
    throw new TestbedError(
      `DOCKER_HOST=${process.env.DOCKER_HOST} is set but no engine answers there; unset it to let the test bed start its own dockerd`,
    );
  }
  if (process.getuid?.() !== 0) throw new TestbedError("no Docker engine answers and starting dockerd needs root");
  await ensureDockerInstalled();
  const dir = path.join(ctx.workDir, "docker");
  // exec-root holds containerd's sockets: keep the path short (unix socket paths are limited to 108 bytes).
  const execRoot = `/run/vllmapp-testbed-${crypto.createHash("sha256").update(ctx.workDir).digest("hex").slice(0, 10)}`;
  fs.mkdirSync(dir, { recursive: true });
  const storage = process.env.VLLMAPP_TESTBED_DOCKER_STORAGE || "overlay2";
  // The data-root is kept in the cache, like the node's containerd root: the 6 GB vLLM image is loaded once
  // per machine, not once per run. Containers the test bed made are removed at teardown.
  const dataRoot = path.join(cacheRoot(), `docker-data-${storage}`);
  fs.mkdirSync(dataRoot, { recursive: true });
  const args = [
    `--host=unix://${DOCKER_SOCKET}`,
    `--data-root=${dataRoot}`,
    `--exec-root=${execRoot}`,
    `--pidfile=${path.join(dir, "dockerd.pid")}`,
    `--bip=${DOCKER_BIP}`,
    `--default-address-pool=${DOCKER_POOL}`,
    `--storage-driver=${storage}`,
    "--userland-proxy=true",
    // containers resolve names against their own loopback: a lookup fails at once, no DNS query leaves
    "--dns=127.0.0.1",
  ];
  ctx.state.docker = { startedByUs: true, execRoot, dataRoot, host: `unix://${DOCKER_SOCKET}`, storage };
  // A dead proxy: an image the test bed lacks fails at once, with no DNS lookup and no traffic leaving the machine.
  const proc = ctx.spawn("dockerd", /** @type {string} */ (which("dockerd")), args, {
    env: { ...process.env, HTTP_PROXY: "http://127.0.0.1:9", HTTPS_PROXY: "http://127.0.0.1:9", NO_PROXY: "" },
  });
  const version = await waitFor("dockerd to answer", () => dockerAnswers(process.env), {
    timeoutMs: 60_000,
    intervalMs: 300,
    logFile: proc.logFile,
    isAlive: proc.alive,
  });
  ctx.state.docker.serverVersion = version;
  ctx.save();
  log(`dockerd ${version} started (socket ${DOCKER_SOCKET}, bridge ${DOCKER_BIP}, storage ${storage})`);
  return {};
}

function standinHash() {
  const h = crypto.createHash("sha256");
  h.update(STANDIN_RECIPE);
  for (const f of fs
    .readdirSync(STANDIN_DIR)
    .filter((f) => /\.(go|mod|sum)$/.test(f))
    .sort()) {
    h.update(f);
    h.update(fs.readFileSync(path.join(STANDIN_DIR, f)));
  }
  return h.digest("hex").slice(0, 16);
}

/** Build (only when the source changed) and import the stand-in image; returns its tag. */
export async function ensureStandinImage(env = process.env) {
  const hash = standinHash();
  const tag = `vllmapp-standin:${hash}`;
  const inspect = await run("docker", ["image", "inspect", "--format", "{{.Id}}", tag], { env, allowFail: true });
  if (inspect.code === 0) return tag;
  const dir = path.join(cacheRoot(), `standin-${hash}`);
  const tarball = path.join(dir, "rootfs.tar");
  if (!fs.existsSync(tarball)) {
    if (!which("go")) throw new TestbedError("go is needed to build the vLLM stand-in (test/standin)");
    log(`building the vLLM stand-in (test/standin, ${hash})`);
    const tmp = `${dir}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    const root = path.join(tmp, "rootfs");
    for (const d of ["usr/local/bin", "etc", "tmp", "root"]) fs.mkdirSync(path.join(root, d), { recursive: true });
    fs.chmodSync(path.join(root, "tmp"), 0o1777);
    fs.writeFileSync(
      path.join(root, "etc/passwd"),
      "root:x:0:0:root:/root:/usr/local/bin/vllm\nnobody:x:65534:65534:nobody:/nonexistent:/usr/local/bin/vllm\n",
    );
    fs.writeFileSync(path.join(root, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
    await run("go", ["build", "-trimpath", "-ldflags", "-s -w", "-o", path.join(root, "usr/local/bin/vllm"), "."], {
      cwd: STANDIN_DIR,
      env: { ...process.env, CGO_ENABLED: "0", GOTOOLCHAIN: "local", GOFLAGS: "-buildvcs=false" },
      timeoutMs: 600_000,
    });
    await run("tar", [
      "--sort=name",
      "--owner=0",
      "--group=0",
      "--numeric-owner",
      "--mtime=@0",
      "-C",
      root,
      "-cf",
      path.join(tmp, "rootfs.tar"),
      ".",
    ]);
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  }
  await run(
    "docker",
    [
      "import",
      "--change",
      "ENV PATH=/usr/local/bin:/usr/bin:/bin",
      "--change",
      "ENV HOME=/root",
      "--change",
      "WORKDIR /",
      "--change",
      "EXPOSE 8000",
      "--change",
      'ENTRYPOINT ["vllm", "serve"]',
      "--change",
      `LABEL vllmapp.standin=${hash}`,
      "--message",
      "vllmapp vLLM stand-in (test/standin)",
      tarball,
      tag,
    ],
    { env },
  );
  log(`imported ${tag}`);
  return tag;
}

/**
 * @param {NodeJS.ProcessEnv} env @param {string[]} filters docker ps filters
 * @param {{ createdAfter?: string }} [opts]
 */
async function removeContainers(env, filters, { createdAfter } = {}) {
  let ids = new Set();
  for (const f of filters) {
    const r = await run("docker", ["ps", "-aq", "--filter", f], { env, allowFail: true, timeoutMs: 20_000 });
    if (r.code === 0)
      r.stdout
        .split(/\s+/)
        .filter(Boolean)
        .forEach((id) => ids.add(id));
  }
  if (ids.size && createdAfter) {
    // A shared engine: leave containers that existed before this test bed started (someone else's).
    const r = await run("docker", ["inspect", "--format", "{{.Id}} {{.Created}}", ...ids], {
      env,
      allowFail: true,
      timeoutMs: 20_000,
    });
    const since = Date.parse(createdAfter);
    ids = new Set(
      r.stdout
        .split("\n")
        .map((l) => l.trim().split(" "))
        .filter(([id, created]) => id && created && Date.parse(created) >= since)
        .map(([id]) => /** @type {string} */ (id).slice(0, 12)),
    );
  }
  if (ids.size) {
    log(`removing ${ids.size} container(s) left behind (${filters.join(", ")})`);
    await run("docker", ["rm", "-f", "-v", ...ids], { env, allowFail: true, timeoutMs: 60_000 });
  }
}

// ---------------------------------------------------------------- services

/** @returns {Promise<Service[]>} */
async function loadServices() {
  try {
    const mod = await import("./services.mjs");
    return mod.services || [];
  } catch (e) {
    const err = /** @type {NodeJS.ErrnoException} */ (e);
    if (err.code === "ERR_MODULE_NOT_FOUND" && String(err.message).includes("services.mjs")) return [];
    throw e;
  }
}

// ---------------------------------------------------------------- public API

/**
 * Like Promise.all, but waits for every promise to settle before rejecting with the first error.
 * @template {readonly unknown[]} T
 * @param {T} items
 * @returns {Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }>}
 */
async function settleAll(items) {
  const res = await Promise.allSettled(items);
  const bad = res.find((r) => r.status === "rejected");
  if (bad) throw bad.reason;
  return /** @type {{ -readonly [K in keyof T]: Awaited<T[K]> }} */ (
    res.map((r) => /** @type {PromiseFulfilledResult<unknown>} */ (r).value)
  );
}

/**
 * Provision and start the test bed. Options:
 *   workDir   where state, logs, PKI and etcd data go (default $VLLMAPP_TESTBED_DIR or <repo>/.testbed)
 *   docker    start/use a Docker engine and import the stand-in image (default true)
 *   cluster   start the control plane (default true)
 *   oldest    with the cluster, also the oldest supported minor's kube-apiserver (KUBECONFIG_OLDEST; default true)
 *   checkers  build kube-score, kubeconform (+ schemas) and psscheck into the cache (default true)
 *   services  extra services (default: the list exported by test/testbed/services.mjs)
 *   signal    an AbortSignal: aborting it stops the bring-up, tears down what was started, and rejects
 * Returns { env, state, stop() }. On failure everything started so far is stopped and the error is thrown.
 * @param {TestbedOptions} [opts]
 */
export async function startTestbed(opts = {}) {
  const workDir = path.resolve(opts.workDir || DEFAULT_WORK_DIR);
  const prev = readState(workDir);
  if (stateIsLive(prev)) {
    throw new TestbedError(
      `a test bed is already running from ${workDir} (owner pid ${/** @type {TestbedState} */ (prev).ownerPid}); stop it with: npm run testbed:down`,
    );
  }
  // A stale state (its processes are gone): only clear its mounts and dockerd exec-root.
  for (const e of await stopClusterNet(prev, { run, stopProcess, log })) log(`stale cluster network: ${e}`);
  if (prev?.node) {
    for (const e of await stopRealNode(prev, { run, stopProcess, unmountUnder, log })) log(`stale real node: ${e}`);
  }
  if (prev?.docker?.startedByUs && prev.docker.execRoot) {
    await unmountUnder(prev.docker.execRoot);
    fs.rmSync(prev.docker.execRoot, { recursive: true, force: true });
  }
  if (fs.existsSync(workDir)) {
    await unmountUnder(workDir);
    fs.rmSync(workDir, { recursive: true, force: true });
  }
  const ctx = new Ctx(workDir);
  ctx.save();
  const started = Date.now();
  activeSignal = opts.signal ?? null;
  const versions = readVersions();
  try {
    const wantDocker = opts.docker !== false;
    const wantCluster = opts.cluster !== false;
    const wantNode = opts.realNode ?? (wantDocker && wantCluster);
    if (wantNode) {
      await ensureNodePackages();
      await createBridge(ctx);
      ctx.podHost = REAL_NODE.ip;
    }
    const services = opts.services ?? (await loadServices());
    // the OCI registry the real vLLM and rclone images are pushed to: built alongside everything else
    const wantRegistry = wantDocker && opts.realVllm !== false;
    const registryBin = wantRegistry ? ensureRegistryBinary({ log }) : null;
    // started as soon as its binary is built: the images are pushed from their archives once those exist
    const registryUp = registryBin?.then(async ({ bin }) => startRegistry(ctx, { bin, port: await freePort() }));
    registryUp?.catch(() => {}); // settled with the branches below
    /** @param {Service} svc @param {TestbedEnv} env */
    const startService = async (svc, env) => {
      log(`starting service ${svc.name}`);
      /** @type {Record<string, unknown>} */
      const svcState = {};
      ctx.state.services[svc.name] = svcState;
      ctx.save();
      const out = (await svc.start(ctx, svcState, env)) || {};
      log(`service ${svc.name} up`);
      return out;
    };
    // Branches run in parallel; allSettled so no branch is still starting processes when a failure
    // triggers the teardown. Services start alongside the cluster unless they set `needsBaseEnv: true`
    // (then they start afterwards and get the cluster/docker env).
    const binaries = wantCluster ? ensureBinaries() : null;
    binaries?.catch(() => {}); // awaited (and reported) by both cluster branches below
    // kube-proxy and CoreDNS for the real node (cluster-net.mjs): CoreDNS alongside everything else, kube-proxy
    // after the Kubernetes binaries (the same packages: from the Go build cache, not a second compile at once)
    const netBins = wantNode ? ensureClusterNetBinaries({ log, after: binaries ?? Promise.resolve() }) : null;
    netBins?.catch(() => {}); // awaited once the node is up
    const [clusterEnv, oldestEnv, checkersEnv, dockerEnv, earlyEnvs, registry] = await settleAll([
      wantCluster
        ? /** @type {Promise<BinPaths>} */ (binaries).then((bins) => startControlPlane(ctx, bins, versions))
        : /** @type {TestbedEnv} */ ({}),
      // the oldest supported minor's API server: built alongside, started once etcd's binary is there
      wantCluster && opts.oldest !== false
        ? Promise.all([/** @type {Promise<BinPaths>} */ (binaries), ensureOldestBinaries()]).then(([bins, oldest]) =>
            startOldestApiserver(ctx, bins, oldest, versions),
          )
        : /** @type {TestbedEnv} */ ({}),
      opts.checkers !== false
        ? ensureCheckers().then((c) => ({
            VLLMAPP_TEST_KUBE_SCORE: c.kubeScore,
            VLLMAPP_TEST_KUBECONFORM: c.kubeconform,
            VLLMAPP_TEST_KUBE_SCHEMAS: c.schemas,
            VLLMAPP_TEST_PSSCHECK: c.psscheck,
          }))
        : /** @type {TestbedEnv} */ ({}),
      wantDocker
        ? (async () => {
            await ensureDockerInstalled();
            const env = await startDocker(ctx);
            const denv = { ...process.env, ...env };
            const image = await ensureStandinImage(denv);
            if (opts.realVllm === false) return { ...env, VLLM_STANDIN_IMAGE: image };
            // the real vLLM (CPU build): cold, a debootstrap + pip build of a few minutes, then cached. The
            // archive first: its registry push (from the file) runs alongside the `docker load` of it
            const built = await ensureVllmImage({ log, dockerEnv: null });
            /** @param {BuiltImage} img */
            const push = (img) =>
              registryUp?.then((r) => pushArchive({ host: r.host, tag: img.tag, archive: img.archive, log }));
            const pushVllm = push(built);
            pushVllm?.catch(() => {});
            const vllm = await ensureVllmImage({ log, dockerEnv: denv });
            // the image the model-download step names (rclone/rclone:<tag>), built from rclone's Go module
            const rclone = await ensureRcloneImage({ log, dockerEnv: denv });
            ctx.images = { vllm, rclone };
            // pushed while the tiny model is made and the node starts; awaited before the bed is ready
            if (pushVllm) {
              ctx.pushing = Promise.all([pushVllm, push(rclone)]).then(([v, r]) => ({
                [vllm.tag]: /** @type {string} */ (v),
                [rclone.tag]: /** @type {string} */ (r),
              }));
              ctx.pushing.catch(() => {});
            }
            return { ...env, VLLM_STANDIN_IMAGE: image, VLLM_IMAGE: vllm.tag };
          })()
        : /** @type {TestbedEnv} */ ({}),
      settleAll(services.filter((s) => !s.needsBaseEnv).map((s) => startService(s, {}))),
      registryUp ?? null,
    ]);
    if (registry && ctx.pushing) ctx.registryHost = registry.host;
    ctx.state.env = {
      ...clusterEnv,
      ...oldestEnv,
      ...checkersEnv,
      ...dockerEnv,
      VLLMAPP_TESTBED_DIR: workDir,
      VLLMAPP_TESTBED_STATE: statePath(workDir),
    };
    for (const env of earlyEnvs) Object.assign(ctx.state.env, env);
    ctx.save();
    const dockerEnvFull = { ...process.env, ...dockerEnv };
    if (ctx.images?.vllm) {
      // the tiny model, made by the image's own python, in every form vllmapp reads
      const tiny = await ensureTinyModel({
        image: ctx.images.vllm.tag,
        dockerEnv: dockerEnvFull,
        outDir: path.join(workDir, "models"),
        log,
      });
      Object.assign(ctx.state.env, await publishTinyModel({ modelDir: tiny.dir, workDir, env: ctx.state.env }));
      ctx.state.env.VLLM_TINY_LORA_DIR = tiny.loraDir;
      ctx.state.env.VLLM_TINY_DRAFT_DIR = tiny.draftDir;
      ctx.save();
      log(`tiny model (${tiny.bytes} bytes) published: folder, Hub replay, S3, MLflow run`);
    }
    if (wantNode) {
      /** @type {{ tag: string, archive?: string, dockerEnv?: NodeJS.ProcessEnv }[]} */
      const images = /** @type {string[]} */ ([dockerEnv.VLLM_STANDIN_IMAGE].filter(Boolean)).map((tag) => ({
        tag,
        dockerEnv: dockerEnvFull,
      }));
      // with the registry, the vLLM image reaches the node only by a pull of VLLM_IMAGE_REGISTRY (real bytes)
      for (const img of /** @type {BuiltImage[]} */ (
        [ctx.registryHost ? null : ctx.images?.vllm, ctx.images?.rclone].filter(Boolean)
      ))
        images.push({ tag: img.tag, archive: img.archive });
      // the real node runs with the cluster
      const cluster = /** @type {ClusterHandle} */ (ctx.cluster);
      Object.assign(ctx.state.env, await startRealNode(ctx, { ...cluster, images }));
      const clusterNetBins = /** @type {NonNullable<typeof netBins>} */ (netBins); // started with the node
      Object.assign(ctx.state.env, await startClusterNet(ctx, { ...cluster, netBins: await clusterNetBins }));
      ctx.save();
      if (ctx.registryHost) {
        // startRealNode recorded the node's folders; the registry is there only with the images
        const node = /** @type {Required<NodeState>} */ (ctx.state.node);
        const images = /** @type {NonNullable<Ctx["images"]>} */ (ctx.images);
        writeHostsToml(path.join(node.nodeDir, "certs.d"), ctx.registryHost);
        // the node's containerd root is cached: an earlier run (or one without the registry) may have imported
        // the local vLLM image, whose unpacked layers a pull of the registry copy would reuse without fetching them
        const local = images.vllm.tag;
        const forgotten = await forgetImages(
          ctx,
          node.containerdSock,
          (ref) => ref === local || ref === `docker.io/library/${local}`,
        );
        if (forgotten.length)
          log(`the real node forgot the imported ${forgotten.join(", ")}: its pods pull ${ctx.registryHost}'s copy`);
      }
    }
    if (ctx.pushing) {
      const t0 = Date.now();
      const refs = await ctx.pushing;
      if (Date.now() - t0 > 1000) log(`waited ${((Date.now() - t0) / 1000).toFixed(0)} s for the registry pushes`);
      Object.assign(ctx.state.env, {
        REGISTRY: ctx.registryHost,
        VLLMAPP_TEST_REGISTRY: ctx.registryHost,
        VLLM_IMAGE_REGISTRY: refs[/** @type {NonNullable<Ctx["images"]>} */ (ctx.images).vllm.tag],
        RCLONE_IMAGE_REGISTRY: refs[/** @type {NonNullable<Ctx["images"]>} */ (ctx.images).rclone.tag],
      });
      ctx.save();
    }
    for (const svc of services.filter((s) => s.needsBaseEnv)) {
      Object.assign(ctx.state.env, await startService(svc, { ...ctx.state.env }));
      ctx.save();
    }
    checkAborted();
    ctx.state.bringUpSeconds = (Date.now() - started) / 1000;
    ctx.state.ready = true;
    ctx.save();
    log(`test bed up in ${ctx.state.bringUpSeconds.toFixed(1)}s (state: ${statePath(workDir)})`);
  } catch (e) {
    activeSignal = null;
    log(`bring-up failed: ${/** @type {Error} */ (e).message.split("\n")[0]}`);
    await stopTestbed(ctx.state, { keepWorkDir: true }).catch((e2) => log(`cleanup after failure: ${e2.message}`));
    if (!opts.keepWorkDirOnFailure) {
      dumpLogs(workDir);
      fs.rmSync(workDir, { recursive: true, force: true });
    }
    throw e;
  }
  activeSignal = null;
  return {
    env: { ...ctx.state.env },
    state: ctx.state,
    stop: /** @param {{ keepWorkDir?: boolean }} [o] */ (o) => stopTestbed(ctx.state, o),
  };
}

/** Print the last lines of every component log (for CI failures). */
export function dumpLogs(/** @type {string} */ workDir) {
  const dir = path.join(workDir, "logs");
  if (!fs.existsSync(dir)) return;
  for (const f of fs.readdirSync(dir).sort()) {
    process.stderr.write(`----- ${f} (last 20 lines) -----\n${tail(path.join(dir, f), 20)}\n`);
  }
}

/**
 * Stop exactly what a test bed started (from its state object or state file):
 * leftover containers (label vllmapp.app / vllmapp-testbed), the dockerd it started,
 * its recorded processes in reverse order; then remove the work dir.
 */
export async function stopTestbed(
  /** @type {TestbedState | null} */ state,
  /** @type {{ keepWorkDir?: boolean }} */ { keepWorkDir = false } = {},
) {
  if (!state) return;
  // a process restarted since bring-up (restartProcess) is recorded on disk under its new pid
  const onDisk = state.workDir ? readState(state.workDir) : null;
  if (onDisk?.processes && onDisk.startedAt === state.startedAt) state = { ...state, processes: onDisk.processes };
  const errors = [];
  // services first (they may depend on the rest)
  const services = Object.keys(state.services || {}).length ? await loadServices().catch(() => []) : [];
  for (const svc of [...services].reverse()) {
    if (svc.stop && state.services[svc.name]) {
      try {
        await svc.stop(/** @type {Record<string, unknown>} */ (state.services[svc.name]), state);
      } catch (e) {
        errors.push(`${svc.name}: ${/** @type {Error} */ (e).message}`);
      }
    }
  }
  const dockerEnv = state.env?.DOCKER_HOST ? { ...process.env, DOCKER_HOST: state.env.DOCKER_HOST } : process.env;
  const dockerd = (state.processes || []).find((p) => p.name === "dockerd");
  if (state.docker && (!state.docker.startedByUs || isOurProcess(dockerd))) {
    if (await dockerAnswers(dockerEnv)) {
      // On an engine we did not start, only containers created since this test bed started are ours to remove.
      await removeContainers(dockerEnv, ["label=vllmapp.app", "label=vllmapp-testbed"], {
        createdAfter: state.docker.startedByUs ? undefined : state.startedAt,
      }).catch((/** @type {Error} */ e) => errors.push(`docker cleanup: ${e.message}`));
    }
  }
  errors.push(...(await stopClusterNet(state, { run, stopProcess, log })));
  // The real node before the control plane: its kubelet and containerd clean up their own pods.
  errors.push(...(await stopRealNode(state, { run, stopProcess, unmountUnder, log })));
  // Clients first (kwok, scheduler, controller-manager, services), then kube-apiserver and dockerd,
  // then etcd (kube-apiserver stops slowly once etcd is gone); each group in parallel.
  /** @type {Record<string, number>} */
  const last = { "kube-apiserver": 1, "kube-apiserver-oldest": 1, dockerd: 1, etcd: 2, "etcd-oldest": 2 };
  const procs = [...(state.processes || [])].reverse();
  for (const group of [0, 1, 2].map((g) => procs.filter((p) => (last[p.name] ?? 0) === g))) {
    await Promise.all(
      group.map(async (p) => {
        try {
          // Cluster data is thrown away, so kube-apiserver/etcd get a short grace period.
          const grace =
            /** @type {Record<string, number>} */ ({
              dockerd: 30_000,
              "kube-apiserver": 5_000,
              "kube-apiserver-oldest": 5_000,
              etcd: 5_000,
              "etcd-oldest": 5_000,
            })[p.name] ?? 15_000;
          if (await stopProcess(p, { timeoutMs: grace })) log(`stopped ${p.name} (pid ${p.pid})`);
        } catch (e) {
          errors.push(`${p.name}: ${/** @type {Error} */ (e).message}`);
        }
      }),
    );
  }
  if (state.docker?.startedByUs) {
    // dockerd unmounts its layers on a clean stop; make sure nothing under our dirs stays mounted.
    for (const root of /** @type {string[]} */ ([state.docker.dataRoot, state.docker.execRoot].filter(Boolean))) {
      await unmountUnder(root);
    }
    if (state.docker.execRoot) fs.rmSync(state.docker.execRoot, { recursive: true, force: true });
  }
  if (!keepWorkDir && state.workDir && !process.env.VLLMAPP_TESTBED_KEEP) {
    try {
      fs.rmSync(state.workDir, { recursive: true, force: true });
    } catch (e) {
      errors.push(`rm ${state.workDir}: ${/** @type {Error} */ (e).message}`);
    }
  }
  if (errors.length) throw new TestbedError(`teardown problems:\n${errors.join("\n")}`);
}

/** @param {string} root */
async function unmountUnder(root) {
  let mounts;
  try {
    mounts = fs.readFileSync("/proc/self/mounts", "utf8").split("\n");
  } catch {
    return;
  }
  const targets = mounts
    .map((l) => l.split(" ")[1])
    .filter((m) => m && (m === root || m.startsWith(root + "/")))
    .map((m) => /** @type {string} */ (m).replace(/\\040/g, " "))
    .sort((a, b) => b.length - a.length);
  for (const m of targets) await run("umount", ["-l", m], { allowFail: true });
}

/**
 * Format env as NAME=value lines.
 * @param {Record<string, string | undefined>} env
 */
export function formatEnv(env) {
  return Object.entries(env)
    .map(([k, v]) => `${k}=${v}`)
    .join("\n");
}
