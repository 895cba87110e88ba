#!/usr/bin/env node
// @ts-check
// How long a real vLLM takes to be ready under `vllmapp deploy --local`, and where the time goes
// (vllmapp's start-up phases, from `deploy --local --json`): the test bed's real CPU image and tiny
// model, with the caches a start can reuse cold or kept. Not part of `npm test` (minutes, and the
// numbers say little on shared cores); run it by hand with the test bed's env:
//   VLLM_IMAGE=… VLLM_TINY_MODEL_DIR=… [HF_ENDPOINT=… POD_HF_ENDPOINT=… VLLM_TINY_MODEL_HF=…] node test/bench/server-start.mjs [RUNS]
// Cases, each RUNS times, interleaved (CASES=a,b runs only those):
//   image-cache   VLLM_CACHE_ROOT left to the image (this image ships a filled one): the baseline
//   cold-cache    vllmapp's default, a host folder for vLLM's cache, empty (a first deploy)
//   kept-cache    the same folder kept from a start before (a redeploy)
//   hf-cold       (with the Hub replay) model_hf_path, an empty Hugging Face cache: it downloads
//   hf-kept       the same with the Hugging Face cache kept
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";

/**
 * @typedef {import("../../src/target.ts").StartupReport} StartupReport
 * @typedef {{ wall: number, startup: StartupReport }} Run
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = path.join(ROOT, "bin", "vllmapp.js");
const RUNS = Number(process.argv[2] ?? 3);
/** @param {string} k */
const need = (k) => process.env[k] ?? (console.error(`${k} is not set`), process.exit(2));
const IMAGE = need("VLLM_IMAGE");
const MODEL = need("VLLM_TINY_MODEL_DIR");
const hub =
  process.env.VLLM_TINY_MODEL_HF &&
  process.env.POD_HF_ENDPOINT &&
  process.env.HF_ENDPOINT &&
  (!process.env.CASES || process.env.CASES.includes("hf"));

const freePort = () =>
  /** @type {Promise<number>} */ (
    new Promise((r) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const p = /** @type {net.AddressInfo} */ (s.address()).port;
        s.close(() => r(p));
      });
    })
  );

/** @param {string[]} args @param {string} cwd @param {string} home */
function cli(args, cwd, home) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, HOME: home, CI: "1", NO_COLOR: "1" },
    encoding: "utf8",
    timeout: 600_000,
  });
  if (r.status !== 0) throw new Error(`vllmapp ${args.join(" ")} exited ${r.status}:\n${r.stderr}`);
  return r;
}

/**
 * One deploy --local → ready: wall seconds and the phases vllmapp reported.
 * @param {string} name @param {string} source @param {string} home @param {string} [extra]
 * @returns {Promise<Run>}
 */
async function start(name, source, home, extra = "") {
  const dir = mkdtempSync(path.join(os.tmpdir(), "vllmapp-start-"));
  const port = await freePort();
  writeFileSync(
    path.join(dir, "vllm-app.yaml"),
    `name: ${name}\n${source}\nmodel_id: tiny\nimage: ${IMAGE}\nport: ${port}\nrequires_auth: false\nextra_args: [--max-model-len, "512"]\n${extra}`,
  );
  const t = Date.now();
  const r = cli(["deploy", "--local", "--json", "--timeout", "5m"], dir, home);
  const wall = (Date.now() - t) / 1000;
  const startup = /** @type {{ apps: [{ startup: StartupReport }] }} */ (JSON.parse(r.stdout)).apps[0].startup;
  cli(["delete", "--local"], dir, home);
  rmSync(dir, { recursive: true, force: true });
  return { wall, startup };
}

/** @type {Record<string, () => { home: string, extra?: string }>} */
const cases = {
  "image-cache": () => ({
    home: mkdtempSync(path.join(os.tmpdir(), "vllmapp-home-")),
    extra: "env_vars: {VLLM_CACHE_ROOT: /opt/vllm-cache}\n",
  }),
  "cold-cache": () => ({ home: mkdtempSync(path.join(os.tmpdir(), "vllmapp-home-")) }),
  "kept-cache": () => ({ home: keptHome }),
};
const only = process.env.CASES?.split(",");
for (const k of Object.keys(cases)) if (only && !only.includes(k)) delete cases[k];
const keptHome = mkdtempSync(path.join(os.tmpdir(), "vllmapp-home-"));
/** @type {Record<string, Run[]>} */
const results = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
if (hub) {
  results["hf-cold"] = [];
  results["hf-kept"] = [];
}
const hfKept = mkdtempSync(path.join(os.tmpdir(), "vllmapp-home-"));
// warm the kept folders once, uncounted
if (cases["kept-cache"]) await start("warm", `model_path: ${MODEL}`, keptHome);
if (hub)
  await start(
    "warm-hf",
    `model_hf_path: ${process.env.VLLM_TINY_MODEL_HF}`,
    hfKept,
    `env_vars: {HF_ENDPOINT: ${process.env.POD_HF_ENDPOINT}}\n`,
  );
for (let i = 0; i < RUNS; i++) {
  for (const [k, make] of Object.entries(cases)) {
    const c = make();
    const runs = /** @type {Run[]} */ (results[k]);
    runs.push(await start(`s-${k}`, `model_path: ${MODEL}`, c.home, c.extra));
    process.stderr.write(`[start] ${k} #${i + 1}: ${/** @type {Run} */ (runs.at(-1)).wall.toFixed(1)} s\n`);
  }
  if (hub) {
    const hf = `model_hf_path: ${process.env.VLLM_TINY_MODEL_HF}`;
    const extra = `env_vars: {HF_ENDPOINT: ${process.env.POD_HF_ENDPOINT}}\n`;
    /** @type {Run[]} */ (results["hf-cold"]).push(
      await start("s-hf-cold", hf, mkdtempSync(path.join(os.tmpdir(), "vllmapp-home-")), extra),
    );
    /** @type {Run[]} */ (results["hf-kept"]).push(await start("s-hf-kept", hf, hfKept, extra));
  }
}
/** @param {number[]} a */
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  /** @param {number} i */
  const at = (i) => /** @type {number} */ (s[i]);
  return s.length % 2 ? at((s.length - 1) / 2) : (at(s.length / 2 - 1) + at(s.length / 2)) / 2;
};
/** @param {Run[]} runs @param {string} p */
const phase = (runs, p) => median(runs.map((r) => r.startup.phases.find((x) => x.phase === p)?.seconds ?? 0));
console.log(
  `| case | runs | deploy → ready (median, s) | starting | downloading | loading | initializing | ready at (vLLM's own, s) |`,
);
console.log(`|---|---|---|---|---|---|---|---|`);
for (const [k, runs] of Object.entries(results)) {
  console.log(
    `| ${k} | ${runs.length} | ${median(runs.map((r) => r.wall)).toFixed(1)} (${runs.map((r) => r.wall.toFixed(1)).join(", ")}) | ${phase(runs, "starting").toFixed(1)} | ${phase(runs, "downloading").toFixed(1)} | ${phase(runs, "loading").toFixed(1)} | ${phase(runs, "initializing").toFixed(1)} | ${median(runs.map((r) => r.startup.elapsedSeconds)).toFixed(1)} |`,
  );
}
console.log(
  `\nload average at the end: ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(" ")}`,
);
