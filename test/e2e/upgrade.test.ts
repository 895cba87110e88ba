/** `vllmapp check --vllm-version X`, the upgrade report, through the built CLI. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runCli, workdir } from "../support/cli.ts";

const app = (name: string, image: string, args: string[]) =>
  `name: ${name}\nmodel_hf_path: Qwen/Qwen3-0.6B\nimage: ${image}\nresources:\n  gpu: L4:1\nextra_args:\n${args.map((a) => `  - ${JSON.stringify(a)}`).join("\n")}\n`;

const FILE = [
  app("chat", "vllm/vllm-openai:v0.11.0", ["--max-num-s", "64", "--task", "embed", "--max-model-len", "8192"]),
  app("fine", "vllm/vllm-openai:v0.19.0", ["--max-model-len", "8192"]),
].join("---\n");

test("check --vllm-version: what breaks (removed, with the replacement), what becomes ambiguous, exit 2 at file:line:col", () => {
  const dir = workdir({ "vllm-app.yaml": FILE });
  const r = runCli(["check", "--vllm-version", "0.33.0"], { cwd: dir });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stdout, /^chat: vLLM 0\.11\.0 → 0\.33\.0: 2 flags break/m);
  assert.match(r.stdout, /breaks +extra_args\[2\] +--task +--task was removed in vLLM .* fix: use --runner pooling/);
  assert.match(r.stdout, /ambiguous +extra_args\[0\] +--max-num-s .*--max-num-scheduled-tokens, --max-num-seqs/);
  assert.match(r.stdout, /^fine: vLLM 0\.19\.0 → 0\.33\.0: nothing breaks, 1 change$/m); // the CUDA floor: 12.8 → 13.0
  assert.match(r.stderr, /^vllm-app\.yaml:9:5 extra_args\[2\]: chat: on vLLM 0\.33\.0, --task was removed/m);
  assert.match(r.stderr, /^vllm-app\.yaml:7:5 extra_args\[0\]: chat: on vLLM 0\.33\.0, --max-num-s is ambiguous/m);
});

test("check --vllm-version --json; a flag added later breaks going back, naming the release that added it", () => {
  const dir = workdir({ "vllm-app.yaml": app("new", "vllm/vllm-openai:v0.33.0", ["--max-model-len", "8192"]) });
  const ok = runCli(["check", "--vllm-version", "0.33", "--json"], { cwd: dir });
  assert.equal(ok.code, 0, ok.stderr);
  const j = JSON.parse(ok.stdout);
  assert.equal(j.to, "0.33.0");
  assert.equal(j.ok, true);
  assert.deepEqual(
    j.apps.map((a: { app: string; from: string; findings: unknown[] }) => [a.app, a.from, a.findings.length]),
    [["new", "0.33.0", 0]],
  );
  // --disable-log-requests: in 0.33 (the --enable-log-requests twin), not in 0.19
  const back = workdir({ "vllm-app.yaml": app("new", "vllm/vllm-openai:v0.33.0", ["--disable-log-requests"]) });
  const r = runCli(["check", "--vllm-version", "0.19.0", "--json"], { cwd: back });
  assert.equal(r.code, 2);
  const f = JSON.parse(r.stdout).apps[0].findings;
  assert.equal(f[0].kind, "breaks");
  assert.equal(f[0].flag, "--disable-log-requests");
  assert.match(f[0].message, /0\.19\.0/);
});

test("check --vllm-version with a release vllmapp has no catalog for is a usage error listing the releases", () => {
  const dir = workdir({ "vllm-app.yaml": app("x", "vllm/vllm-openai:v0.33.0", []) });
  const r = runCli(["check", "--vllm-version", "0.9.1"], { cwd: dir });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no catalog for vLLM 0\.9\.1[\s\S]*catalogued releases: 0\.11\.0, /);
});

// the three faults of the upgrade report found in the round-3 review (research/newcomer-3.md, row 18)
const fromOld = (args: string[]) => {
  const dir = workdir({ "vllm-app.yaml": app("old", "vllm/vllm-openai:v0.11.0", args) });
  const r = runCli(["check", "--vllm-version", "0.33.0", "--json"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const [a] = JSON.parse(r.stdout).apps as { from: string; findings: { flag: string; message: string }[] }[];
  assert.equal(a!.from, "0.11.0");
  return a!.findings;
};

test("check --vllm-version: a flag written in full that both releases know keeps its meaning (no 'means X but Y')", () => {
  // --disable-log-requests is its own switch on 0.11.0 and --enable-log-requests's negation on 0.33.0: logging stays off
  assert.deepEqual(
    fromOld(["--disable-log-requests"]).filter((f) => f.flag === "--disable-log-requests"),
    [],
  );
});

test("check --vllm-version: a type change that reads the app's value alike is no change of meaning", () => {
  // --max-model-len: 32k-style integers on 0.11.0, the same or auto on 0.33.0; 16384 is 16384 on both
  assert.deepEqual(
    fromOld(["--max-model-len", "16384"]).filter((f) => /takes /.test(f.message)),
    [],
  );
});

test("check --vllm-version: what breaks is said of the target release, not as the app's image", () => {
  const dir = workdir({ "vllm-app.yaml": app("old", "vllm/vllm-openai:v0.11.0", ["--task", "embed"]) });
  const r = runCli(["check", "--vllm-version", "0.33.0"], { cwd: dir });
  assert.equal(r.code, 2);
  assert.match(r.stdout, /--task was removed in vLLM 0\.13\.0 \(last in 0\.12\.0[^)]*\) — fix/);
  assert.doesNotMatch(r.stdout + r.stderr, /your image is/);
  assert.match(r.stderr, /old: on vLLM 0\.33\.0, --task was removed/);
});

test("check --vllm-version reports the CUDA floor the target's images need", () => {
  const dir = workdir({
    "vllm-app.yaml":
      app("old", "vllm/vllm-openai:v0.19.0", ["--max-model-len", "8192"]) +
      "monitoring:\n  dashboard: true\n  alerts: true\n",
  });
  const r = runCli(["check", "--vllm-version", "0.34.0", "--json"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const f = JSON.parse(r.stdout).apps[0].findings as { kind: string; path: string[]; message: string; fix: string }[];
  const cuda = f.filter((x) => x.path[0] === "image");
  assert.equal(cuda.length, 1, r.stdout);
  assert.equal(
    cuda[0]!.message,
    "vLLM 0.34.0's images are built for CUDA 13.0 (NVIDIA driver ≥ 580.65.06); 0.19.0's for CUDA 12.8 (≥ 570.26)",
  );
  assert.match(cuda[0]!.fix, /driver 580\.65\.06 or newer/);
  // the 13 metric families the dashboard and alerts read have the same names in 0.19.0 and 0.34.0
  assert.deepEqual(
    f.filter((x) => x.path[0] === "monitoring"),
    [],
  );
});
