#!/usr/bin/env node
// @ts-check
// Serving benchmark (npm run bench:serving): what a user waits for, on the test bed's REAL vLLM (CPU build,
// tiny model) — from `deploy` to the first answered chat completion — each row next to its baseline,
// interleaved, medians of BENCH_SERVING_RUNS (default 3). It starts its own test bed (with the real node)
// unless VLLMAPP_REAL_NODE and KUBECONFIG point at a running one, and stops what it started.
// Rows:
//   deploy --local → first completion   vs  docker run of the same image and argv, /health polled every 100 ms
//   deploy (real node) → first completion through the Service  vs  kubectl apply of the same manifests + kubectl wait
//   vLLM's "Application startup complete" → pod Ready (Kubernetes timestamps), vllmapp's probes vs 10 s probe periods
//   rollout after a flag change, and a local restart with the HF cache kept, vs a first start
// `--out FILE` also writes the table. No test asserts a time: the numbers go to BENCHMARKS.md.
import { spawn, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * @typedef {{ metadata: { name: string, deletionTimestamp?: string },
 *   status: { conditions: { type: string, status: string, lastTransitionTime: string }[] } }} Pod
 * @typedef {{ env?: NodeJS.ProcessEnv, cwd?: string, input?: string, timeoutMs?: number, allowFail?: boolean }} ShOptions
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = path.join(ROOT, "bin", "vllmapp.js");
const N = Number(process.env.BENCH_SERVING_RUNS ?? 3);
const outFile = process.argv.includes("--out") ? process.argv[process.argv.indexOf("--out") + 1] : undefined;
const tmp = mkdtempSync(path.join(os.tmpdir(), "vllmapp-bench-serving-"));
/** @param {string} s */
const note = (s) => process.stderr.write(`[bench] ${s}\n`);
/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** @param {number[]} a */
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  /** @param {number} i */
  const at = (i) => /** @type {number} */ (s[i]);
  return s.length % 2 ? at((s.length - 1) / 2) : (at(s.length / 2 - 1) + at(s.length / 2)) / 2;
};
/** @param {number} ms */
const fmt = (ms) => `${(ms / 1000).toFixed(1)} s`;

/** @type {Awaited<ReturnType<typeof import("../testbed/lib.mjs").startTestbed>> | null} */
let tb = null;
/** @type {NodeJS.ProcessEnv} */
let env = { ...process.env, CI: "1", NO_COLOR: "1" };
if (!process.env.VLLMAPP_REAL_NODE || !process.env.KUBECONFIG) {
  const { startTestbed } = await import("../testbed/lib.mjs");
  note("starting a test bed (real node, real vLLM)");
  tb = await startTestbed({ workDir: path.join(tmp, "testbed") });
  const kubectlDir = path.dirname(/** @type {{ VLLMAPP_TEST_KUBECTL: string }} */ (tb.env).VLLMAPP_TEST_KUBECTL);
  env = { ...env, ...tb.env, PATH: `${kubectlDir}:${process.env.PATH}` };
}
// the test bed's environment (the one started above, or the one given) sets all three
const kubectlBin = /** @type {string} */ (env.VLLMAPP_TEST_KUBECTL);
const IMAGE = /** @type {string} */ (env.VLLM_IMAGE);
const MODEL_DIR = /** @type {string} */ (env.VLLM_TINY_MODEL_DIR);

/** @param {string} cmd @param {string[]} args @param {ShOptions} [opts] */
function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, {
    env: { ...env, ...opts.env },
    cwd: opts.cwd,
    encoding: "utf8",
    input: opts.input,
    timeout: opts.timeoutMs ?? 600_000,
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0 && !opts.allowFail)
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}:\n${r.stderr}${r.stdout}`);
  return r;
}
/** @param {string[]} args @param {ShOptions} [opts] */
const kubectl = (args, opts) => sh(kubectlBin, args, opts);
/** @param {string[]} args @param {string} cwd @param {ShOptions} [opts] */
const cli = (args, cwd, opts = {}) => sh(process.execPath, [BIN, ...args], { cwd, ...opts });

/** @returns {Promise<number>} */
async function freePort() {
  const net = await import("node:net");
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = /** @type {import("node:net").AddressInfo} */ (s.address()).port;
      s.close(() => resolve(p));
    });
  });
}

/**
 * Poll until a chat completion with `key` answers 200; the time it did.
 * @param {number} port @param {string | undefined} key @param {string} model
 * @param {{ pollMs?: number, timeoutMs?: number }} [opts]
 */
async function firstCompletion(port, key, model, { pollMs = 100, timeoutMs = 600_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
        body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 4 }),
      });
      if (r.status === 200) return Date.now();
    } catch {}
    if (Date.now() > deadline) throw new Error(`no completion on port ${port}`);
    await sleep(pollMs);
  }
}

/** @param {number} port */
async function waitHealth(port, pollMs = 100) {
  for (let i = 0; i < 6000; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await sleep(pollMs);
  }
  throw new Error("no /health");
}

/** @param {string} yaml */
function appDir(yaml) {
  const dir = mkdtempSync(path.join(tmp, "app-"));
  writeFileSync(path.join(dir, "vllm-app.yaml"), yaml);
  return dir;
}

// ---------------------------------------------------------------- local
/** @param {number} i */
async function localVllmapp(i) {
  const port = await freePort();
  const name = `bl${i}`;
  const dir = appDir(
    `name: ${name}\nmodel_path: ${MODEL_DIR}\nmodel_id: tiny\nimage: ${IMAGE}\nport: ${port}\nextra_args: [--max-model-len, "512"]\n`,
  );
  const t0 = Date.now();
  cli(["deploy", "--local", "-f", "vllm-app.yaml", "--timeout", "8m"], dir);
  const key = JSON.parse(cli(["status", "--local", "--show-api-key", "--json", name], dir).stdout).apps[0].apiKey;
  const t1 = await firstCompletion(port, key, "tiny");
  cli(["delete", "--local", name], dir);
  return t1 - t0;
}

/** @param {number} i */
async function localDocker(i) {
  const port = await freePort();
  const name = `vllmapp-bench-bare-${i}`;
  const t0 = Date.now();
  sh("docker", [
    "run",
    "-d",
    "--name",
    name,
    "--ipc=host",
    "-p",
    `127.0.0.1:${port}:${port}`,
    "-v",
    `${MODEL_DIR}:${MODEL_DIR}:ro`,
    "-e",
    "VLLM_API_KEY=bench",
    "--entrypoint",
    "vllm",
    IMAGE,
    "serve",
    MODEL_DIR,
    "--served-model-name",
    "tiny",
    "--port",
    String(port),
    "--max-model-len",
    "512",
  ]);
  await waitHealth(port, 100);
  const t1 = await firstCompletion(port, "bench", "tiny");
  sh("docker", ["rm", "-f", name]);
  return t1 - t0;
}

// ---------------------------------------------------------------- real node
const ns = `bench-serving-${process.pid}`;
kubectl(["create", "namespace", ns]);
for (let i = 0; i < 60 && kubectl(["-n", ns, "get", "sa", "default"], { allowFail: true }).status !== 0; i++)
  await sleep(500);
/** @param {string} name */
const K8S_APP = (name, extra = "") =>
  `name: ${name}\nmodel_hf_path: ${env.VLLM_TINY_MODEL_HF}\nmodel_id: tiny\nimage: ${IMAGE}\nresources: {gpu: "A10G:1", cpu: ["250m", "2"], memory: ["1Gi", "6Gi"]}\nenv_vars: {HF_ENDPOINT: "${env.POD_HF_ENDPOINT}"}\nextra_args: [--max-model-len, "512"${extra}]\n`;

/** @param {string} name @param {string} key */
async function throughService(name, key) {
  const port = await freePort();
  const pf = spawn(kubectlBin, ["-n", ns, "port-forward", `svc/${name}`, `${port}:8000`, "--address", "127.0.0.1"], {
    env,
    stdio: "ignore",
  });
  try {
    return await firstCompletion(port, key, "tiny", { pollMs: 100 });
  } finally {
    pf.kill();
  }
}

/** @param {string} name */
function podOf(name) {
  return /** @type {{ items: Pod[] }} */ (
    JSON.parse(kubectl(["-n", ns, "get", "pods", "-l", `vllmapp.dev/app=${name}`, "-o", "json"]).stdout)
  ).items.find((p) => !p.metadata.deletionTimestamp);
}

/**
 * vLLM's own "Application startup complete" (log timestamp) → the pod's Ready condition, in ms.
 * @param {string} name
 */
function readyLag(name) {
  const pod = /** @type {Pod} */ (podOf(name));
  const logs = kubectl(["-n", ns, "logs", pod.metadata.name, "-c", "vllm", "--timestamps"]).stdout;
  const line = logs.split("\n").find((l) => /Application startup complete/.test(l));
  const ready = pod.status.conditions.find((c) => c.type === "Ready" && c.status === "True");
  if (!line || !ready) throw new Error(`no startup line or Ready condition for ${name}`);
  // the condition has a 1 s resolution: the lag is rounded up to it
  return Date.parse(ready.lastTransitionTime) + 999 - Date.parse(/** @type {string} */ (line.split(" ")[0]));
}

/** @param {number} i */
async function k8sVllmapp(i) {
  const name = `bk${i}`;
  const dir = appDir(K8S_APP(name));
  const t0 = Date.now();
  cli(["deploy", "-f", "vllm-app.yaml", "-n", ns, "--timeout", "8m"], dir);
  const key = Buffer.from(
    JSON.parse(kubectl(["-n", ns, "get", "secret", `${name}-api-key`, "-o", "json"]).stdout).data.VLLM_API_KEY,
    "base64",
  ).toString();
  const t1 = await throughService(name, key);
  const lag = readyLag(name);
  // a rollout after a flag change
  writeFileSync(path.join(dir, "vllm-app.yaml"), K8S_APP(name, ', --max-num-seqs, "8"'));
  const r0 = Date.now();
  cli(["deploy", "-f", "vllm-app.yaml", "-n", ns, "--timeout", "8m"], dir);
  const r1 = await throughService(name, key);
  cli(["delete", name, "-n", ns], dir);
  return { first: t1 - t0, lag, rollout: r1 - r0 };
}

/**
 * kubectl apply of the same rendered manifests (key Secret made beforehand) + kubectl wait; optional templates dir.
 * @param {number} i @param {string} [templates]
 */
async function k8sKubectl(i, templates) {
  const name = `bkk${i}${templates ? "p" : ""}`;
  const dir = appDir(K8S_APP(name));
  const manifests = cli(
    ["render", "--dry-run", "-o", "yaml", "-n", ns, ...(templates ? ["--templates", templates] : [])],
    dir,
  ).stdout;
  kubectl(["-n", ns, "create", "secret", "generic", `${name}-api-key`, "--from-literal=VLLM_API_KEY=bench"]);
  const t0 = Date.now();
  kubectl(["-n", ns, "apply", "--server-side", "--force-conflicts", "-f", "-"], { input: manifests });
  for (let k = 0; k < 120 && !podOf(name); k++) await sleep(250);
  kubectl(["-n", ns, "wait", "--for=condition=Ready", "pod", "-l", `vllmapp.dev/app=${name}`, "--timeout=8m"]);
  const t1 = await throughService(name, "bench");
  const lag = readyLag(name);
  kubectl(["-n", ns, "delete", "-f", "-", "--wait=false"], { input: manifests, allowFail: true });
  kubectl(["-n", ns, "delete", "secret", `${name}-api-key`], { allowFail: true });
  for (let k = 0; k < 240 && podOf(name); k++) await sleep(500);
  return { first: t1 - t0, lag };
}

// peers' probe settings: startup/readiness every 10 s (KubeAI, KServe, production-stack)
const peerTemplates = path.join(tmp, "peer-templates");
cpSync(path.join(ROOT, "templates/kubernetes"), peerTemplates, { recursive: true });
{
  const f = path.join(peerTemplates, "deployment.yaml");
  writeFileSync(
    f,
    readFileSync(f, "utf8").replace(
      /(startupProbe:\n\s+httpGet: \{[^}]*\}\n\s+)periodSeconds: 1\n/,
      "$1periodSeconds: 10\n",
    ),
  );
}

/** @param {number} i */
async function localRestart(i) {
  const port = await freePort();
  const name = `br${i}`;
  const home = mkdtempSync(path.join(tmp, "home-"));
  const dir = appDir(
    `name: ${name}\nmodel_hf_path: ${env.VLLM_TINY_MODEL_HF}\nmodel_id: tiny\nimage: ${IMAGE}\nport: ${port}\nenv_vars: {HF_ENDPOINT: "${env.POD_HF_ENDPOINT}"}\nextra_args: [--max-model-len, "512"]\n`,
  );
  const once = async () => {
    const t0 = Date.now();
    cli(["deploy", "--local", "-f", "vllm-app.yaml", "--timeout", "8m"], dir, {
      env: { HOME: home, HF_ENDPOINT: env.HF_ENDPOINT },
    });
    const key = JSON.parse(
      cli(["status", "--local", "--show-api-key", "--json", name], dir, { env: { HOME: home } }).stdout,
    ).apps[0].apiKey;
    const t1 = await firstCompletion(port, key, "tiny");
    cli(["delete", "--local", name], dir, { env: { HOME: home } });
    return t1 - t0;
  };
  const first = await once();
  const again = await once(); // the HF cache under HOME is kept
  return { first, again };
}

/** @type {string[][]} */
const rows = [];
try {
  /** @type {number[]} */
  const lv = [],
    /** @type {number[]} */
    ld = [],
    /** @type {Awaited<ReturnType<typeof k8sVllmapp>>[]} */
    kv = [],
    /** @type {Awaited<ReturnType<typeof k8sKubectl>>[]} */
    kk = [],
    /** @type {Awaited<ReturnType<typeof k8sKubectl>>[]} */
    kp = [],
    /** @type {Awaited<ReturnType<typeof localRestart>>[]} */
    rs = [];
  for (let i = 0; i < N; i++) {
    note(`run ${i + 1}/${N}: local`);
    lv.push(await localVllmapp(i));
    ld.push(await localDocker(i));
    note(`run ${i + 1}/${N}: real node`);
    kv.push(await k8sVllmapp(i));
    kk.push(await k8sKubectl(i));
    kp.push(await k8sKubectl(i, peerTemplates));
    note(`run ${i + 1}/${N}: restart with the cache kept`);
    rs.push(await localRestart(i));
  }
  /**
   * the median of a's numbers, or of f of each
   * @template T
   * @param {T[]} a @param {(x: T) => number} [f]
   */
  const m = (a, f = (x) => /** @type {number} */ (x)) => median(a.map(f));
  rows.push([
    "`deploy --local` → first chat completion",
    fmt(m(lv)),
    "`docker run` + /health every 100 ms → completion",
    fmt(m(ld)),
    (m(lv) / m(ld)).toFixed(2) + "×",
    "≤ 1.1×",
  ]);
  rows.push([
    "`deploy` (real node) → first completion via the Service",
    fmt(m(kv, (x) => x.first)),
    "`kubectl apply` + `kubectl wait --for=condition=Ready` → completion",
    fmt(m(kk, (x) => x.first)),
    (m(kv, (x) => x.first) / m(kk, (x) => x.first)).toFixed(2) + "×",
    "≤ 1.0×",
  ]);
  rows.push([
    "vLLM startup complete → pod Ready, vllmapp's probes (startup every 1 s)",
    fmt(m(kv, (x) => x.lag)),
    "the same pod with 10 s probe periods (peers)",
    fmt(m(kp, (x) => x.lag)),
    (m(kv, (x) => x.lag) / m(kp, (x) => x.lag)).toFixed(2) + "×",
    "≤ 2 s",
  ]);
  rows.push([
    "rollout after a flag change → completion",
    fmt(m(kv, (x) => x.rollout)),
    "first start (the same app)",
    fmt(m(kv, (x) => x.first)),
    (m(kv, (x) => x.rollout) / m(kv, (x) => x.first)).toFixed(2) + "×",
    "—",
  ]);
  rows.push([
    "`deploy --local` again with the HF cache kept → completion",
    fmt(m(rs, (x) => x.again)),
    "first start (empty HF cache, download from the Hub replay)",
    fmt(m(rs, (x) => x.first)),
    (m(rs, (x) => x.again) / m(rs, (x) => x.first)).toFixed(2) + "×",
    "—",
  ]);
  const raw = {
    runs: N,
    local: { vllmapp: lv, docker: ld },
    k8s: { vllmapp: kv, kubectl: kk, peers: kp },
    restart: rs,
  };
  const table = [
    `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node.js ${process.version}; ${N} runs each, interleaved; medians.`,
    "",
    "| what | vllmapp | baseline | baseline time | ratio | target |",
    "|---|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
    "",
    "Raw (ms): `" + JSON.stringify(raw) + "`",
  ].join("\n");
  process.stdout.write(table + "\n");
  if (outFile) writeFileSync(outFile, table + "\n");
} finally {
  kubectl(["delete", "namespace", ns, "--wait=false"], { allowFail: true });
  if (tb) await tb.stop();
  rmSync(tmp, { recursive: true, force: true });
}
