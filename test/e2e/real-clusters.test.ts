/** What renders must run, through the built CLI: the GitOps API key, credentials where they live, check's summary. */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { loadConfig } from "../../src/config/graph.ts";
import { fsLoadDeps } from "../../src/app/node-io.ts";
import { checkSource } from "../../src/models/resolve.ts";
import { parseModelSource } from "../../src/models/source.ts";
import { runCli, workdir } from "../support/cli.ts";

const QWEN = 'name: qwen\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources: {gpu: "L4:1"}\n';

test("render with a generated API key: stderr says the Secret has no data and prints the command that makes the key; no apply hint", () => {
  const dir = workdir({ "vllm-app.yaml": `${QWEN}namespace: models\n` });
  const r = runCli(["render", "--out", "out"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /warning: qwen: Secret qwen-api-key is rendered without data .* the pods stay in CreateContainerConfigError/,
  );
  const cmd =
    "openssl rand -hex 32 | tr -d '\\n' | kubectl create secret generic qwen-api-key -n models --from-file=VLLM_API_KEY=/dev/stdin --dry-run=client -o yaml | kubectl apply --server-side --field-manager=vllmapp-keygen -f -";
  assert.ok(r.stderr.includes(`\n  ${cmd}\n`), r.stderr);
  assert.doesNotMatch(r.stderr, /kubectl apply -k/, "no apply hint for output that cannot start");
  assert.match(r.stderr, /wrote \d+ files to out\/qwen\n/);
  const dry = runCli(["render", "--dry-run"], { cwd: dir });
  assert.equal(dry.code, 0, dry.stderr);
  assert.ok(dry.stderr.includes(cmd));
  assert.doesNotMatch(dry.stdout, /openssl/, "stdout is manifests only");
  // a Secret the user manages, or no key: nothing to create, the apply hint is back
  for (const auth of ["requires_auth: false", "requires_auth: {secret: team-keys, key: vllm}"]) {
    const d = workdir({ "vllm-app.yaml": `${QWEN}${auth}\n` });
    const o = runCli(["render", "--out", "out"], { cwd: d });
    assert.equal(o.code, 0, o.stderr);
    assert.doesNotMatch(o.stderr, /rendered without data/);
    assert.match(o.stderr, /\(kubectl apply -k out\/qwen\)/);
  }
});

test("check never summarises an app with config errors as ok", () => {
  const dir = workdir({
    "vllm-app.yaml": `${QWEN}extra_args: [--max-model-lenn, "8192"]\n---\nname: fine\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources: {gpu: "L4:1"}\n`,
  });
  const r = runCli(["check", "--offline"], { cwd: dir });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stdout, /^qwen: 1 error$/m);
  assert.match(r.stdout, /^fine: ok/m);
  assert.match(r.stderr, /vllm-app\.yaml:4:\d+ extra_args\[0\]: unknown vllm serve flag --max-model-lenn/);
  const json = runCli(["check", "--offline", "--json"], { cwd: dir });
  const doc = JSON.parse(json.stdout);
  assert.equal(doc.ok, false);
  assert.ok(doc.apps.find((a: any) => a.name === "qwen").problems.some((p: any) => p.severity === "error"));
});

const S3_APP = `name: s3app
model_path: s3://some-bucket/qwen3
resources: {gpu: "L4:1"}
requires_auth: false
secrets:
  - {env_var: AWS_ACCESS_KEY_ID, secret: s3-creds, key: id}
  - {env_var: AWS_SECRET_ACCESS_KEY, secret: s3-creds, key: secret}
`;

/** This machine with no AWS credentials at all (no variables, no files, no instance metadata). */
function noAws(dir: string): Record<string, string | undefined> {
  return {
    HOME: dir,
    AWS_ACCESS_KEY_ID: undefined,
    AWS_SECRET_ACCESS_KEY: undefined,
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
    AWS_ROLE_ARN: undefined,
    AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_CONFIG_FILE: path.join(dir, "none"),
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, "none"),
  };
}

test("an s3:// model with no AWS credentials here while the pods get theirs from a Secret: a warning for render and deploy, an error for check", async () => {
  const dir = workdir({ "vllm-app.yaml": S3_APP });
  const env = noAws(dir);
  const check = runCli(["check"], { cwd: dir, env });
  assert.equal(check.code, 2, check.stderr);
  assert.match(check.stderr, /model_path: no AWS credentials found to read s3:\/\/some-bucket\/qwen3\n/);
  const render = runCli(["render", "--resolve", "--dry-run"], { cwd: dir, env });
  assert.equal(render.code, 0, render.stderr);
  assert.match(
    render.stderr,
    /warning: .*model_path: no AWS credentials found to read s3:\/\/some-bucket\/qwen3, so it was not checked from here: the pods get their own credentials from Secret s3-creds \(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY\)/,
  );
  // deploy resolves in its own mode: the same finding is a warning, so the deploy goes on
  const saved = { ...process.env };
  try {
    for (const [k, v] of Object.entries(env))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    const loaded = loadConfig(path.join(dir, "vllm-app.yaml"), fsLoadDeps()).apps[0]!;
    const parsed = parseModelSource(loaded.config);
    assert.ok(!("message" in parsed));
    const report = await checkSource(loaded, parsed, {
      mode: "deploy",
      jobOutput: async () => assert.fail("no run output here"),
    });
    assert.deepEqual(
      report.diagnostics.map((d) => d.severity),
      ["warning"],
    );
    assert.match(report.diagnostics[0]!.message, /not checked from here/);
    // without credentials of their own, the pods could not read it either: still an error
    const bare = loadConfig(
      path.join(
        workdir({ "vllm-app.yaml": 'name: s3app\nmodel_path: s3://some-bucket/qwen3\nresources: {gpu: "L4:1"}\n' }),
        "vllm-app.yaml",
      ),
      fsLoadDeps(),
    ).apps[0]!;
    const r2 = await checkSource(bare, parseModelSource(bare.config) as never, {
      mode: "deploy",
      jobOutput: async () => assert.fail("no run output here"),
    });
    assert.deepEqual(
      r2.diagnostics.map((d) => d.severity),
      ["error"],
    );
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
});
