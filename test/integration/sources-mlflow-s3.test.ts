/**
 * Object-store sources and MLflow run outputs, against a real S3-compatible server (moto) and a real
 * MLflow tracking server whose run artifacts live in that S3. The test bed's AWS_ENDPOINT_URL and
 * MLFLOW_TRACKING_URI are used when set; else both servers are started here.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import net from "node:net";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { ROOT, runCli, workdir } from "../support/cli.ts";
import * as s3Server from "../testbed/servers/s3.mjs";
import * as mlflowServer from "../testbed/servers/mlflow.mjs";

const stops: (() => Promise<void>)[] = [];
let s3url = process.env.AWS_ENDPOINT_URL ?? "";
let mlflow = process.env.MLFLOW_TRACKING_URI ?? "";
let dead = "";
const uniq = `${process.pid}-${Date.now().toString(36)}`;
const BUCKET = `models-${uniq}`;
const EXPERIMENT = `finetune-${uniq}`;
const MODEL = `qwen-ft-${uniq}`;
const runs: Record<string, string> = {};
let artifacts = "";

const AWS = {
  AWS_ACCESS_KEY_ID: "testing",
  AWS_SECRET_ACCESS_KEY: "testing-secret-key",
  AWS_REGION: "us-east-1",
  AWS_EC2_METADATA_DISABLED: "true",
};
const CONFIG = readFileSync(`${ROOT}/test/fixtures/hf/Qwen/Qwen3-0.6B/config.json`, "utf8");

async function api(path: string, body: unknown) {
  const r = await fetch(`${mlflow}/api/2.0/mlflow/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.equal(r.status, 200, `${path}: ${await r.clone().text()}`);
  return r.json() as Promise<any>;
}

before(async () => {
  const started = await Promise.all([
    s3url ? undefined : s3Server.start({ workDir: workdir() }),
    mlflow ? undefined : mlflowServer.start({ workDir: workdir() }),
  ]);
  for (const s of started) if (s) stops.push(s.stop);
  s3url ||= started[0]!.env.AWS_ENDPOINT_URL;
  mlflow ||= started[1]!.env.MLFLOW_TRACKING_URI;
  const srv = net.createServer().listen(0, "127.0.0.1");
  await new Promise((r) => srv.once("listening", r));
  dead = `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`;
  await new Promise((r) => srv.close(r));

  const s3 = new S3Client({
    endpoint: s3url,
    forcePathStyle: true,
    region: "us-east-1",
    credentials: { accessKeyId: AWS.AWS_ACCESS_KEY_ID, secretAccessKey: AWS.AWS_SECRET_ACCESS_KEY },
  });
  const put = (bucket: string, key: string, body: string) =>
    s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3
    .send(new CreateBucketCommand({ Bucket: "vllmapp-mlflow" }))
    .catch((e) => assert.equal(e.name, "BucketAlreadyOwnedByYou"));
  await Promise.all([
    put(BUCKET, "qwen3/config.json", CONFIG),
    put(BUCKET, "qwen3/model.safetensors", "x".repeat(4096)),
    put(BUCKET, "qwen3/tokenizer.json", "{}"),
    put(BUCKET, "broken/README.md", "# no config"),
    put(BUCKET, "broken/model.safetensors", "x"),
    put(BUCKET, "bins/config.json", CONFIG),
    put(BUCKET, "bins/pytorch_model.bin", "x"),
  ]);

  // an experiment with runs of every state; each FINISHED run has a model/ output in S3
  const exp = (await api("experiments/create", { name: EXPERIMENT })).experiment_id;
  const t = Date.now() - 3_600_000;
  const states: [string, string][] = [
    ["ft-old", "FINISHED"],
    ["ft-new", "FINISHED"],
    ["ft-failed", "FAILED"],
    ["ft-running", "RUNNING"],
  ];
  for (const [i, [name, status]] of states.entries()) {
    const run = (await api("runs/create", { experiment_id: exp, run_name: name, start_time: t + i * 60_000 })).run.info;
    runs[name] = run.run_id;
    if (status !== "RUNNING")
      await api("runs/update", { run_id: run.run_id, status, end_time: t + i * 60_000 + 30_000 });
    if (status === "FINISHED") {
      const prefix = run.artifact_uri.replace("s3://vllmapp-mlflow/", "");
      await Promise.all([
        put("vllmapp-mlflow", `${prefix}/model/config.json`, CONFIG),
        put("vllmapp-mlflow", `${prefix}/model/model.safetensors`, "x".repeat(4096)),
        put("vllmapp-mlflow", `${prefix}/metrics.json`, "{}"),
      ]);
      if (name === "ft-new") artifacts = run.artifact_uri;
    }
  }
  await api("registered-models/create", { name: MODEL });
  await api("model-versions/create", { name: MODEL, source: `runs:/${runs["ft-new"]}/model`, run_id: runs["ft-new"] });
  await api("registered-models/alias", { name: MODEL, alias: "champion", version: "1" });
});

after(async () => {
  await Promise.all(stops.map((s) => s()));
});

function cli(args: string[], yaml: string, env: Record<string, string | undefined> = {}) {
  return runCli(args, {
    cwd: workdir({ "vllm-app.yaml": yaml }),
    env: { ...AWS, AWS_ENDPOINT_URL: s3url, HOME: workdir(), ...env },
  });
}

const s3App = (uri: string, extra = "") => `name: m\nmodel_path: ${uri}\nresources:\n  gpu: L4:1\n${extra}`;
const runApp = (ref: string, uri = mlflow) =>
  `name: ft\nmodel_path:\n  run_output:\n${ref}\nruns:\n  backend: mlflow\n  tracking_uri: ${uri}\nresources:\n  gpu: L4:1\n`;

test("s3: a prefix with config.json and safetensors is checked, sized and fitted", () => {
  const r = cli(["check"], s3App(`s3://${BUCKET}/qwen3`));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  assert.match(
    r.stdout,
    new RegExp(
      `^m: ok\n  model:  s3://${BUCKET}/qwen3\n  source: s3://${BUCKET}/qwen3: config.json, 1 weight file, 0.0 GB\n  fit:    L4:1: fits;`,
    ),
  );
});

test("s3: a missing prefix, a missing config.json, a missing bucket, .bin weights with streaming, no credentials", () => {
  const missing = cli(["check"], s3App(`s3://${BUCKET}/qwen3-typo`));
  assert.equal(missing.code, 2);
  assert.equal(
    missing.stderr,
    `vllm-app.yaml:2:13 model_path: nothing at s3://${BUCKET}/qwen3-typo\n  hint: s3://${BUCKET}/ has: bins/, broken/, qwen3/\n1 error in vllm-app.yaml\n`,
  );
  const broken = cli(["check"], s3App(`s3://${BUCKET}/broken`));
  assert.equal(broken.code, 2);
  assert.match(
    broken.stderr,
    new RegExp(
      `model_path: s3://${BUCKET}/broken has no config.json, so vLLM cannot load it\n  hint: it has: README.md, model.safetensors\n`,
    ),
  );
  const bucket = cli(["check"], s3App("s3://no-such-bucket-vllmapp/m"));
  assert.equal(bucket.code, 2);
  assert.ok(
    bucket.stderr.startsWith(
      `vllm-app.yaml:2:13 model_path: bucket no-such-bucket-vllmapp does not exist at ${s3url}\n`,
    ),
    bucket.stderr,
  );
  const bins = cli(["check"], s3App(`s3://${BUCKET}/bins`));
  assert.equal(bins.code, 2);
  assert.match(
    bins.stderr,
    /has only PyTorch weights \(\*\.bin\); stream_model \(Run:ai streamer\) loads \*\.safetensors only\n  hint: set stream_model: false/,
  );
  assert.equal(cli(["check"], s3App(`s3://${BUCKET}/bins`, "stream_model: false\n")).code, 0);
  const nocreds = cli(["check"], s3App(`s3://${BUCKET}/qwen3`), {
    AWS_ACCESS_KEY_ID: undefined,
    AWS_SECRET_ACCESS_KEY: undefined,
  });
  assert.equal(nocreds.code, 2);
  assert.match(
    nocreds.stderr,
    new RegExp(
      `model_path: no AWS credentials found to read s3://${BUCKET}/qwen3\n  hint: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
    ),
  );
  for (const r of [missing, broken, bucket, bins, nocreds])
    assert.ok(!(r.stdout + r.stderr).includes(AWS.AWS_SECRET_ACCESS_KEY));
});

test("s3: an unreachable endpoint is a warning for render, an error for check", () => {
  const render = cli(["render", "--dry-run", "--resolve"], s3App(`s3://${BUCKET}/qwen3`, "requires_auth: false\n"), {
    AWS_ENDPOINT_URL: dead,
  });
  assert.equal(render.code, 0, render.stderr);
  assert.equal(
    render.stderr,
    `warning: vllm-app.yaml:2:13 model_path: cannot reach S3 at ${dead} (ECONNREFUSED); not checked\n  hint: check the network, or AWS_ENDPOINT_URL for an S3-compatible store\n`,
  );
  const check = cli(["check"], s3App(`s3://${BUCKET}/qwen3`), { AWS_ENDPOINT_URL: dead });
  assert.equal(check.code, 2);
  assert.ok(
    check.stderr.startsWith(`vllm-app.yaml:2:13 model_path: cannot reach S3 at ${dead} (ECONNREFUSED)\n`),
    check.stderr,
  );
});

test("mlflow: task_name resolves to the newest FINISHED run's artifact, recorded in the annotations", () => {
  const r = cli(
    ["render", "--dry-run", "--resolve", "-o", "json"],
    runApp(`    task_name: ${EXPERIMENT}\n    output: model`),
  );
  assert.equal(r.code, 0, r.stderr);
  const app = JSON.parse(r.stdout).apps[0];
  const uri = `${artifacts}/model`;
  assert.ok(artifacts.includes(runs["ft-new"]!));
  assert.deepEqual(app.model, {
    kind: "s3",
    uri,
    servedAs: "ft",
    resolvedFrom: `run_output:task=${EXPERIMENT}/model (mlflow run ${runs["ft-new"]})`,
  });
  assert.deepEqual(app.serve.args.slice(0, 1), [uri]);
  const dep = app.objects.find((o: any) => o.kind === "Deployment");
  assert.equal(dep.metadata.annotations["vllmapp.dev/model-uri"], uri);
  assert.equal(
    dep.metadata.annotations["vllmapp.dev/model-source"],
    `run_output:task=${EXPERIMENT}/model (mlflow run ${runs["ft-new"]})`,
  );
});

test("mlflow: run_name by name and by id; deploy --dry-run=client shows the resolved source", () => {
  const byName = cli(["check", "--json"], runApp("    run_name: ft-old\n    output: model"));
  assert.equal(byName.code, 0, byName.stderr);
  assert.match(JSON.parse(byName.stdout).apps[0].model.uri, new RegExp(`/${runs["ft-old"]}/artifacts/model$`));
  const byId = cli(
    ["deploy", "--local", "--dry-run=client", "-o", "json"],
    runApp(`    run_name: ${runs["ft-new"]}\n    output: model`),
  );
  assert.equal(byId.code, 0, byId.stderr);
  assert.equal(JSON.parse(byId.stdout).apps[0].model.uri, `${artifacts}/model`);
});

test("mlflow: run not found, not succeeded, output missing, experiment missing: exit 2 with what exists", () => {
  const cases: [string, RegExp][] = [
    [
      "    run_name: ft-nope",
      new RegExp(
        `model_path: no MLflow run with id or name "ft-nope" at ${mlflow}\n  hint: recent runs: .*ft-running \\(RUNNING\\)`,
      ),
    ],
    [
      "    run_name: ft-failed",
      new RegExp(`model_path: MLflow run ft-failed \\(${runs["ft-failed"]}\\) has not succeeded: it is FAILED\n`),
    ],
    ["    run_name: ft-running", /model_path: MLflow run ft-running \(\w+\) has not succeeded: it is RUNNING\n/],
    [
      "    run_name: ft-new\n    output: adapter",
      new RegExp(
        `model_path: MLflow run ft-new \\(${runs["ft-new"]}\\) has no output "adapter"\n  hint: its outputs: metrics.json, model\n`,
      ),
    ],
    [
      "    task_name: no-such-experiment",
      /model_path: no MLflow experiment named "no-such-experiment" at http:\/\/127\.0\.0\.1:\d+\n  hint: experiments: /,
    ],
  ];
  for (const [ref, want] of cases) {
    const r = cli(["check"], runApp(ref));
    assert.equal(r.code, 2, `${ref}: ${r.stderr}`);
    assert.match(r.stderr, want);
  }
});

test("mlflow registry: models:/NAME/VERSION and @alias resolve through the run; a missing version lists the versions", () => {
  const reg = (uri: string) =>
    `name: reg\nmodel_path: ${uri}\nruns:\n  backend: mlflow\n  tracking_uri: ${mlflow}\nresources:\n  gpu: L4:1\n`;
  for (const uri of [`models:/${MODEL}/1`, `models:/${MODEL}@champion`]) {
    const r = cli(["check", "--json"], reg(uri));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).apps[0].model, {
      kind: "s3",
      uri: `${artifacts}/model`,
      resolvedFrom: `${uri} (mlflow run ${runs["ft-new"]})`,
    });
  }
  const v = cli(["check"], reg(`models:/${MODEL}/7`));
  assert.equal(v.code, 2);
  assert.match(
    v.stderr,
    new RegExp(
      `model_path: registered model "${MODEL}" has no version 7\n  hint: versions: 1; aliases: @champion → 1\n`,
    ),
  );
  const none = cli(["check"], reg("models:/no-such-model/1"));
  assert.equal(none.code, 2);
  assert.match(
    none.stderr,
    /model_path: no registered model "no-such-model" in MLflow at .*\n  hint: registered models: .*qwen-ft-/,
  );
});

test("mlflow unreachable: check refuses, render keeps the run output unresolved with a warning; credentials in the URI never show", () => {
  const withCreds = dead.replace("http://", "http://alice:s3cr3t-pw@");
  const check = cli(["check"], runApp(`    task_name: ${EXPERIMENT}`, withCreds));
  assert.equal(check.code, 2);
  assert.ok(
    check.stderr.startsWith(`vllm-app.yaml:3:3 model_path: cannot reach MLflow at ${dead} (ECONNREFUSED)\n`),
    check.stderr,
  );
  const render = cli(
    ["render", "--dry-run", "--resolve", "-o", "json"],
    runApp(`    task_name: ${EXPERIMENT}`, withCreds),
  );
  assert.equal(render.code, 0, render.stderr);
  assert.match(
    render.stderr,
    new RegExp(
      `^warning: vllm-app.yaml:3:3 model_path: cannot reach MLflow at ${dead} \\(ECONNREFUSED\\); run_output:task=${EXPERIMENT}/model is left unresolved\n`,
    ),
  );
  assert.equal(JSON.parse(render.stdout).apps[0].model.kind, "run_output");
  for (const r of [check, render]) assert.ok(!(r.stdout + r.stderr).includes("s3cr3t-pw"));
  // with credentials that the (auth-less) server ignores, resolution works and they stay hidden
  const ok = cli(
    ["check", "--json"],
    runApp(`    task_name: ${EXPERIMENT}`, mlflow.replace("http://", "http://alice:s3cr3t-pw@")),
  );
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(!ok.stdout.includes("s3cr3t-pw"));
});
