/**
 * No secret anywhere (issue #17, item 3). A distinct random sentinel goes into every secret-bearing input
 * (the variables `--create-secrets` copies, HF_TOKEN, MLFLOW_TRACKING_TOKEN, the S3 keys, a user's
 * VLLM_API_KEY, a kubeconfig's bearer token, a password in HF_ENDPOINT; the generated API keys and a
 * ServiceAccount token are read back once they exist), and
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
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { runCli, workdir, type CliResult } from "../support/cli.ts";
import { docker, freePort, kubectl, kubectlJson, tbEnv } from "../support/testbed.ts";
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
  hubUrlPassword: `sntl-hubpass-${rnd()}`,
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
    if (at >= 0)
      assert.fail(
        `secret ${secret} leaked (as ${JSON.stringify(needle)}) into ${where}:\n…${text.slice(Math.max(0, at - 300), at + 300)}…`,
      );
  }
}

// --- the CLI, with the sentinels in its environment and the spawn wrappers first on PATH ---------------

/** every folder this file makes, removed when it ends (whatever state a failing test left) */
const scratch: string[] = [];
function scratchDir(files: Record<string, string> = {}): string {
  const dir = workdir(files);
  scratch.push(dir);
  return dir;
}
const ARGV_LOG = scratchDir();
const WRAPPERS = scratchDir();
const HOME = scratchDir();
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

/** The built CLI with the sentinels in its environment; its output is not scanned (only `status --show-api-key` runs so). */
function cliUnscanned(dir: string, args: string[], env: Record<string, string | undefined> = {}): CliResult {
  ownArgv.push(args);
  return runCli(args, { cwd: dir, env: { ...SECRET_ENV, HOME, PATH: `${WRAPPERS}:${ORIGINAL_PATH}`, ...env } });
}

/** The built CLI with the sentinels in its environment; stdout and stderr scanned. */
function cli(dir: string, args: string[], env: Record<string, string | undefined> = {}): CliResult {
  const r = cliUnscanned(dir, args, env);
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
  const real = ORIGINAL_PATH.split(":")
    .map((d) => path.join(d, name))
    .find((p) => existsSync(p) && statSync(p).isFile());
  assert.ok(real, `${name} is not on PATH`);
  const file = path.join(WRAPPERS, name);
  writeFileSync(
    file,
    `#!/bin/sh\nprintf '%s\\0' "$#" ${JSON.stringify(name)} "$@" >> ${JSON.stringify(ARGV_LOG)}/$$\nexec ${JSON.stringify(real)} "$@"\n`,
  );
  chmodSync(file, 0o755);
}

/** Every argv the wrappers recorded. */
function spawnedArgv(): string[][] {
  const out: string[][] = [];
  for (const f of readdirSync(ARGV_LOG)) {
    const parts = readFileSync(path.join(ARGV_LOG, f), "utf8").split("\0");
    for (let i = 0; i + 1 < parts.length;) {
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
  k8sDir = scratchDir({ "vllm-app.yaml": K8S_APPS() });
  dkDir = scratchDir({ "vllm-app.yaml": DK_APPS(await freePort(), await freePort()) });
  dead = `http://127.0.0.1:${await freePort()}`;
  // the binaries vllmapp starts: docker, and the first word of every one-off step it plans
  const plan = JSON.parse(runCli(["deploy", "--local", "--dry-run=client", "--json"], { cwd: dkDir }).stdout);
  const spawned = new Set([
    "docker",
    ...plan.apps.flatMap((a: any) => [a.docker.argv[0], ...a.docker.before.map((b: any) => b.argv[0])]),
  ]);
  for (const name of spawned) wrap(name);
});

after(async () => {
  await removeApps([DK_USER, DK_GEN]);
  const bench = (
    await docker(
      ["ps", "-aq", "--filter", `label=vllmapp.bench=${DK_USER}`, "--filter", `label=vllmapp.bench=${DK_GEN}`],
      { allowFail: true },
    )
  ).stdout
    .split("\n")
    .filter(Boolean);
  if (bench.length) await docker(["rm", "-f", ...bench], { allowFail: true });
  await kubectl(["delete", "clusterrolebinding", admin, "--ignore-not-found"], { allowFail: true });
  await cleanup();
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

// --- offline: init, render, check ----------------------------------------------------------------------

test("init, render (to files, --dry-run, -o json/yaml, --local) and check print and write no sentinel", () => {
  const init = scratchDir();
  const i = cli(init, [
    "init",
    "--yes",
    "--name",
    "sec17-init",
    "--model",
    tbEnv("VLLM_TINY_MODEL_HF"),
    "--gpu",
    "L4:1",
    "--json",
  ]);
  assert.equal(i.code, 0, i.stderr);
  assertClean("the vllm-app.yaml init wrote", readFileSync(path.join(init, "vllm-app.yaml"), "utf8"));

  const out = cli(k8sDir, ["render", "--out", "rendered", "--debug"]);
  assert.equal(out.code, 0, out.stderr);
  const files = readdirSync(path.join(k8sDir, "rendered"), { recursive: true, withFileTypes: true }).filter((f) =>
    f.isFile(),
  );
  assert.ok(files.length >= 10, "render wrote the apps' files");
  for (const f of files) assertClean(`rendered file ${f.name}`, readFileSync(path.join(f.parentPath, f.name), "utf8"));
  rmSync(path.join(k8sDir, "rendered"), { recursive: true, force: true });
  for (const args of [
    ["--dry-run"],
    ["--dry-run", "-o", "json"],
    ["--dry-run", "-o", "yaml", "--debug"],
    ["--dry-run", "--local", "-o", "json"],
    ["--dry-run", "--resolve", "--debug"],
  ]) {
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
  const gated = scratchDir({
    "vllm-app.yaml": `name: gated\nmodel_hf_path: meta-llama/Llama-3.1-8B-Instruct\nresources: {gpu: "L4:1"}\nsecrets: [HF_TOKEN]\n`,
  });
  const g = everyWay(gated, ["check"], 2);
  assert.match(g.stdout + g.stderr, /HF_TOKEN cannot read meta-llama\/Llama-3\.1-8B-Instruct/);
  const notHf = cli(gated, ["check", "--debug"], { HF_TOKEN: S.notHf });
  assert.equal(notHf.code, 2, notHf.stderr);
  assert.match(notHf.stdout + notHf.stderr, /HF_TOKEN is not a Hugging Face access token/);
  // a Hub mirror with a password in its URL: fetch cannot send it, and the error must not quote it
  const withPassword = everyWay(k8sDir, ["check", "--app", "hfapp"], 2, {
    HF_ENDPOINT: tbEnv("HF_ENDPOINT").replace("://", `://sec17:${S.hubUrlPassword}@`),
  });
  assert.match(
    withPassword.stdout + withPassword.stderr,
    /HF_ENDPOINT http:\/\/127\.0\.0\.1:\d+ has credentials in its URL/,
  );
  const unreachable = scratchDir({
    "vllm-app.yaml": `name: far\nruns: {backend: mlflow, tracking_uri: ${dead}}\nmodel_path:\n  run_output: {run_name: r1, output: model}\nresources: {gpu: "L4:1"}\nsecrets: [MLFLOW_TRACKING_TOKEN]\n---\nname: far-s3\nmodel_path: s3://sec17-nowhere/m/\nresources: {gpu: "L4:1"}\nsecrets: [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY]\n`,
  });
  const u = everyWay(unreachable, ["check"], 2, { AWS_ENDPOINT_URL: dead });
  assert.match(u.stdout + u.stderr, /cannot reach MLflow/);
});

// --- Kubernetes ----------------------------------------------------------------------------------------

/** A Secret made by the user (kubectl create from stdin: no value on an argv, no last-applied annotation). */
async function userSecret(name: string, data: Record<string, string>): Promise<void> {
  await kubectl(["-n", ns, "create", "-f", "-"], {
    input: JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name }, stringData: data }),
  });
}

const decoded = (secret: any, key: string) => Buffer.from(secret.data[key], "base64").toString();

test("kubernetes: deploy --create-secrets fails preflight naming the missing Secrets, then deploys with every secret form", async () => {
  // error path: the user's Secrets (long form, file mount) do not exist yet
  const missing = everyWay(k8sDir, ["deploy", "-n", ns, "--create-secrets"], 3);
  assert.match(missing.stderr, /Secret sec-s3 does not exist in namespace \S+ \(needs key secret-key\)/);
  assert.match(missing.stderr, /Secret corp-ca does not exist/);
  // error path: --create-secrets with a variable missing from the environment
  const unset = cli(k8sDir, ["deploy", "-n", ns, "--create-secrets", "--debug"], { WANDB_API_KEY: undefined });
  assert.equal(unset.code, 2, unset.stderr);
  assert.match(unset.stderr, /WANDB_API_KEY is not set in this environment/);
  await userSecret("sec-s3", { "secret-key": S.s3Long });
  await userSecret("corp-ca", { "ca.pem": S.caFile });

  for (const args of [
    ["--dry-run=client", "-o", "yaml"],
    ["--dry-run=client", "--json"],
    ["--dry-run=server", "--json", "--debug"],
  ]) {
    const r = cli(k8sDir, ["deploy", "-n", ns, "--create-secrets", ...args]);
    assert.equal(r.code, 0, r.stderr);
  }
  const d = cli(k8sDir, ["deploy", "-n", ns, "--create-secrets", "--debug"]);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout + d.stderr, /created Secret\/hfapp-secrets \(keys HF_TOKEN, WANDB_API_KEY\)/);
  // the sentinels reached the cluster, so the scans below look for values that exist
  const hf = await kubectlJson(["-n", ns, "get", "secret", "hfapp-secrets"]);
  assert.deepEqual([decoded(hf, "HF_TOKEN"), decoded(hf, "WANDB_API_KEY")], [S.hfToken, S.wandb]);
  const ml = await kubectlJson(["-n", ns, "get", "secret", "mlapp-secrets"]);
  assert.deepEqual(
    [decoded(ml, "MLFLOW_TRACKING_TOKEN"), decoded(ml, "AWS_ACCESS_KEY_ID"), decoded(ml, "AWS_SECRET_ACCESS_KEY")],
    [S.mlflow, S.s3Id, S.s3Key],
  );
  for (const app of ["hfapp", "s3app", "mlapp"]) {
    const key = decoded(await kubectlJson(["-n", ns, "get", "secret", `${app}-api-key`]), "VLLM_API_KEY");
    assert.match(key, /^[\w-]{32,}$/);
    learned.set(`generated API key of ${app}`, { value: key, head: true });
  }
  // the deploy's own output, scanned again now that the generated keys are known
  for (const r of [d]) assertClean("the deploy that generated the API keys", r.stdout + r.stderr);
  // unchanged re-deploys, every way
  everyWay(k8sDir, ["deploy", "-n", ns, "--create-secrets"], 0);
  // error path: an app that cannot be scheduled (exit 6), with its Secrets in place
  const big = scratchDir({
    "vllm-app.yaml": K8S_APPS()
      .split("---")[0]!
      .replace('gpu: "L4:1"', 'gpu: "L4:16"')
      .replace("name: hfapp", "name: bigapp"),
  });
  const unschedulable = cli(big, ["deploy", "-n", ns, "--create-secrets", "--debug", "--timeout", "60s"]);
  assert.equal(unschedulable.code, 6, unschedulable.stderr);
});

test("kubernetes: status, list, logs and bench every way, and their error paths; status --show-api-key does show the key", () => {
  const status = everyWay(k8sDir, ["status", "-n", ns], 0);
  assert.deepEqual(
    JSON.parse(status.stdout).apps.map((a: any) => [a.name, a.ready, a.apiKey]),
    [
      ["hfapp", true, null],
      ["s3app", true, null],
      ["mlapp", true, null],
    ],
  );
  everyWay(k8sDir, ["list", "-n", ns], 0);
  everyWay(k8sDir, ["logs", "hfapp", "-n", ns, "--tail", "20"], 0);
  // asked for, the key is shown (not scanned: the user asked); the scan would find it if it leaked elsewhere
  const shown = cliUnscanned(k8sDir, ["status", "hfapp", "-n", ns, "--show-api-key", "--json"]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.equal(JSON.parse(shown.stdout).apps[0].apiKey, learned.get("generated API key of hfapp")!.value);
  // and the scan finds it there: it can fail (the answer is then dropped from what the final rescan reads)
  assert.throws(
    () => assertClean("status --show-api-key (a self-check of the scan)", shown.stdout),
    /secret generated API key of hfapp leaked/,
  );
  seen.pop();

  // bench: kwok runs no container, so the Job never prints results: it times out, or ends with the server's stand-in log
  for (const [app, flag] of [
    ["hfapp", "--debug"],
    ["s3app", "--json"],
  ] as const) {
    const bench = cli(k8sDir, [
      "bench",
      app,
      "-n",
      ns,
      "--concurrency",
      "1",
      "--num-prompts",
      "8",
      "--timeout",
      "3s",
      flag,
    ]);
    assert.ok([5, 6].includes(bench.code), bench.stderr);
    assert.match(
      bench.stderr,
      new RegExp(`^error: the benchmark of ${app} (did not finish within 3s|failed \\(Job ${app}-bench-)`, "m"),
    );
  }
  // error paths: an app that is not there, a context that is not there
  for (const [cmd, code, said] of [
    [["status", "nope"], 0, /nope \(namespace \S+\): not deployed/],
    [["logs", "nope"], 0, /warning: nope has no replicas/],
    [["bench", "nope"], 2, /error: app nope is not deployed/],
  ] as const) {
    const r = cli(k8sDir, [...cmd, "-n", ns, "--debug"]);
    assert.equal(r.code, code, r.stderr);
    assert.match(r.stdout + r.stderr, said);
  }
  const noContext = everyWay(k8sDir, ["status", "-n", ns, "--context", "sec17-no-such-context"], 3);
  assert.match(noContext.stderr, /context "sec17-no-such-context" is not in the kubeconfig/);
});

/** A kubeconfig for the test bed's API server with a bearer token. */
function tokenKubeconfig(name: string, token: string, server?: string): string {
  const adminConfig = readFileSync(tbEnv("KUBECONFIG"), "utf8");
  const ca = /certificate-authority-data: (\S+)/.exec(adminConfig)![1]!;
  const file = path.join(k8sDir, `${name}.kubeconfig`);
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "tb",
        cluster: { server: server ?? /server: (\S+)/.exec(adminConfig)![1]!, "certificate-authority-data": ca },
      },
    ],
    users: [{ name: "u", user: { token } }],
    contexts: [{ name, context: { cluster: "tb", user: "u", namespace: ns } }],
    "current-context": name,
  };
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

test("kubernetes: a ServiceAccount token in the kubeconfig appears nowhere, nor a wrong one (401), nor one in a kubeconfig that does not parse", async () => {
  await kubectl(["-n", ns, "create", "serviceaccount", "sec17-deployer"]);
  await kubectl([
    "create",
    "clusterrolebinding",
    admin,
    "--clusterrole=cluster-admin",
    `--serviceaccount=${ns}:sec17-deployer`,
  ]);
  const token = (await kubectl(["-n", ns, "create", "token", "sec17-deployer", "--duration=15m"])).stdout.trim();
  assert.match(token, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
  // a JWT's header is the same for every token of the cluster: its payload and signature are what is secret
  learned.set("ServiceAccount token", { value: token, head: false });
  learned.set("ServiceAccount token payload", { value: token.split(".")[1]!, head: true });
  learned.set("ServiceAccount token signature", { value: token.split(".")[2]!, head: true });
  const sa = tokenKubeconfig("sa", token);
  everyWay(k8sDir, ["deploy", "-n", ns, "--kubeconfig", sa, "--create-secrets"], 0);
  everyWay(k8sDir, ["status", "--kubeconfig", sa], 0);
  everyWay(k8sDir, ["list", "--kubeconfig", sa], 0);
  const logs = cli(k8sDir, ["logs", "mlapp", "--kubeconfig", sa, "--tail", "5", "--debug"]);
  assert.equal(logs.code, 0, logs.stderr);
  const del = cli(k8sDir, ["delete", "mlapp", "--kubeconfig", sa, "--json", "--debug"]);
  assert.equal(del.code, 0, del.stderr);
  assert.deepEqual(
    JSON.parse(del.stdout).apps.map((a: any) => a.name),
    ["mlapp"],
  );

  const wrong = tokenKubeconfig("wrong", S.wrongKubeToken);
  for (const cmd of [["list"], ["status"], ["deploy", "--create-secrets"], ["delete", "hfapp"], ["logs", "hfapp"]]) {
    const r = everyWay(k8sDir, [...cmd, "--kubeconfig", wrong], 3);
    assert.match(r.stderr, /rejected the credentials of context "wrong" \(401 Unauthorized\)/);
  }
  const down = everyWay(
    k8sDir,
    ["status", "--kubeconfig", tokenKubeconfig("down", S.wrongKubeToken, "https://127.0.0.1:1")],
    3,
  );
  assert.match(down.stderr, /cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:1/);
  // a kubeconfig that does not parse, the token next to the mistake
  const broken = path.join(k8sDir, "broken.kubeconfig");
  writeFileSync(
    broken,
    `apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: ${S.wrongKubeToken}\n   oops: [\ncontexts: []\n`,
  );
  const b = everyWay(k8sDir, ["list", "--kubeconfig", broken], 3);
  // what is wrong and where, without the lines the parser would quote
  assert.match(
    b.stderr,
    /^error: cannot read kubeconfig \S+broken\.kubeconfig: bad indentation of a mapping entry \(7:4\)\n {2}hint: /,
  );
  const flow = path.join(k8sDir, "flow.kubeconfig");
  writeFileSync(
    flow,
    `apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user: {token: ${S.wrongKubeToken}\ncontexts: []\n`,
  );
  everyWay(k8sDir, ["status", "--kubeconfig", flow], 3);
});

test("kubernetes: every object in the namespace, and its Events, holds no secret outside a Secret's data; pods get secrets by reference only", async () => {
  const kinds = (await kubectl(["api-resources", "--namespaced=true", "--verbs=list", "-o", "name"])).stdout
    .split("\n")
    .filter(Boolean);
  const all = (await kubectlJson(["-n", ns, "get", kinds.join(","), "--show-managed-fields"])).items as any[];
  const count = (kind: string) => all.filter((o) => o.kind === kind).length;
  assert.ok(
    count("Deployment") >= 2 && count("Pod") >= 2 && count("Job") >= 2 && count("Event") > 0 && count("Secret") >= 6,
    JSON.stringify(all.map((o) => o.kind)),
  );
  for (const o of all) {
    const where = `${o.kind}/${o.metadata.name}`;
    const { data: _data, stringData: _stringData, ...rest } = o;
    assertClean(
      `${where} (the whole object, managedFields included${o.kind === "Secret" ? ", without .data" : ""})`,
      JSON.stringify(rest),
    );
    for (const [k, v] of Object.entries(o.metadata.annotations ?? {}))
      assertClean(`${where} annotation ${k}`, String(v));
    const pod = o.kind === "Pod" ? o.spec : o.spec?.template?.spec;
    for (const c of [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])]) {
      for (const e of c.env ?? []) {
        if (!SECRET_NAMES.has(e.name)) continue;
        assert.equal(e.value, undefined, `${where} container ${c.name} env ${e.name} has a value`);
        assert.ok(e.valueFrom?.secretKeyRef, `${where} container ${c.name} env ${e.name} is not a secretKeyRef`);
      }
    }
  }
  const hfPod = all.find((o) => o.kind === "Deployment" && o.metadata.name === "hfapp").spec.template.spec;
  assert.ok(
    hfPod.volumes.some((v: any) => v.secret?.secretName === "corp-ca"),
    "the file secret is a secret volume",
  );
});

test("kubernetes: delete every way, then status of the deleted apps", () => {
  const d = cli(k8sDir, ["delete", "s3app", "-n", ns, "--json", "--debug"]);
  assert.equal(d.code, 0, d.stderr);
  for (const app of ["hfapp", "bigapp"]) {
    const r = cli(k8sDir, ["delete", app, "-n", ns]);
    assert.equal(r.code, 0, r.stderr);
  }
  const again = everyWay(k8sDir, ["delete", "-n", ns], 0);
  assert.ok(JSON.parse(again.stdout).apps.length >= 1);
  everyWay(k8sDir, ["status", "-n", ns], 0);
  const bench = cli(k8sDir, ["bench", "hfapp", "-n", ns, "--json", "--debug"]);
  assert.equal(bench.code, 2, bench.stderr);
});

// --- Docker --------------------------------------------------------------------------------------------

/** `docker inspect` of every container vllmapp made for these apps (servers and bench runs): all but Config.Env is scanned. */
async function inspectAll(): Promise<any[]> {
  const ids = new Set<string>();
  for (const filter of [
    `label=vllmapp.app=${DK_USER}`,
    `label=vllmapp.app=${DK_GEN}`,
    `label=vllmapp.bench=${DK_USER}`,
    `label=vllmapp.bench=${DK_GEN}`,
  ]) {
    for (const id of (await docker(["ps", "-aq", "--filter", filter])).stdout.split("\n").filter(Boolean)) ids.add(id);
  }
  return ids.size ? JSON.parse((await docker(["inspect", ...ids])).stdout) : [];
}

test("docker: deploy --local with a user's VLLM_API_KEY and with a generated one; no sentinel outside the containers' environment", async () => {
  // error path: no Docker engine answers
  const noEngine = everyWay(dkDir, ["deploy", "--local"], 4, { DOCKER_HOST: "unix:///nonexistent/docker.sock" });
  assert.match(noEngine.stderr, /cannot reach a Docker engine/);
  everyWay(dkDir, ["deploy", "--local", "--dry-run=client"], 0);
  const d = cli(dkDir, ["deploy", "--local", "--debug"]);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stderr, /✔ copy s3:\/\/\S+ into /, "the rclone step ran with the S3 keys");
  assert.match(d.stderr, /on_startup: vllm --version/);
  everyWay(dkDir, ["deploy", "--local"], 0);

  const containers = await inspectAll();
  assert.deepEqual(containers.map((c) => c.Name).sort(), [`/vllmapp-${DK_GEN}`, `/vllmapp-${DK_USER}`]);
  const envOf = (name: string) => containers.find((c) => c.Name === `/vllmapp-${name}`).Config.Env as string[];
  // the values reached the containers, so the scans look for values that exist
  for (const e of [
    `HF_TOKEN=${S.hfToken}`,
    `WANDB_API_KEY=${S.wandb}`,
    `AWS_SECRET_ACCESS_KEY=${S.s3Key}`,
    `VLLM_API_KEY=${S.userApiKey}`,
  ])
    assert.ok(envOf(DK_USER).includes(e), e);
  for (const e of [
    `AWS_ACCESS_KEY_ID=${S.s3Id}`,
    `AWS_SECRET_ACCESS_KEY=${S.s3Key}`,
    `MLFLOW_TRACKING_TOKEN=${S.mlflow}`,
  ])
    assert.ok(envOf(DK_GEN).includes(e), e);
  const generated = envOf(DK_GEN)
    .find((e) => e.startsWith("VLLM_API_KEY="))!
    .slice("VLLM_API_KEY=".length);
  assert.ok(generated && generated !== S.userApiKey);
  learned.set("generated API key of the Docker app", { value: generated, head: true });
  assertClean("the deploy --local that generated the key", d.stdout + d.stderr);
  for (const c of containers) {
    const { Env: _env, ...config } = c.Config;
    assertClean(`docker inspect ${c.Name} (all but Config.Env)`, JSON.stringify({ ...c, Config: config }));
  }

  for (const [app, key] of [
    [DK_USER, S.userApiKey],
    [DK_GEN, generated],
  ] as const) {
    const shown = cliUnscanned(dkDir, ["status", "--local", app, "--show-api-key", "--json"]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(JSON.parse(shown.stdout).apps[0].apiKey, key, "asked for, the key is shown");
  }
});

test("docker: status, list, logs, bench and delete --local every way, and their error paths", async () => {
  const status = everyWay(dkDir, ["status", "--local"], 0);
  assert.deepEqual(
    JSON.parse(status.stdout).apps.map((a: any) => [a.name, a.ready, a.apiKey]),
    [
      [DK_USER, true, null],
      [DK_GEN, true, null],
    ],
  );
  everyWay(dkDir, ["list", "--local"], 0);
  for (const app of [DK_USER, DK_GEN]) everyWay(dkDir, ["logs", "--local", app, "--tail", "50"], 0);
  // the stand-in image has no python3 for `vllm bench serve`: the bench container fails to start (the S3 app's tokenizer copy runs first)
  for (const app of [DK_USER, DK_GEN]) {
    const b = everyWay(dkDir, ["bench", "--local", app, "--concurrency", "1", "--num-prompts", "8"], 6);
    assert.match(b.stderr, new RegExp(`^error: the benchmark of ${app} failed`, "m"));
  }
  for (const c of await inspectAll()) {
    const { Env: _env, ...config } = c.Config;
    assertClean(`docker inspect ${c.Name} (all but Config.Env)`, JSON.stringify({ ...c, Config: config }));
  }
  for (const [cmd, code, said] of [
    [["status"], 0, /: not deployed/],
    [["bench"], 2, /is not deployed: no container of it/],
    [["logs"], 2, /has no container on this Docker engine/],
  ] as const) {
    const r = cli(dkDir, [...cmd, "--local", `${DK}-nope`, "--debug"]);
    assert.equal(r.code, code, r.stderr);
    assert.match(r.stdout + r.stderr, said);
  }
  const del = cli(dkDir, ["delete", "--local", DK_USER, "--json", "--debug"]);
  assert.equal(del.code, 0, del.stderr);
  const delGen = cli(dkDir, ["delete", "--local", DK_GEN, "--purge-cache"]);
  assert.equal(delGen.code, 0, delGen.stderr);
  everyWay(dkDir, ["delete", "--local"], 0);
  everyWay(dkDir, ["status", "--local"], 0);
  assert.deepEqual(await inspectAll(), []);
});

// --- what every process was started with ---------------------------------------------------------------

test("no argv of any process vllmapp started, nor vllmapp's own, holds a secret; no output holds one learned later", () => {
  const argvs = spawnedArgv();
  // the wrappers really ran: the server containers, the one-off steps, docker exec of on_shutdown
  const runs = argvs.filter((a) => a[0] === "docker" && a[1] === "run");
  assert.ok(
    runs.some((a) => a.includes("-d") && a.includes(`vllmapp-${DK_USER}`) && a[a.indexOf("HF_TOKEN") - 1] === "-e"),
    "docker run of the server, HF_TOKEN by name",
  );
  assert.ok(
    runs.some(
      (a) =>
        a.includes("--rm") && a.includes("rclone/rclone:1.71.1") && a[a.indexOf("AWS_SECRET_ACCESS_KEY") - 1] === "-e",
    ),
    "the rclone copy, the S3 key by name",
  );
  assert.ok(
    runs.some((a) => a.includes("--entrypoint") && a.includes("python3") && a.includes("OPENAI_API_KEY")),
    "the bench container, the API key by name",
  );
  assert.ok(
    argvs.some((a) => a[1] === "exec" && a.includes("--version")),
    "docker exec of on_shutdown",
  );
  for (const a of argvs)
    assertClean(`the argv of a process vllmapp started: ${JSON.stringify(a).slice(0, 200)}`, JSON.stringify(a));
  assert.ok(ownArgv.length > 100);
  for (const a of ownArgv) assertClean(`vllmapp's own argv (this file's): ${a.join(" ")}`, JSON.stringify(a));
  // every output again, now that every generated key and the token are known
  const all = seen.splice(0);
  for (const { where, text } of all) assertClean(`${where} (rescanned)`, text);
});
