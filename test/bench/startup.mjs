#!/usr/bin/env node
// @ts-check
// `npm run bench:startup`: the CPU time (user + sys, what the process and its threads burn, so a loaded
// machine skews it less than wall time) of `vllmapp --help` and `vllmapp render --dry-run` of one app,
// next to a bare `node -e 0` of the same Node.js and `helm template` of the vLLM production-stack chart
// for the same model, interleaved run by run; medians. No test asserts a time: the numbers go to
// BENCHMARKS.md.
//
//   VLLMAPP_BENCH_NODE=/path/to/node   the Node.js to run (default: Node.js 24 from the test bed's cache)
//   VLLMAPP_BENCH_BIN=/path/to/vllmapp a single executable (npm run build:binary) to measure too, in the
//                                      same interleaved run as node bin/vllmapp.js
//   HELM=/path/to/helm CHART=/path/to/production-stack/helm   add the helm row (see BENCHMARKS.md)
//   BENCH_STARTUP_RUNS=N               runs of each command (default 21, after 3 warm-ups)
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { MAIN_LINE, nodeForLine } from "../testbed/node-lines.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const RUNS = Number(process.env.BENCH_STARTUP_RUNS || 21);
const node = process.env.VLLMAPP_BENCH_NODE || (await nodeForLine(MAIN_LINE));
const exe = process.env.VLLMAPP_BENCH_BIN;
/** @param {string[]} args */
const npm = (...args) => [node, path.join(ROOT, "bin", "vllmapp.js"), ...args];

// The production-stack chart's minimal example (tutorials/assets/values-01-minimal-example.yaml), as a vllmapp app.
const tmp = mkdtempSync(path.join(os.tmpdir(), "vllmapp-bench-startup-"));
const app = path.join(tmp, "vllm-app.yaml");
writeFileSync(
  app,
  `name: opt125m\nmodel_hf_path: facebook/opt-125m\nimage: vllm/vllm-openai:v0.11.0\nresources:\n  gpu: 1\n  cpu: 6\n  memory: 16Gi\n`,
);
const values = path.join(tmp, "values.yaml");
writeFileSync(
  values,
  `servingEngineSpec:\n  runtimeClassName: ""\n  modelSpec:\n  - name: "opt125m"\n    repository: "vllm/vllm-openai"\n    tag: "v0.11.0"\n    modelURL: "facebook/opt-125m"\n    replicaCount: 1\n    requestCPU: 6\n    requestMemory: "16Gi"\n    requestGPU: 1\n`,
);

/** @type {Record<string, string[]>} */
const commands = {
  node: [node, "-e", "0"],
  help: npm("--help"),
  render: npm("render", "--dry-run", "-f", app),
};
if (exe) Object.assign(commands, { binHelp: [exe, "--help"], binRender: [exe, "render", "--dry-run", "-f", app] });
if (process.env.HELM && process.env.CHART)
  commands.helm = [process.env.HELM, "template", "vllm", process.env.CHART, "-f", values];

/** @param {string} s */
const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
/**
 * CPU ms (user + sys) of one run, from bash's `times`.
 * @param {string[]} argv
 */
function cpuMs(argv) {
  const r = spawnSync(
    "bash",
    ["-c", `${argv.map(q).join(" ")} >/dev/null 2>/tmp/vllmapp-bench-startup.err || exit 99; times`],
    {
      cwd: tmp,
      encoding: "utf8",
      env: { ...process.env, CI: "1", NO_COLOR: "1" },
    },
  );
  if (r.status !== 0)
    throw new Error(`${argv.join(" ")} failed (exit ${r.status}); see /tmp/vllmapp-bench-startup.err`);
  // the last line of `times` is the children's: "0m0.021s 0m0.009s"
  const [user, sys] = /** @type {[number, number]} */ (
    [.../** @type {string} */ (r.stdout.trim().split("\n").pop()).matchAll(/(\d+)m([\d.]+)s/g)].map(
      (x) => Number(x[1]) * 60_000 + Number(x[2]) * 1000,
    )
  );
  return user + sys;
}

const loadBefore = os
  .loadavg()
  .map((x) => x.toFixed(2))
  .join(" ");
/** @type {Record<string, number[]>} */
const samples = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
for (let i = 0; i < RUNS + 3; i++) {
  for (const [k, argv] of Object.entries(commands)) {
    const ms = cpuMs(argv);
    if (i >= 3) /** @type {number[]} */ (samples[k]).push(ms);
  }
}
/** @param {number[]} xs */
const median = (xs) => /** @type {number} */ ([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]);
/** the medians (commands always has node) */
const m = /** @type {Record<string, number> & { node: number }} */ (
  Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, median(xs)]))
);
const v = spawnSync(node, ["--version"], { encoding: "utf8" }).stdout.trim();
const load = os
  .loadavg()
  .map((x) => x.toFixed(2))
  .join(" ");
console.log(
  `Node.js ${v}${exe ? `, binary ${exe}` : ""}; ${RUNS} runs each after 3 warm-ups, interleaved; CPU ms (user+sys) medians; load average ${loadBefore} before, ${load} after`,
);
console.log("| what | CPU ms | vs `node -e 0` | vs `helm template` |");
console.log("|---|---|---|---|");
for (const [k, ms] of Object.entries(m)) {
  const label = {
    node: "`node -e 0`",
    help: "npm: `vllmapp --help`",
    render: "npm: `vllmapp render --dry-run` (one app)",
    binHelp: "binary: `vllmapp --help`",
    binRender: "binary: `vllmapp render --dry-run` (one app)",
    helm: "`helm template` (production-stack, same model)",
  }[k];
  console.log(
    `| ${label} | ${ms.toFixed(0)} | ${(ms / m.node).toFixed(2)}× | ${m.helm ? `${(ms / m.helm).toFixed(2)}×` : "—"} |`,
  );
}
console.log(`raw: ${JSON.stringify(samples)}`);
