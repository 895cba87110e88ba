/**
 * Run outputs on the kubernetes backend: batch/v1 Jobs in the test bed's cluster (kwok completes or
 * fails their pods, the real job controller sets their conditions).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { runCli, workdir } from "../support/cli.ts";
import { kubectl, tbEnv, uniqueName } from "../support/testbed.ts";

const NS = uniqueName("runs");

function job(
  name: string,
  task: string,
  outputs: Record<string, string>,
  annotations: Record<string, string> = {},
): string {
  return JSON.stringify({
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name,
      namespace: NS,
      labels: { "vllmapp.dev/task": task },
      annotations: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [`vllmapp.dev/output.${k}`, v])),
    },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { annotations },
        spec: { restartPolicy: "Never", containers: [{ name: "train", image: "trainer:v1" }] },
      },
    },
  });
}

before(async () => {
  tbEnv("KUBECONFIG");
  await kubectl(["create", "namespace", NS]);
  await kubectl(["apply", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "ckpt", namespace: NS },
      spec: { accessModes: ["ReadOnlyMany"], resources: { requests: { storage: "1Gi" } } },
    }),
  });
  await kubectl(["apply", "-f", "-"], { input: job("train-1", "finetune", { model: "pvc://ckpt/run-1/model" }) });
  await kubectl(["wait", "-n", NS, "--for=condition=complete", "job/train-1", "--timeout=90s"]);
  await kubectl(["apply", "-f", "-"], {
    input: job("train-2", "finetune", { model: "pvc://ckpt/run-2/model", tokenizer: "pvc://ckpt/run-2/tok" }),
  });
  await kubectl(["apply", "-f", "-"], {
    input: job("train-failed", "finetune", { model: "pvc://ckpt/x" }, { "vllmapp-testbed/simulate": "fail" }),
  });
  await kubectl(["apply", "-f", "-"], {
    input: job("train-running", "finetune", { model: "pvc://ckpt/y" }, { "vllmapp-testbed/run-duration": "1h" }),
  });
  await kubectl(["apply", "-f", "-"], {
    input: job("eval-failed", "eval", { model: "pvc://ckpt/z" }, { "vllmapp-testbed/simulate": "fail" }),
  });
  await kubectl(["wait", "-n", NS, "--for=condition=complete", "job/train-2", "--timeout=90s"]);
  await kubectl(["wait", "-n", NS, "--for=condition=failed", "job/train-failed", "job/eval-failed", "--timeout=90s"]);
});

after(async () => {
  await kubectl(["delete", "namespace", NS, "--wait=false"], { allowFail: true });
});

const app = (ref: string, runs = `runs:\n  backend: kubernetes\n  namespace: ${NS}\n`) =>
  `name: ft\nmodel_path:\n  run_output:\n${ref}\n${runs}resources:\n  gpu: L4:1\n`;
const cli = (args: string[], yaml: string, env: Record<string, string> = {}) =>
  runCli(args, { cwd: workdir({ "vllm-app.yaml": yaml }), env });

test("task_name: the newest succeeded Job's output, recorded in the annotations", () => {
  const r = cli(["render", "--dry-run", "--resolve", "-o", "json"], app("    task_name: finetune\n    output: model"));
  assert.equal(r.code, 0, r.stderr);
  const a = JSON.parse(r.stdout).apps[0];
  assert.deepEqual(a.model, {
    kind: "pvc",
    uri: "pvc://ckpt/run-2/model",
    servedAs: "ft",
    resolvedFrom: "run_output:task=finetune/model (job train-2)",
  });
  const dep = a.objects.find((o: any) => o.kind === "Deployment");
  assert.equal(dep.metadata.annotations["vllmapp.dev/model-uri"], "pvc://ckpt/run-2/model");
  assert.equal(dep.metadata.annotations["vllmapp.dev/model-source"], "run_output:task=finetune/model (job train-2)");
  assert.equal(
    dep.spec.template.spec.volumes.find((v: any) => v.name === "model").persistentVolumeClaim.claimName,
    "ckpt",
  );
});

test("run_name with --namespace; deploy --dry-run=client shows the resolved source", () => {
  const yaml = app("    run_name: train-1\n    output: model", "");
  const check = cli(["check", "--json", "--namespace", NS], yaml);
  assert.equal(check.code, 0, check.stderr);
  assert.deepEqual(JSON.parse(check.stdout).apps[0].model, {
    kind: "pvc",
    uri: "pvc://ckpt/run-1/model",
    resolvedFrom: "run_output:train-1/model (job train-1)",
  });
  const deploy = cli(["deploy", "--dry-run=client", "-o", "json", "--namespace", NS], yaml);
  assert.equal(deploy.code, 0, deploy.stderr);
  assert.ok(deploy.stdout.includes('"vllmapp.dev/model-uri": "pvc://ckpt/run-1/model"'), deploy.stdout);
  assert.deepEqual(JSON.parse(deploy.stdout).apps[0].model, {
    kind: "pvc",
    uri: "pvc://ckpt/run-1/model",
    servedAs: "ft",
    resolvedFrom: "run_output:train-1/model (job train-1)",
  });
});

test("run not found, not succeeded, output missing, no succeeded run of a task: exit 2 naming what exists", () => {
  const cases: [string, RegExp][] = [
    [
      "    run_name: train-9",
      new RegExp(
        `model_path: no Job "train-9" in namespace ${NS}\n  hint: Jobs there: eval-failed, train-1, train-2, train-failed, train-running\n`,
      ),
    ],
    [
      "    run_name: train-failed",
      /model_path: Job train-failed has not succeeded: it is Failed \(BackoffLimitExceeded: Job has reached the specified backoff limit\)\n/,
    ],
    ["    run_name: train-running", /model_path: Job train-running has not succeeded: it is Running\n/],
    [
      "    run_name: train-2\n    output: adapter",
      /model_path: Job train-2 has no output "adapter"\n  hint: its outputs: model, tokenizer\n/,
    ],
    [
      "    task_name: eval",
      new RegExp(
        `model_path: no succeeded Job for task eval in namespace ${NS}\n  hint: its Jobs: eval-failed \\(Failed \\(BackoffLimitExceeded`,
      ),
    ],
    [
      "    task_name: pretrain",
      new RegExp(`model_path: no Job labelled vllmapp.dev/task=pretrain in namespace ${NS}\n`),
    ],
  ];
  for (const [ref, want] of cases) {
    const r = cli(["check"], app(ref));
    assert.equal(r.code, 2, `${ref}: ${r.stderr}`);
    assert.match(r.stderr, want);
  }
});

test("an unreachable API server: check refuses, render warns and leaves the run output unresolved", async () => {
  const srv = net.createServer().listen(0, "127.0.0.1");
  await new Promise((r) => srv.once("listening", r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  const kubeconfig = workdir({
    config: `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: secret-token-xyz}}]\ncontexts: [{name: x, context: {cluster: c, user: u, namespace: default}}]\ncurrent-context: x\n`,
  });
  const env = { KUBECONFIG: `${kubeconfig}/config` };
  const check = cli(["check"], app("    run_name: train-1"), env);
  assert.equal(check.code, 2);
  assert.match(
    check.stderr,
    new RegExp(
      `^vllm-app.yaml:3:3 model_path: cannot reach the Kubernetes API server to read Job train-1 in namespace ${NS} \\(ECONNREFUSED\\)\n`,
    ),
  );
  const render = cli(["render", "--dry-run", "--resolve"], app("    run_name: train-1"), env);
  assert.equal(render.code, 0, render.stderr);
  assert.match(
    render.stderr,
    /^warning: vllm-app.yaml:3:3 model_path: cannot reach the Kubernetes API server .*; run_output:train-1\/model is left unresolved\n/,
  );
  for (const r of [check, render]) assert.ok(!(r.stdout + r.stderr).includes("secret-token-xyz"));
});
