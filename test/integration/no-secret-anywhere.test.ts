/**
 * No secret anywhere (issue #17, item 3). A distinct random sentinel goes into every secret-bearing input
 * (the variables `--create-secrets` copies, HF_TOKEN, MLFLOW_TRACKING_TOKEN, the S3 keys, a user's
 * VLLM_API_KEY, a kubeconfig's bearer token; the generated API keys are read back once they exist), and
 * every command runs with them in its environment, with and without --debug and --json, and on error
 * paths. Each sentinel is looked for as it is, by its first and last 16 characters (a truncated echo), and
 * in base64 and base64url at each of the three byte alignments, in: the stdout and stderr of every command
 * and the files render and init write; the argv of every process vllmapp starts (recorded at spawn by
 * wrappers first on PATH, not sampled with ps); every object in the app's namespace with its annotations
 * (last-applied-configuration included), labels and managedFields, and the namespace's Events; the
 * `docker inspect` of every container vllmapp created. A secret may live only where it belongs: the
 * Secret's .data, a container's environment (by secretKeyRef on Kubernetes; Docker's Config.Env), and the
 * answer of `status --show-api-key`, which must show the key (so a scan that finds nothing is no pass).
 * vllmapp's own argv (built by this file) carries no sentinel either: that is this file's doing, checked.
 * Against the test bed's control plane (kwok nodes), its dockerd with the stand-in image, and its S3
 * (moto, any credentials), MLflow and Hugging Face replay servers.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { runCli, workdir, type CliResult } from "../helpers.ts";
import { docker, freePort, kubectl, kubectlJson, tbEnv, waitUntil } from "../testbed/tb.ts";
import { removeApps, standinImage } from "./docker-support.ts";
import { withNamespaceFreed } from "./kubernetes-support.ts";

const rnd = () => randomBytes(8).toString("hex");
/** One sentinel per input; the Hugging Face token starts with hf_ as real ones do (vllmapp checks that). */
const S = {
  hfToken: `hf_sntlhf${rnd()}`,
  wandb: `sntl-wandb-${rnd()}`,
  s3Id: `sntl-s3id-${rnd()}`,
  s3Key: `sntl-s3key-${rnd()}`,
  s3Long: `sntl-s3long-${rnd()}`,
  caFile: `sntl-cafile-${rnd()}`,
  mlflow: `sntl-mlflow-${rnd()}`,
  userApiKey: `sntl-apikey-${rnd()}`,
  notHf: `sntl-nothf-${rnd()}`,
  wrongKubeToken: `sntl-kubetoken-${rnd()}`,
};
/** secrets learned while the file runs (generated API keys, the ServiceAccount token): name → value, and whether the value's head is its own */
const learned = new Map<string, { value: string; head: boolean }>();

/** Every form of a value a leak could take. */
function needlesOf(value: string, head = true): string[] {
  const out = new Set([value, value.slice(-16)]);
  if (head) out.add(value.slice(0, 16));
  for (const k of [0, 1, 2]) {
    // the part of the base64 that does not depend on what comes before or after the value
    const bytes = Buffer.concat([Buffer.alloc(k, 0x20), Buffer.from(value)]);
    const b64 = bytes.toString("base64").slice(k === 0 ? 0 : 4, Math.floor(bytes.length / 3) * 4);
    out.add(b64);
    out.add(b64.replaceAll("+", "-").replaceAll("/", "_"));
  }
  return [...out];
}

function needles(): { secret: string; needle: string }[] {
  const all = [...Object.entries(S).map(([k, v]) => [k, { value: v, head: true }] as const), ...learned];
  return all.flatMap(([secret, { value, head }]) => needlesOf(value, head).map((needle) => ({ secret, needle })));
}

/** everything scanned, for the final rescan with every secret learned by then */
const seen: { where: string; text: string }[] = [];

function assertClean(where: string, text: string): void {
  seen.push({ where, text });
  for (const { secret, needle } of needles()) {
    const at = text.indexOf(needle);
    if (at >= 0) assert.fail(`secret ${secret} leaked (as ${JSON.stringify(needle)}) into ${where}:\n…${text.slice(Math.max(0, at - 300), at + 300)}…`);
  }
}

// --- the CLI, with the sentinels in its environment and the spawn wrappers first on PATH ---------------

const ARGV_LOG = workdir();
const WRAPPERS = workdir();
const HOME = workdir();
const ORIGINAL_PATH = process.env.PATH ?? "";
/** vllmapp's own argv, as this file built it */
const ownArgv: string[][] = [];

const SECRET_ENV = {
  HF_TOKEN: S.hfToken,
  WANDB_API_KEY: S.wandb,
  AWS_ACCESS_KEY_ID: S.s3Id,
  AWS_SECRET_ACCESS_KEY: S.s3Key,
  MLFLOW_TRACKING_TOKEN: S.mlflow,
  VLLM_API_KEY: S.userApiKey,
};
const SECRET_NAMES = new Set([...Object.keys(SECRET_ENV), "OPENAI_API_KEY"]);

function cli(dir: string, args: string[], env: Record<string, string | undefined> = {}): CliResult {
  ownArgv.push(args);
  const r = runCli(args, { cwd: dir, env: { ...SECRET_ENV, HOME, PATH: `${WRAPPERS}:${ORIGINAL_PATH}`, ...env } });
  assertClean(`vllmapp ${args.join(" ")} (exit ${r.code}) stdout`, r.stdout);
  assertClean(`vllmapp ${args.join(" ")} (exit ${r.code}) stderr`, r.stderr);
  return r;
}

/** Each run in text, --json and --debug (and both); returns the --json one. */
function everyWay(dir: string, args: string[], code: number, env: Record<string, string | undefined> = {}): CliResult {
  let json: CliResult | undefined;
  for (const extra of [[], ["--json"], ["--debug"], ["--json", "--debug"]]) {
    const r = cli(dir, [...args, ...extra], env);
    assert.equal(r.code, code, `${args.join(" ")} ${extra.join(" ")}:\n${r.stderr}`);
    if (extra.length === 1 && extra[0] === "--json") json = r;
  }
  return json!;
}

/** A wrapper for `name` (found on the original PATH) that records its argv, NUL-separated, then execs it. */
function wrap(name: string): void {
  const real = ORIGINAL_PATH.split(":").map((d) => path.join(d, name)).find((p) => existsSync(p) && statSync(p).isFile());
  assert.ok(real, `${name} is not on PATH`);
  const file = path.join(WRAPPERS, name);
  writeFileSync(file, `#!/bin/sh\nprintf '%s\\0' "$#" ${JSON.stringify(name)} "$@" >> ${JSON.stringify(ARGV_LOG)}/$$\nexec ${JSON.stringify(real)} "$@"\n`);
  chmodSync(file, 0o755);
}

/** Every argv the wrappers recorded. */
function spawnedArgv(): string[][] {
  const out: string[][] = [];
  for (const f of readdirSync(ARGV_LOG)) {
    const parts = readFileSync(path.join(ARGV_LOG, f), "utf8").split("\0");
    for (let i = 0; i + 1 < parts.length; ) {
      const n = Number(parts[i]);
      out.push(parts.slice(i + 1, i + 2 + n));
      i += 2 + n;
    }
  }
  return out;
}

// --- the apps ------------------------------------------------------------------------------------------

/** Kubernetes: every secret form of SPEC §4, and the HF, S3 and MLflow sources resolved with the sentinels. */
const K8S_APPS = () => `name: hfapp
model_hf_path: ${tbEnv("VLLM_TINY_MODEL_HF")}
resources: {gpu: "L4:1"}
secrets:
  - HF_TOKEN
  - WANDB_API_KEY
  - env_var: AWS_SECRET_ACCESS_KEY
    secret: sec-s3
    key: secret-key
  - key: ca.pem
    secret: corp-ca
    mount: /etc/ssl/corp
---
name: s3app
model_path: ${tbEnv("VLLM_TINY_MODEL_S3")}
stream_model: false
env_vars: {AWS_ENDPOINT_URL: "${tbEnv("POD_AWS_ENDPOINT_URL")}"}
resources: {gpu: "L4:1"}
secrets: [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY]
---
name: mlapp
runs: {backend: mlflow, tracking_uri: ${tbEnv("MLFLOW_TRACKING_URI")}}
model_path:
  run_output: {run_name: ${tbEnv("VLLM_TINY_MODEL_MLFLOW_RUN")}, output: model}
env_vars: {AWS_ENDPOINT_URL: "${tbEnv("POD_AWS_ENDPOINT_URL")}"}
resources: {gpu: "L4:1"}
secrets: [MLFLOW_TRACKING_TOKEN, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY]
`;

const DK = `sec17-${process.pid % 100000}`;
const DK_USER = `${DK}-user`;
const DK_GEN = `${DK}-gen`;
/** Docker: a user's VLLM_API_KEY and secrets for the server and its one-off steps; a generated key and an rclone copy with the S3 keys. */
const DK_APPS = (userPort: number, genPort: number) => `name: ${DK_USER}
model_path: /models/tiny
image: ${standinImage()}
port: ${userPort}
resources: {gpu: 0}
requires_auth: {secret: team-keys, key: vllm}
secrets:
  - HF_TOKEN
  - WANDB_API_KEY
  - env_var: AWS_SECRET_ACCESS_KEY
    secret: sec-s3
    key: secret-key
on_startup: ["vllm", "--version"]
on_shutdown: ["vllm", "--version"]
---
name: ${DK_GEN}
model_path: ${tbEnv("VLLM_TINY_MODEL_S3")}
stream_model: false
image: ${standinImage()}
port: ${genPort}
resources: {gpu: 0}
env_vars: {AWS_ENDPOINT_URL: "${tbEnv("AWS_ENDPOINT_URL")}"}
secrets: [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, MLFLOW_TRACKING_TOKEN]
`;

let ns: string;
let cleanup: () => Promise<void>;
let k8sDir: string;
let dkDir: string;
/** a 127.0.0.1 URL nothing listens on */
let dead: string;
const admin = `sec17-admin-${rnd().slice(0, 6)}`;

before(async () => {
  ({ ns, cleanup } = await withNamespaceFreed("sec17"));
  k8sDir = workdir({ "vllm-app.yaml": K8S_APPS() });
  dkDir = workdir({ "vllm-app.yaml": DK_APPS(await freePort(), await freePort()) });
  dead = `http://127.0.0.1:${await freePort()}`;
  // the binaries vllmapp starts: docker, and the first word of every one-off step it plans
  const plan = JSON.parse(runCli(["deploy", "--local", "--dry-run=client", "--json"], { cwd: dkDir }).stdout);
  const spawned = new Set(["docker", ...plan.apps.flatMap((a: any) => [a.docker.argv[0], ...a.docker.before.map((b: any) => b.argv[0])])]);
  for (const name of spawned) wrap(name);
});

after(async () => {
  await removeApps([DK_USER, DK_GEN]);
  const bench = (await docker(["ps", "-aq", "--filter", `label=vllmapp.bench=${DK_USER}`, "--filter", `label=vllmapp.bench=${DK_GEN}`], { allowFail: true })).stdout.split("\n").filter(Boolean);
  if (bench.length) await docker(["rm", "-f", ...bench], { allowFail: true });
  await kubectl(["delete", "clusterrolebinding", admin, "--ignore-not-found"], { allowFail: true });
  await cleanup();
  for (const d of [ARGV_LOG, WRAPPERS, HOME, k8sDir, dkDir]) rmSync(d, { recursive: true, force: true });
});

// --- offline: init, render, check ----------------------------------------------------------------------

test("init, render (to files, --dry-run, -o json/yaml, --local) and check print and write no sentinel", () => {
  const init = workdir();
  const i = cli(init, ["init", "--yes", "--name", "sec17-init", "--model", tbEnv("VLLM_TINY_MODEL_HF"), "--gpu", "L4:1", "--json"]);
  assert.equal(i.code, 0, i.stderr);
  assertClean("the vllm-app.yaml init wrote", readFileSync(path.join(init, "vllm-app.yaml"), "utf8"));
  rmSync(init, { recursive: true, force: true });

  const out = cli(k8sDir, ["render", "--out", "rendered", "--debug"]);
  assert.equal(out.code, 0, out.stderr);
  const files = readdirSync(path.join(k8sDir, "rendered"), { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
  assert.ok(files.length >= 10, "render wrote the apps' files");
  for (const f of files) assertClean(`rendered file ${f.name}`, readFileSync(path.join(f.parentPath, f.name), "utf8"));
  rmSync(path.join(k8sDir, "rendered"), { recursive: true, force: true });
  for (const args of [["--dry-run"], ["--dry-run", "-o", "json"], ["--dry-run", "-o", "yaml", "--debug"], ["--dry-run", "--local", "-o", "json"], ["--dry-run", "--resolve", "--debug"]]) {
    const r = cli(k8sDir, ["render", ...args]);
    assert.equal(r.code, 0, r.stderr);
  }
  const json = JSON.parse(cli(k8sDir, ["render", "--dry-run", "--resolve", "-o", "json"]).stdout);
  const mlapp = json.apps.find((a: any) => a.name === "mlapp");
  assert.equal(mlapp.model.kind, "s3", "the MLflow run output resolved with the sentinel token and S3 keys");
  const d = cli(dkDir, ["render", "--dry-run", "-o", "json", "--local"]);
  const argv: string[] = JSON.parse(d.stdout).apps[0].docker.argv;
  assert.equal(argv[argv.indexOf("HF_TOKEN") - 1], "-e", "secrets reach docker by name");

  everyWay(k8sDir, ["check"], 0);
  // error paths: a gated repo the sentinel token cannot read, a token that is no HF token, unreachable sources
  const gated = workdir({ "vllm-app.yaml": `name: gated\nmodel_hf_path: meta-llama/Llama-3.1-8B-Instruct\nresources: {gpu: "L4:1"}\nsecrets: [HF_TOKEN]\n` });
  const g = everyWay(gated, ["check"], 2);
  assert.match(g.stdout + g.stderr, /HF_TOKEN cannot read meta-llama\/Llama-3\.1-8B-Instruct/);
  const notHf = cli(gated, ["check", "--debug"], { HF_TOKEN: S.notHf });
  assert.equal(notHf.code, 2, notHf.stderr);
  assert.match(notHf.stdout + notHf.stderr, /HF_TOKEN is not a Hugging Face access token/);
  const unreachable = workdir({
    "vllm-app.yaml": `name: far\nruns: {backend: mlflow, tracking_uri: ${dead}}\nmodel_path:\n  run_output: {run_name: r1, output: model}\nresources: {gpu: "L4:1"}\nsecrets: [MLFLOW_TRACKING_TOKEN]\n---\nname: far-s3\nmodel_path: s3://sec17-nowhere/m/\nresources: {gpu: "L4:1"}\nsecrets: [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY]\n`,
  });
  const u = everyWay(unreachable, ["check"], 2, { AWS_ENDPOINT_URL: dead });
  assert.match(u.stdout + u.stderr, /cannot reach MLflow/);
  for (const d of [gated, unreachable]) rmSync(d, { recursive: true, force: true });
});
