/** Rows of the third newcomer review (shared research, newcomer-3 §2) that this round fixed, each through the built CLI: what a mistake prints reads once in the CLI's words, and what render writes fits the cluster it goes to. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runCli, workdir } from "../support/cli.ts";

const BASE = "name: q\nmodel_hf_path: Qwen/Qwen3-0.6B\nrequires_auth: false\n";

function render(yaml: string, args: string[] = []) {
  return runCli(["render", "--dry-run", "-f", "-", ...args], { cwd: workdir(), input: yaml });
}

test("--host in extra_args names no field to use instead (there is none): it says to remove it", () => {
  const r = render(`${BASE}extra_args: [--host, 0.0.0.0]\n`);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /^<stdin>:4:14 extra_args\[0\]: --host is set by vllmapp\n {2}hint: vllmapp makes the server listen on all interfaces of the container \(port: sets the port\); remove --host\n/,
  );
});

test("an unterminated quote in an extra_args string names the field once", () => {
  const r = render(`${BASE}extra_args: "--x 'a"\n`);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^<stdin>:4:13 extra_args: unterminated single quote in the extra_args string\n/);
});

test("the service_account note of the local target names the field once", () => {
  const r = render(`${BASE}service_account: vllm-s3-reader\n`, ["--local"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /service_account: vllm-s3-reader is a Kubernetes identity: the local container/);
  assert.doesNotMatch(r.stderr, /service_account: service_account/);
});

test("an unknown GPU type in the {type, count} form lists the known ones as the string form does", () => {
  const r = render(`${BASE}resources: {gpu: {type: H10, count: 1}}\n`);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /resources\.gpu\.type: unknown GPU type "H10"; did you mean "H100"\? \(known: T4, A2, /);
});

test("a flag removed before the oldest catalogued release says so and names its replacement (newcomer-3 §2 row 22)", () => {
  const r = render(`${BASE}extra_args: [--enable-reasoning, --reasoning-parser, qwen3]\n`);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /^<stdin>:4:14 extra_args\[0\]: --enable-reasoning was removed before vLLM 0\.11 \(the oldest release vllmapp has a flag catalog for\)\n {2}hint: remove it: --reasoning-parser NAME alone turns reasoning on\n/,
  );
  const typo = render(`${BASE}extra_args: [--enable-reasoningg]\n`);
  assert.match(typo.stderr, /unknown vllm serve flag --enable-reasoningg/);
});

test("render names each Secret the pods read that the output does not contain, with a way to create it that puts no value in argv (newcomer-3 §2 row 45)", () => {
  const r = render(
    `name: q\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources: {gpu: "L4:1", disk: 3Gi}\nsecrets: [HF_TOKEN, {env_var: WANDB_KEY, secret: wandb, key: api}]\n`,
    ["-n", "inference"],
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /^warning: q: the pods read Secret q-secrets \(key HF_TOKEN\), which the output does not contain: applied as it is, they stay in CreateContainerConfigError until it exists\. Create it once \(`vllmapp deploy --create-secrets` copies it from your environment, or from a file of HF_TOKEN=… lines\):\n {2}kubectl create secret generic q-secrets -n inference --from-env-file=FILE$/m,
  );
  assert.match(
    r.stderr,
    /^warning: q: the pods read Secret wandb \(key api\), which the output does not contain[^\n]*Create it once \(from a file of api=… lines\):\n {2}kubectl create secret generic wandb -n inference --from-env-file=FILE$/m,
  );
  // the API key's Secret is in the output (without data): its own warning, not this one
  assert.doesNotMatch(r.stderr, /Secret q-api-key[^\n]*which the output does not contain/);
  assert.match(r.stderr, /Secret q-api-key is rendered without data/);
  const none = render(
    `name: q\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources: {gpu: "L4:1", disk: 3Gi}\nrequires_auth: false\n`,
  );
  assert.equal(none.stderr, "");
});

test("a bare A100 is noted as the 40 GB card, with the 80 GB spelling; written out, no note (newcomer-3 §2 row 47)", () => {
  const app = (gpu: string) =>
    `name: q\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources: {gpu: ${gpu}, disk: 3Gi}\nrequires_auth: false\n`;
  const bare = render(app('"A100:8"'));
  assert.equal(bare.code, 0, bare.stderr);
  assert.equal(
    bare.stderr,
    'note: <stdin>:3:18 resources.gpu: A100 is the 40 GB card (nodes labelled NVIDIA-A100-SXM4-40GB or NVIDIA-A100-PCIE-40GB)\n  hint: for the 80 GB one write A100_80G (or "A100 80G"); write "A100 40G" to say 40 GB without this note\n',
  );
  assert.match(
    render(app("{type: a100, count: 2}")).stderr,
    /^note: <stdin>:3:18 resources\.gpu: A100 is the 40 GB card/,
  );
  for (const gpu of ['"A100 40G:1"', '"A100_80G:1"', '"A100-80GB:1"']) assert.equal(render(app(gpu)).stderr, "", gpu);
});

test("the cache PVC is kept by Argo CD as by helm: Delete=false beside helm.sh/resource-policy (newcomer-3 §2 row 42)", () => {
  const r = runCli(["render", "--dry-run", "-o", "json", "-f", "-"], {
    cwd: workdir(),
    input: `${BASE}resources: {gpu: "L4:1"}\ncache: {size: 20Gi}\n`,
  });
  assert.equal(r.code, 0, r.stderr);
  const pvc = JSON.parse(r.stdout).apps[0].objects.find((o: { kind: string }) => o.kind === "PersistentVolumeClaim");
  assert.deepEqual(pvc.metadata.annotations, {
    "argocd.argoproj.io/sync-options": "Delete=false",
    "helm.sh/resource-policy": "keep",
  });
});

test("an Ingress of another class gets no ingress-nginx annotations, with a note on timeouts; without tls_secret a key-guarded app is noted as cleartext (newcomer-3 §2 row 41)", () => {
  const app = (domain: string) =>
    `name: q\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources: {gpu: "L4:1", disk: 3Gi}\ndomain: ${domain}\n`;
  const ingressOf = (stdout: string) =>
    JSON.parse(stdout).apps[0].objects.find((o: { kind: string }) => o.kind === "Ingress");
  const traefik = render(app("{subdomain: q, base_domain: example.com, ingress_class: traefik}"), ["-o", "json"]);
  assert.equal(traefik.code, 0, traefik.stderr);
  assert.equal(ingressOf(traefik.stdout).metadata.annotations, undefined);
  assert.match(
    traefik.stderr,
    /^note: <stdin>:4:65 domain\.ingress_class: traefik is not ingress-nginx, so its streaming timeouts \(3600 s\) are not written\n {2}hint: responses stream for minutes: raise your controller's read timeout/m,
  );
  assert.match(
    traefik.stderr,
    /^note: <stdin>:4:9 domain: the Ingress serves http:\/\/q\.example\.com: the API key crosses the network in cleartext unless TLS ends in front of the controller\n {2}hint: set domain\.tls_secret/m,
  );
  const nginx = render(app("{subdomain: q, base_domain: example.com, ingress_class: nginx, tls_secret: q-tls}"), [
    "-o",
    "json",
  ]);
  assert.equal(nginx.code, 0, nginx.stderr);
  assert.equal(ingressOf(nginx.stdout).metadata.annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"], "3600");
  assert.doesNotMatch(nginx.stderr, /ingress-nginx|cleartext/);
});

test("an rclone copy step gets only what rclone reads of the environment: object-store credentials, not HF_TOKEN (newcomer-3 §2 row 44)", () => {
  const yaml = `name: q\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources: {gpu: "L4:1", disk: 3Gi}\nrequires_auth: false\nsecrets: [HF_TOKEN, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY]\nenv_vars: {AWS_REGION: us-east-1, LOG_LEVEL: debug}\nlora: {max_rank: 16, adapters: [{name: a, source: "s3://bucket/adapters/a"}]}\n`;
  const r = render(yaml, ["-o", "json"]);
  assert.equal(r.code, 0, r.stderr);
  const deployment = JSON.parse(r.stdout).apps[0].objects.find((o: { kind: string }) => o.kind === "Deployment");
  const copy = deployment.spec.template.spec.initContainers.find((c: { name: string }) => c.name === "adapter-a");
  const names = copy.env.map((e: { name: string }) => e.name);
  assert.deepEqual(names.filter((n: string) => !["HOME", "USER", "VLLM_CACHE_ROOT"].includes(n)).sort(), [
    "AWS_ACCESS_KEY_ID",
    "AWS_REGION",
    "AWS_SECRET_ACCESS_KEY",
  ]);
  // the server still gets all of it
  const server = deployment.spec.template.spec.containers[0].env.map((e: { name: string }) => e.name);
  for (const n of ["HF_TOKEN", "LOG_LEVEL", "AWS_REGION"]) assert.ok(server.includes(n), n);
});
