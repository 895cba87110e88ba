#!/usr/bin/env node
// @ts-check
// vllmapp's benchmark (npm run bench): every number is measured in this run, side by side with its
// baseline on the same machine, runs interleaved after a warm-up; medians are reported.
// It starts its own test bed (cluster only: no Docker, no extra servers) unless KUBECONFIG and
// VLLMAPP_TEST_KUBECTL point at one, and stops what it started. `--out FILE` also writes the table.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * One command of a timed step: [command, argv, spawnSync options (stdout: where its stdout goes, default ignored)]
 * @typedef {[string, string[], ({ stdout?: import("node:child_process").IOType } & import("node:child_process").SpawnSyncOptions)?]} Step
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = path.join(ROOT, "bin", "vllmapp.js");
const N_STARTUP = Number(process.env.BENCH_STARTUP_RUNS ?? 31);
const N_DEPLOY = Number(process.env.BENCH_DEPLOY_RUNS ?? 5);
const N_LOGS = Number(process.env.BENCH_LOG_RUNS ?? 5);
const LOG_LINES = 100_000;
const outFile = process.argv.includes("--out") ? process.argv[process.argv.indexOf("--out") + 1] : undefined;
const tmp = mkdtempSync(path.join(os.tmpdir(), "vllmapp-bench-"));
const RSS_HOOK = `--import=data:text/javascript,process.on("exit",()=>process.stderr.write("\\n@@RSS "+process.resourceUsage().maxRSS+"\\n"))`;
/** @param {string} s */
const note = (s) => process.stderr.write(`[bench] ${s}\n`);
/** @type {NodeJS.ProcessEnv} */
const env = { ...process.env, CI: "1", NO_COLOR: "1" };

/** @param {number[]} a */
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  /** @param {number} i */
  const at = (i) => /** @type {number} */ (s[i]);
  return s.length % 2 ? at((s.length - 1) / 2) : (at(s.length / 2 - 1) + at(s.length / 2)) / 2;
};
/** @param {number} ms */
const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);

/**
 * Run a command to completion; its wall time in ms. Fails the benchmark on a non-zero exit.
 * @param {Step[0]} cmd @param {Step[1]} args @param {NonNullable<Step[2]>} [opts]
 */
function time(cmd, args, opts = {}) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, {
    env,
    stdio: ["ignore", opts.stdout ?? "ignore", "pipe"],
    maxBuffer: 1 << 30,
    ...opts,
  });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return ms;
}
/** @param {string} cmd @param {string[]} args @param {string} [input] */
const sh = (cmd, args, input) => {
  const r = spawnSync(cmd, args, { env, input, encoding: "utf8", maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
};
/** @param {string[]} args @returns {Step} */
const vllmapp = (...args) => [process.execPath, [BIN, ...args]];

/**
 * Interleave the named commands; `cleanup(name, i)` runs untimed after each. Returns name → medians.
 * @template {string} K
 * @param {Record<K, (i: number) => Step[]>} cmds
 * @param {number} runs
 * @param {{ warmup?: number, cleanup?: (name: string, i: number) => unknown }} [opts]
 * @returns {Record<K, number>}
 */
function compare(cmds, runs, { warmup = 2, cleanup } = {}) {
  /** @type {Record<string, number[]>} */
  const times = Object.fromEntries(Object.keys(cmds).map((k) => [k, []]));
  for (let i = 0; i < runs + warmup; i++) {
    for (const [name, make] of /** @type {[K, (i: number) => Step[]][]} */ (Object.entries(cmds))) {
      const steps = make(i);
      const ms = steps.reduce((sum, [cmd, args, opts]) => sum + time(cmd, args, opts), 0);
      if (i >= warmup) /** @type {number[]} */ (times[name]).push(ms);
      cleanup?.(name, i);
    }
  }
  return /** @type {Record<K, number>} */ (Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])));
}

/** @param {string[]} args */
function peakRss(args) {
  const r = spawnSync(process.execPath, [RSS_HOOK, BIN, ...args], { env, encoding: "utf8", maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`vllmapp ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  const m = /@@RSS (\d+)/.exec(r.stderr);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** @param {string} name */
function appYaml(name, extra = "") {
  // no GPU: twenty apps would not fit the test bed's 20 GPUs next to other tests; the deploy path is the same
  return `name: ${name}\nmodel_hf_path: Qwen/Qwen3-0.6B\nmodel_id: ${name}\nresources:\n  cpu: 1\n  memory: 2Gi\nextra_args: [--max-model-len, "8192", --enable-prefix-caching]\nrequires_auth: false\n${extra}`;
}
/** @param {number} n @param {string} prefix */
function appsFile(n, prefix) {
  const file = path.join(tmp, `${prefix}-${n}.yaml`);
  writeFileSync(file, Array.from({ length: n }, (_, i) => appYaml(`${prefix}-${i}`)).join("---\n"));
  return file;
}

/** @type {string[]} */
const rows = [];
/** @param {string} what @param {number} vllmappMs @param {string} baseline @param {number} baseMs @param {string} target */
const row = (what, vllmappMs, baseline, baseMs, target, extra = "") =>
  rows.push(
    `| ${what} | ${vllmappMs === undefined ? "" : fmt(vllmappMs)} | ${baseline} | ${baseMs === undefined ? "" : fmt(baseMs)} | ${baseMs ? `${(vllmappMs / baseMs).toFixed(2)}×` : ""} | ${target} | ${extra} |`,
  );

/** @type {Awaited<ReturnType<typeof import("../testbed/lib.mjs").startTestbed>> | undefined} */
let testbed;
try {
  if (spawnSync("npm", ["run", "build"], { cwd: ROOT, stdio: "ignore" }).status !== 0)
    throw new Error("npm run build failed");
  // ---------------------------------------------------------------- start-up and render
  note("start-up: --help and render --dry-run vs node -e 0");
  const typical = path.join(ROOT, "templates", "examples", "qwen3.yaml");
  const s = compare(
    {
      node: () => [[process.execPath, ["-e", "0"]]],
      help: () => [vllmapp("--help")],
      render: () => [vllmapp("render", "--dry-run", "-f", typical)],
    },
    N_STARTUP,
    { warmup: 3 },
  );
  row("`vllmapp --help`", s.help, "`node -e 0`", s.node, "≤ 1.3×");
  row("`vllmapp render --dry-run` (one app)", s.render, "`node -e 0`", s.node, "≤ 1.5×");

  note("render --dry-run of 1 … 200 apps");
  const sizes = /** @type {const} */ ([1, 10, 50, 100, 200]);
  /** @typedef {(typeof sizes)[number]} Size */
  const files = /** @type {Record<Size, string>} */ (Object.fromEntries(sizes.map((n) => [n, appsFile(n, "r")])));
  const r = /** @type {Record<Size, number>} */ (
    compare(
      Object.fromEntries(sizes.map((n) => [String(n), () => [vllmapp("render", "--dry-run", "-f", files[n])]])),
      9,
    )
  );
  for (const n of sizes.slice(1)) {
    const perApp = (r[n] - r[1]) / (n - 1);
    row(
      `\`render --dry-run\` of ${n} apps`,
      r[n],
      "1 app",
      r[1],
      "linear",
      `${perApp.toFixed(2)} ms per extra app = ${((perApp / r[1]) * 100).toFixed(1)} % of a 1-app run`,
    );
  }

  // ---------------------------------------------------------------- the cluster
  if (!process.env.KUBECONFIG || !process.env.VLLMAPP_TEST_KUBECTL) {
    note("starting a test bed (control plane + kwok GPU nodes)");
    const { startTestbed } = await import("../testbed/lib.mjs");
    testbed = await startTestbed({ workDir: path.join(tmp, "testbed"), docker: false, services: [] });
    Object.assign(env, testbed.env);
  }
  const kubectl = /** @type {string} */ (env.VLLMAPP_TEST_KUBECTL);
  // the floor of each tool: a process that starts and exits (kubectl is one static Go binary)
  const floor = compare(
    { node: () => [[process.execPath, ["-e", "0"]]], kubectl: () => [[kubectl, ["version", "--client"]]] },
    N_STARTUP,
    { warmup: 3 },
  );
  row(
    "process start-up floor: `node -e 0`",
    floor.node,
    "`kubectl version --client`",
    floor.kubectl,
    "—",
    "what each tool pays before any work; `deploy` vs kubectl is bounded by it",
  );
  /** @param {string} tag @param {number} i */
  const ns = (tag, i) => `bench-${process.pid}-${tag}-${i}`;
  /** @param {string} name */
  const mkns = (name) => sh(kubectl, ["create", "namespace", name]);
  /** @param {string} name */
  const rmns = (name) => sh(kubectl, ["delete", "namespace", name, "--wait=false"]);
  /** @param {string} name */
  const rmnsWait = (name) => sh(kubectl, ["delete", "namespace", name, "--wait=true", "--timeout=120s"]);

  note("deploy of one app until Ready vs kubectl apply --server-side + rollout status");
  const one = path.join(tmp, "one.yaml");
  writeFileSync(one, appYaml("bench-one"));
  /** @param {string} n */
  const manifests = (n) => {
    const f = path.join(tmp, `one-${n}.yaml`);
    writeFileSync(f, sh(process.execPath, [BIN, "render", "--dry-run", "-f", one, "-n", n]));
    return f;
  };
  const total = N_DEPLOY + 1;
  for (let i = 0; i < total; i++) for (const t of ["v", "k"]) mkns(ns(`one${t}`, i));
  const d = compare(
    {
      vllmapp: (i) => [vllmapp("deploy", "-f", one, "-n", ns("onev", i), "--offline", "--quiet")],
      kubectl: (i) => [
        [kubectl, ["apply", "--server-side", "--field-manager=kubectl", "-f", manifests(ns("onek", i))]],
        [kubectl, ["rollout", "status", "deployment/bench-one", "-n", ns("onek", i), "--timeout=120s"]],
      ],
    },
    N_DEPLOY,
    { warmup: 1, cleanup: (name, i) => i > 0 && rmnsWait(ns(name === "vllmapp" ? "onev" : "onek", i)) },
  );
  row(
    "`vllmapp deploy` one app until Ready",
    d.vllmapp,
    "`kubectl apply --server-side` + `rollout status`",
    d.kubectl,
    "≤ 1.0×",
    "vllmapp also runs its preflight and records the ApplySet",
  );
  const rerun = compare(
    {
      vllmapp: () => [vllmapp("deploy", "-f", one, "-n", ns("onev", 0), "--offline", "--quiet")],
      kubectl: () => [
        [
          kubectl,
          ["apply", "--server-side", "--field-manager=kubectl", "-f", path.join(tmp, `one-${ns("onek", 0)}.yaml`)],
        ],
        [kubectl, ["rollout", "status", "deployment/bench-one", "-n", ns("onek", 0)]],
      ],
    },
    N_DEPLOY,
    { warmup: 1 },
  );
  row("`vllmapp deploy` again, unchanged", rerun.vllmapp, "the same with kubectl", rerun.kubectl, "≤ 1.0×");

  note("deploy of 20 independent apps vs kubectl, app by app");
  const twenty = appsFile(20, "twenty");
  const perApp = Array.from({ length: 20 }, (_, j) => {
    const f = path.join(tmp, `twenty-app-${j}.yaml`);
    writeFileSync(f, appYaml(`twenty-${j}`));
    return f;
  });
  const N20 = Math.max(3, Math.floor(N_DEPLOY / 2));
  for (let i = 0; i < N20 + 1; i++) for (const t of ["v", "k"]) mkns(ns(`twenty${t}`, i));
  /** @type {Map<string, string>} */
  const twentyManifests = new Map();
  /** @param {string} n @param {number} j */
  const m20 = (n, j) => {
    const key = `${n}/${j}`;
    if (!twentyManifests.has(key)) {
      const f = path.join(tmp, `twenty-${n}-${j}.yaml`);
      writeFileSync(
        f,
        sh(process.execPath, [BIN, "render", "--dry-run", "-f", /** @type {string} */ (perApp[j]), "-n", n]),
      );
      twentyManifests.set(key, f);
    }
    return /** @type {string} */ (twentyManifests.get(key));
  };
  for (let i = 0; i < N20 + 1; i++) for (let j = 0; j < 20; j++) m20(ns("twentyk", i), j);
  const t20 = compare(
    {
      vllmapp: (i) => [vllmapp("deploy", "-f", twenty, "-n", ns("twentyv", i), "--offline", "--quiet")],
      kubectl: (i) =>
        perApp.flatMap((_, j) => [
          [kubectl, ["apply", "--server-side", "--field-manager=kubectl", "-f", m20(ns("twentyk", i), j)]],
          [kubectl, ["rollout", "status", `deployment/twenty-${j}`, "-n", ns("twentyk", i), "--timeout=120s"]],
        ]),
    },
    N20,
    { warmup: 1, cleanup: (name, i) => rmnsWait(ns(name === "vllmapp" ? "twentyv" : "twentyk", i)) },
  );
  row("`vllmapp deploy` of 20 apps from one file", t20.vllmapp, "kubectl, app by app", t20.kubectl, "≤ 1.0×");

  note(`logs of a ${LOG_LINES}-line log vs kubectl logs`);
  const logNs = `bench-${process.pid}-logs`;
  mkns(logNs);
  sh(process.execPath, [BIN, "deploy", "-f", one, "-n", logNs, "--offline", "--quiet"]);
  const pod = JSON.parse(sh(kubectl, ["get", "pods", "-n", logNs, "-l", "vllmapp.dev/app=bench-one", "-o", "json"]))
    .items[0].metadata.name;
  const logFile = path.join(tmp, "big.log");
  /** @type {string[]} */
  const lines = [];
  for (let i = 0; i < LOG_LINES; i++)
    lines.push(
      `2026-01-01T00:00:00.000000000Z stdout F (APIServer pid=1) INFO 01-01 00:00:00 [loggers.py:123] Engine 000: Avg prompt throughput: ${i % 977}.0 tokens/s, Running: 3 reqs, Waiting: 0 reqs, GPU KV cache usage: 4.2%`,
    );
  writeFileSync(logFile, `${lines.join("\n")}\n`);
  sh(
    kubectl,
    ["apply", "-f", "-"],
    JSON.stringify({
      apiVersion: "kwok.x-k8s.io/v1alpha1",
      kind: "Logs",
      metadata: { name: pod, namespace: logNs },
      spec: { logs: [{ containers: [], logsFile: logFile, follow: false }] },
    }),
  );
  const count = sh(process.execPath, [BIN, "logs", "bench-one", "-n", logNs]).split("\n").filter(Boolean).length;
  if (count !== LOG_LINES) throw new Error(`vllmapp logs printed ${count} lines, expected ${LOG_LINES}`);
  const lg = compare(
    {
      vllmapp: () => [vllmapp("logs", "bench-one", "-n", logNs)],
      kubectl: () => [[kubectl, ["logs", pod, "-n", logNs]]],
    },
    N_LOGS,
    { warmup: 1 },
  );
  row(
    `\`vllmapp logs\` of ${LOG_LINES.toLocaleString("en")} lines`,
    lg.vllmapp,
    "`kubectl logs`",
    lg.kubectl,
    "—",
    `${Math.round(LOG_LINES / (lg.vllmapp / 1000)).toLocaleString("en")} vs ${Math.round(LOG_LINES / (lg.kubectl / 1000)).toLocaleString("en")} lines/s`,
  );

  note("peak RSS");
  const rss = /** @type {[string, string[]][]} */ ([
    ["--help", ["--help"]],
    ["render --dry-run (1 app)", ["render", "--dry-run", "-f", typical]],
    ["render --dry-run (200 apps)", ["render", "--dry-run", "-f", files[200]]],
    ["deploy (unchanged)", ["deploy", "-f", one, "-n", logNs, "--offline", "--quiet"]],
    ["status", ["status", "-f", one, "-n", logNs]],
    ["list", ["list", "-n", logNs]],
    [`logs (${LOG_LINES.toLocaleString("en")} lines)`, ["logs", "bench-one", "-n", logNs]],
  ]).map(([what, args]) => `| ${what} | ${peakRss(args).toFixed(0)} MiB |`);
  const rssNode = (() => {
    const r = spawnSync(process.execPath, [RSS_HOOK, "-e", "0"], { encoding: "utf8" });
    return Number(/** @type {RegExpExecArray} */ (/@@RSS (\d+)/.exec(r.stderr))[1]) / 1024;
  })();

  for (const t of ["v", "k"]) rmns(ns(`one${t}`, 0));
  rmns(logNs);

  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  const report = [
    `Machine: ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node.js ${process.version}, ${os.type()} ${os.release()}.`,
    `Runs: start-up ${N_STARTUP} (after 3 warm-ups), deploys ${N_DEPLOY}, logs ${N_LOGS}; medians; vllmapp and its baseline interleaved.`,
    "",
    "| what | vllmapp | baseline | baseline time | ratio | target | notes |",
    "|---|---|---|---|---|---|---|",
    ...rows,
    "",
    `| command | peak RSS |`,
    `|---|---|`,
    `| \`node -e 0\` (floor) | ${rssNode.toFixed(0)} MiB |`,
    ...rss,
    "",
  ].join("\n");
  process.stdout.write(report);
  if (outFile) writeFileSync(outFile, report);
} finally {
  if (testbed) await testbed.stop();
  rmSync(tmp, { recursive: true, force: true });
}
