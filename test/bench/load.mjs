#!/usr/bin/env node
// @ts-check
// Load benchmark (npm run bench:load), issue #17 item 5: vllmapp at 200 apps and 20 followed replicas,
// each row next to its kubectl baseline measured in the same run.
//   deploy of 200 apps from one file until Ready  vs  kubectl apply --server-side -f <the same rendered objects> + kubectl wait
//   the same deploy again (unchanged)             vs  the same kubectl apply again
//   status --json of the 200 apps                 vs  kubectl get deployments -o json
//   peak RSS of each vllmapp command
//   logs -f of 20 replicas (real node, STANDIN_TICK_RATE lines/s each), followed at the same time as
//   kubectl logs -f -l <selector> --max-log-requests=20 --prefix: lines/s, duplicates, missing
// Needs a running test bed with the real node (set -a; . tb.env): the 200 apps go to kwok nodes the
// benchmark creates (a pool of its own, tainted) and deletes. `--out FILE` also writes the table.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * @typedef {[string, string[]]} Step a command and its argv
 * @typedef {{ v: number[], k: number[], rss: number[] }} Samples vllmapp's times, kubectl's, vllmapp's peak RSS (MiB)
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = path.join(ROOT, "bin", "vllmapp.js");
const APPS = 200;
const N_DEPLOY = Number(process.env.BENCH_LOAD_DEPLOY_RUNS ?? 1);
const N_SMALL = Number(process.env.BENCH_LOAD_RUNS ?? 5);
const REPLICAS = 20;
const TICK_RATE = Number(process.env.BENCH_LOAD_TICK_RATE ?? 100);
const FOLLOW_MS = Number(process.env.BENCH_LOAD_FOLLOW_MS ?? 20_000);
const outFile = process.argv.includes("--out") ? process.argv[process.argv.indexOf("--out") + 1] : undefined;
const tmp = mkdtempSync(path.join(os.tmpdir(), "vllmapp-bench-load-"));
const RSS_HOOK = `--import=data:text/javascript,process.on("exit",()=>process.stderr.write("\\n@@RSS "+process.resourceUsage().maxRSS+"\\n"))`;
/** @param {string} s */
const note = (s) => process.stderr.write(`[bench] ${s}\n`);
for (const v of ["KUBECONFIG", "VLLMAPP_TEST_KUBECTL", "VLLM_STANDIN_IMAGE", "VLLMAPP_REAL_NODE"]) {
  if (!process.env[v])
    throw new Error(`${v} is not set: run with the test bed's environment (set -a; . /tmp/work/tb.env; set +a)`);
}
/** @type {NodeJS.ProcessEnv} */
const env = { ...process.env, CI: "1", NO_COLOR: "1" };
const kubectlBin = /** @type {string} */ (env.VLLMAPP_TEST_KUBECTL); // checked above
const id = `load17b-${process.pid}`;
const pool = `${id}-pool`;

/** @param {number[]} a */
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  /** @param {number} i */
  const at = (i) => /** @type {number} */ (s[i]);
  return s.length % 2 ? at((s.length - 1) / 2) : (at(s.length / 2 - 1) + at(s.length / 2)) / 2;
};
/** @param {number} ms */
const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
/**
 * @param {string} cmd @param {string[]} args
 * @param {{ input?: string, timeoutMs?: number, allowFail?: boolean }} [opts]
 */
function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, {
    env,
    input: opts.input,
    encoding: "utf8",
    maxBuffer: 1 << 30,
    timeout: opts.timeoutMs ?? 600_000,
  });
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return r;
}
/** @param {string[]} args @param {Parameters<typeof sh>[2]} [opts] */
const kubectl = (args, opts) => sh(kubectlBin, args, opts);
/**
 * wall time (ms) of the steps, one after another; the last vllmapp step's peak RSS (MiB) when it has the hook
 * @param {Step[]} steps
 */
function timed(steps) {
  const t = process.hrtime.bigint();
  /** @type {number | undefined} */
  let rss;
  for (const [cmd, args] of steps) {
    const r = sh(cmd, args);
    const m = /@@RSS (\d+)/.exec(r.stderr);
    if (m) rss = Number(m[1]) / 1024;
  }
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, rss };
}
/** @param {string[]} args @returns {Step} */
const vllmapp = (...args) => [process.execPath, [RSS_HOOK, BIN, ...args]];

/** @param {number} n @param {number} gpus */
function kwokNodes(n, gpus) {
  const items = Array.from({ length: n }, (_, i) => {
    const name = `${pool}-${i}`;
    const capacity = {
      cpu: "1024",
      memory: "8Ti",
      pods: "110",
      "ephemeral-storage": "10Ti",
      "nvidia.com/gpu": String(gpus),
    };
    return {
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name,
        annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
        labels: {
          "kubernetes.io/hostname": name,
          "kubernetes.io/os": "linux",
          type: "kwok",
          "vllmapp.dev/pool": pool,
          "load17-bench": pool,
          "nvidia.com/gpu.product": "NVIDIA-L4",
        },
      },
      spec: { taints: [{ key: "load17-bench", value: pool, effect: "NoSchedule" }] },
      status: {
        capacity,
        allocatable: capacity,
        nodeInfo: {
          architecture: "amd64",
          operatingSystem: "linux",
          kubeletVersion: "v1.36.3",
          containerRuntimeVersion: "containerd://kwok",
          kernelVersion: "kwok",
          osImage: "kwok",
          kubeProxyVersion: "",
          bootID: "",
          machineID: "",
          systemUUID: "",
        },
      },
    };
  });
  return JSON.stringify({ apiVersion: "v1", kind: "List", items });
}
const appsYaml = Array.from(
  { length: APPS },
  (_, i) => `name: load17-${String(i).padStart(3, "0")}
model_path: /models/m${i}
image: ${env.VLLM_STANDIN_IMAGE}
resources: {gpu: "L4:1", cpu: "1", memory: 2Gi}
cluster_pool: ${pool}
pod_template:
  spec:
    tolerations: [{key: load17-bench, operator: Exists, effect: NoSchedule}]
`,
).join("---\n");

/** @type {string[]} */
const rows = [];
/** @param {string} what @param {number} v @param {string} baseline @param {number} b */
const row = (what, v, baseline, b, extra = "") =>
  rows.push(`| ${what} | ${fmt(v)} | ${baseline} | ${fmt(b)} | ${(v / b).toFixed(2)}× | ${extra} |`);
/** @type {string[]} */
const namespaces = [];
/** @param {string} name */
const mkns = (name) => (kubectl(["create", "namespace", name]), namespaces.push(name), name);

try {
  if (spawnSync("npm", ["run", "build"], { cwd: ROOT, stdio: "ignore" }).status !== 0)
    throw new Error("npm run build failed");
  // room for every run's 200 pods at once (terminating namespaces keep theirs for a minute)
  const runs = 2 * N_DEPLOY;
  const nodes = Math.ceil((runs * APPS) / 100);
  note(`creating ${nodes} kwok nodes (pool ${pool})`);
  kubectl(["create", "-f", "-"], { input: kwokNodes(nodes, 128) });
  for (let i = 0; i < 120; i++) {
    const list = /** @type {{ items: { status: { conditions?: { type: string, status: string }[] } }[] }} */ (
      JSON.parse(kubectl(["get", "nodes", "-l", `load17-bench=${pool}`, "-o", "json"]).stdout)
    );
    if (
      list.items.length === nodes &&
      list.items.every((n) => n.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
    )
      break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const file = path.join(tmp, "apps.yaml");
  writeFileSync(file, appsYaml);

  note(
    `deploy of ${APPS} apps until Ready vs kubectl apply --server-side + kubectl wait (${N_DEPLOY} run(s) each, interleaved)`,
  );
  /** @type {Samples} */
  const first = { v: [], k: [], rss: [] };
  /** @type {Samples} */
  const again = { v: [], k: [], rss: [] };
  /** @type {string | undefined} */
  let statusNs;
  for (let i = 0; i < N_DEPLOY; i++) {
    const vns = mkns(`${id}-v${i}`);
    const d = timed([vllmapp("deploy", "-f", file, "-n", vns, "--quiet")]);
    first.v.push(d.ms);
    first.rss.push(/** @type {number} */ (d.rss));
    const kns = mkns(`${id}-k${i}`);
    const rendered = path.join(tmp, `rendered-${i}.yaml`);
    writeFileSync(
      rendered,
      sh(process.execPath, [BIN, "render", "--dry-run", "-f", file, "-n", kns, "-o", "yaml"]).stdout,
    );
    first.k.push(
      timed([
        [kubectlBin, ["apply", "--server-side", "--field-manager=kubectl", "-f", rendered]],
        [kubectlBin, ["wait", "--for=condition=Available", "deployment", "--all", "-n", kns, "--timeout=600s"]],
      ]).ms,
    );
    for (let j = 0; j < N_SMALL; j++) {
      const a = timed([vllmapp("deploy", "-f", file, "-n", vns, "--quiet")]);
      again.v.push(a.ms);
      again.rss.push(/** @type {number} */ (a.rss));
      again.k.push(timed([[kubectlBin, ["apply", "--server-side", "--field-manager=kubectl", "-f", rendered]]]).ms);
    }
    statusNs = vns;
  }
  row(
    `\`vllmapp deploy\` of ${APPS} apps from one file, until Ready`,
    median(first.v),
    "`kubectl apply --server-side -f` (same objects) + `kubectl wait --for=condition=Available`",
    median(first.k),
    `runs: ${first.v.map(fmt).join(", ")} vs ${first.k.map(fmt).join(", ")}; the cluster (scheduler, kwok) sets most of it`,
  );
  row(
    `\`vllmapp deploy\` of the ${APPS} apps again, unchanged`,
    median(again.v),
    "`kubectl apply --server-side -f` again",
    median(again.k),
    `${again.v.length} runs; vllmapp also server-side dry-runs every object first, reads each app's set, prunes, and waits (watches) for each rollout`,
  );

  note(`status of ${APPS} apps vs kubectl get deployments -o json (${N_SMALL} runs, interleaved)`);
  /** @type {Samples} */
  const st = { v: [], k: [], rss: [] };
  const statusNamespace = /** @type {string} */ (statusNs); // of the last deploy run
  for (let j = 0; j < N_SMALL; j++) {
    const s = timed([vllmapp("status", "-f", file, "-n", statusNamespace, "--json")]);
    st.v.push(s.ms);
    st.rss.push(/** @type {number} */ (s.rss));
    st.k.push(timed([[kubectlBin, ["get", "deployments", "-n", statusNamespace, "-o", "json"]]]).ms);
  }
  row(
    `\`vllmapp status --json\` of ${APPS} apps`,
    median(st.v),
    "`kubectl get deployments -o json`",
    median(st.k),
    "vllmapp also reads each app's Service, ReplicaSets, pods, events and its first replica's log (startup phases)",
  );
  const list = timed([vllmapp("list", "-n", statusNamespace)]);

  note(
    `logs -f of ${REPLICAS} replicas on the real node, ${TICK_RATE} lines/s each, followed for ${FOLLOW_MS / 1000} s by both at once`,
  );
  const lns = mkns(`${id}-logs`);
  const tickFile = path.join(tmp, "ticker.yaml");
  writeFileSync(
    tickFile,
    `name: load17-ticker
model_path: /models/tick
image: ${env.VLLM_STANDIN_IMAGE}
resources: {gpu: 0, cpu: ["10m", "500m"], memory: ["32Mi", "128Mi"]}
scaling: {replicas: ${REPLICAS}}
requires_auth: false
env_vars: {STANDIN_TICK_RATE: "${TICK_RATE}"}
pod_template:
  spec:
    nodeSelector: {kubernetes.io/hostname: ${env.VLLMAPP_REAL_NODE}}
    tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
`,
  );
  sh(process.execPath, [BIN, "deploy", "-f", tickFile, "-n", lns, "--quiet", "--timeout", "300s"]);
  const pods = /** @type {{ items: { metadata: { name: string } }[] }} */ (
    JSON.parse(kubectl(["get", "pods", "-n", lns, "-l", "vllmapp.dev/app=load17-ticker", "-o", "json"]).stdout)
  ).items.map((p) => p.metadata.name);
  /** @param {string} cmd @param {string[]} args */
  const follow = (cmd, args) => {
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    /** @type {Buffer[]} */
    const chunks = [];
    let err = "";
    child.stdout.on("data", (b) => chunks.push(b));
    child.stderr.on("data", (b) => (err += b));
    /** @type {Promise<{ code: number | null, signal: NodeJS.Signals | null, out: string, err: string }>} */
    const done = new Promise((r) =>
      child.on("exit", (code, signal) => r({ code, signal, out: Buffer.concat(chunks).toString(), err })),
    );
    return { child, done };
  };
  const since = "--since=1s"; // both start at the live end of the logs; only what arrives while following is counted
  const v = follow(process.execPath, [BIN, "logs", "load17-ticker", "-n", lns, "-f", since]);
  const k = follow(kubectlBin, [
    "logs",
    "-f",
    "-n",
    lns,
    "-l",
    "vllmapp.dev/app=load17-ticker",
    "--max-log-requests=20",
    "--prefix",
    "-c",
    "vllm",
    since,
  ]);
  await new Promise((r) => setTimeout(r, FOLLOW_MS));
  v.child.kill("SIGINT");
  k.child.kill("SIGINT");
  const [vr, kr] = await Promise.all([v.done, k.done]);
  /** @param {string} out @param {RegExp} re */
  const count = (out, re) => {
    /** @type {Map<string, number[]>} */
    const per = new Map(pods.map((p) => [p, []]));
    for (const l of out.split("\n")) {
      const m = re.exec(l);
      if (m) per.get(/** @type {string} */ (m[1]))?.push(Number(m[2])); // the pods listed above only
    }
    let lines = 0,
      dup = 0,
      missing = 0,
      replicas = 0;
    for (const ticks of per.values()) {
      if (!ticks.length) continue;
      replicas++;
      lines += ticks.length;
      const seen = new Set();
      for (const t of ticks) {
        if (seen.has(t)) dup++;
        else seen.add(t);
      }
      const lo = Math.min(...ticks),
        hi = Math.max(...ticks);
      missing += hi - lo + 1 - seen.size;
    }
    return { lines, dup, missing, replicas };
  };
  const vc = count(vr.out, /^\[([^\]]+)\] .*\[loggers\.py:257\] tick (\d+)$/);
  const kc = count(kr.out, /^\[pod\/([^/]+)\/vllm\] .*\[loggers\.py:257\] tick (\d+)$/);
  note(`vllmapp exit ${vr.code ?? vr.signal}, kubectl exit ${kr.code ?? kr.signal}`);
  /** @param {{ lines: number }} c */
  const lps = (c) => Math.round(c.lines / (FOLLOW_MS / 1000)).toLocaleString("en");
  const logsRow = `| \`vllmapp logs -f\` of ${REPLICAS} replicas × ${TICK_RATE} lines/s, ${FOLLOW_MS / 1000} s | ${lps(vc)} lines/s (${vc.lines.toLocaleString("en")} lines, ${vc.replicas}/${REPLICAS} replicas) | \`kubectl logs -f -l … --max-log-requests=20 --prefix\`, at the same time | ${lps(kc)} lines/s (${kc.lines.toLocaleString("en")} lines, ${kc.replicas}/${REPLICAS} replicas) | ${(vc.lines / kc.lines).toFixed(2)}× | duplicates ${vc.dup} vs ${kc.dup}; missing ${vc.missing} vs ${kc.missing}; the replicas print ${(REPLICAS * TICK_RATE).toLocaleString("en")} lines/s in all |`;
  kubectl(["delete", "deployment", "load17-ticker", "-n", lns, "--wait=false"]);

  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  const report = [
    `Machine: ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node.js ${process.version}, load average ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")} at the end.`,
    `Runs: first deploy ${N_DEPLOY} each, the rest ${N_SMALL} each; medians; vllmapp and its baseline interleaved.`,
    "",
    "| what | vllmapp | baseline | baseline time | ratio | notes |",
    "|---|---|---|---|---|---|",
    ...rows,
    logsRow,
    "",
    "| command | peak RSS |",
    "|---|---|",
    `| \`deploy\` of ${APPS} apps, until Ready | ${Math.max(...first.rss).toFixed(0)} MiB |`,
    `| \`deploy\` of ${APPS} apps, unchanged | ${Math.max(...again.rss).toFixed(0)} MiB |`,
    `| \`status --json\` of ${APPS} apps | ${Math.max(...st.rss).toFixed(0)} MiB |`,
    `| \`list\` of ${APPS} apps | ${/** @type {number} */ (list.rss).toFixed(0)} MiB |`,
    "",
  ].join("\n");
  process.stdout.write(report);
  if (outFile) writeFileSync(outFile, report);
} finally {
  for (const n of namespaces) kubectl(["delete", "namespace", n, "--wait=false"], { allowFail: true });
  kubectl(["delete", "nodes", "-l", `load17-bench=${pool}`, "--wait=false"], { allowFail: true });
  rmSync(tmp, { recursive: true, force: true });
}
