// Quick startup comparison: medians of interleaved runs (the full benchmark is test/bench/run.mjs).
import { spawnSync } from "node:child_process";
const N = Number(process.env.N ?? 21);
const cmds = {
  "node -e 0": [process.execPath, ["-e", "0"]],
  "vllmapp --help": [process.execPath, ["bin/vllmapp.js", "--help"]],
  "vllmapp render --dry-run": [process.execPath, ["bin/vllmapp.js", "render", "--dry-run", "-f", "templates/examples/qwen3.yaml"]],
};
const times = Object.fromEntries(Object.keys(cmds).map((k) => [k, []]));
for (let i = 0; i < N + 2; i++) {
  for (const [k, [cmd, args]] of Object.entries(cmds)) {
    const t = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (r.status !== 0) throw new Error(`${k} failed: ${r.stderr}`);
    if (i >= 2) times[k].push(ms);
  }
}
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const base = med(times["node -e 0"]);
for (const [k, v] of Object.entries(times)) console.log(`${k.padEnd(28)} ${med(v).toFixed(1).padStart(7)} ms  ${(med(v) / base).toFixed(2)}×`);
