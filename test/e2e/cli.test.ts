/** The built CLI, run as a user would: exit codes, stdout, stderr, files. No cluster, no Docker. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { parse, parseAllDocuments } from "yaml";
import { CLI, ROOT, runCli, workdir } from "../support/cli.ts";

const QWEN = "name: qwen3\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources:\n  gpu: L4:1\n";

test("--help on every command shows an example; --version prints the version, the default image and the catalog", () => {
  for (const cmd of ["init", "render", "deploy", "logs", "status", "delete", "list", "check", "completion"]) {
    const r = runCli([cmd, "--help"]);
    assert.equal(r.code, 0, cmd);
    assert.match(r.stdout, /Examples?:\n {2}\$ vllmapp /, cmd);
  }
  const v = runCli(["--version"]);
  assert.equal(v.code, 0);
  assert.match(
    v.stdout,
    /^\d+\.\d+\.\d+\nvLLM serve catalogs: (\d+\.\d+\.\d+, )*0\.34\.0\ndefault image: vllm\/vllm-openai:v0\.34\.0\nalso checked: (\d+\.\d+\.\d+ \(\d+\.\d+\.\d+'s parser\), )*0\.27\.1 \(0\.27\.0's parser\)\n$/,
  );
  assert.match(v.stdout, /also checked: .*0\.20\.2 \(0\.20\.1's parser\)/);
});

test("an unknown command or flag is a usage error (exit 2)", () => {
  assert.equal(runCli(["rendr"]).code, 2);
  const r = runCli(["render", "--dry-rn"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown option '--dry-rn'/);
});

test("an unknown command: a close one is suggested, a far one is not (newcomer-3 §2 row 25: 'bogus' was 'Did you mean logs?')", () => {
  const close = runCli(["rendr"]);
  assert.equal(close.stderr, "error: unknown command 'rendr'\n(Did you mean render?)\n");
  assert.equal(runCli(["delpoy"]).stderr, "error: unknown command 'delpoy'\n(Did you mean deploy?)\n");
  assert.equal(runCli(["lgos"]).stderr, "error: unknown command 'lgos'\n(Did you mean logs?)\n");
  assert.equal(runCli(["stat"]).stderr, "error: unknown command 'stat'\n(Did you mean status?)\n");
  const far = runCli(["bogus"]);
  assert.equal(far.code, 2);
  assert.equal(far.stderr, "error: unknown command 'bogus'\n");
});

test("render --dry-run prints a YAML stream kubectl takes, and writes nothing", () => {
  const dir = workdir({ "vllm-app.yaml": QWEN });
  const r = runCli(["render", "--dry-run"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const docs = parseAllDocuments(r.stdout).map((d) => d.toJS());
  assert.deepEqual(
    docs.map((d) => `${d.kind}/${d.metadata.name}`),
    ["Secret/qwen3-api-key", "Service/qwen3", "Deployment/qwen3", "NetworkPolicy/qwen3"],
  );
  assert.deepEqual(readdirSync(dir), ["vllm-app.yaml"]);
});

test("render -o json is the SPEC §1.1 document", () => {
  const dir = workdir({ "vllm-app.yaml": QWEN + "model_id: qwen3-0.6b\n" });
  const r = runCli(["render", "--dry-run", "-o", "json"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(doc), ["apps"]);
  const app = doc.apps[0];
  assert.equal(app.name, "qwen3");
  assert.equal(app.target, "kubernetes");
  assert.deepEqual(app.model, { kind: "hf", uri: "Qwen/Qwen3-0.6B", servedAs: "qwen3-0.6b" });
  assert.deepEqual(app.serve, {
    command: ["vllm", "serve"],
    args: ["Qwen/Qwen3-0.6B", "--served-model-name", "qwen3-0.6b", "--port", "8000"],
  });
  assert.equal(app.objects.length, 4);
  const docker = JSON.parse(runCli(["render", "--dry-run", "--local", "--json"], { cwd: dir }).stdout).apps[0];
  assert.equal(docker.target, "docker");
  assert.equal(docker.objects, undefined);
  assert.deepEqual(docker.docker.argv.slice(0, 5), ["docker", "run", "-d", "--name", "vllmapp-qwen3"]);
});

test("render writes one file per object, a kustomization and the serve command", () => {
  const dir = workdir({ "vllm-app.yaml": QWEN + "cache: {size: 20Gi}\n" });
  const r = runCli(["render"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "");
  const out = path.join(dir, "rendered", "qwen3");
  assert.deepEqual(readdirSync(out).sort(), [
    "deployment-qwen3.yaml",
    "kustomization.yaml",
    "networkpolicy-qwen3.yaml",
    "persistentvolumeclaim-qwen3-cache.yaml",
    "secret-qwen3-api-key.yaml",
    "serve-command.txt",
    "service-qwen3.yaml",
  ]);
  const k = parse(readFileSync(path.join(out, "kustomization.yaml"), "utf8"));
  assert.deepEqual(k.resources, [
    "secret-qwen3-api-key.yaml",
    "persistentvolumeclaim-qwen3-cache.yaml",
    "service-qwen3.yaml",
    "deployment-qwen3.yaml",
    "networkpolicy-qwen3.yaml",
  ]);
  assert.equal(
    readFileSync(path.join(out, "serve-command.txt"), "utf8"),
    "vllm serve Qwen/Qwen3-0.6B --served-model-name Qwen/Qwen3-0.6B --port 8000\n",
  );
  // a render without the cache drops its file from the folder
  writeFileSync(path.join(dir, "vllm-app.yaml"), QWEN);
  assert.equal(runCli(["render"], { cwd: dir }).code, 0);
  assert.ok(!existsSync(path.join(out, "persistentvolumeclaim-qwen3-cache.yaml")));
});

test("bad input exits 2 with file:line:col and a fix, and prints nothing on stdout", () => {
  const cases: [string, RegExp][] = [
    [
      "name: qwen3\nmodel_hf_path: Qwen/Qwen3-0.6B\nresorces: {gpu: L4:1}\n",
      /vllm-app\.yaml:3:1 resorces: unknown field "resorces"; did you mean "resources"\?/,
    ],
    [
      "name: qwen3\nmodel_hf_path: Qwen/Qwen3-0.6B\nmodel_path: s3://b/m\n",
      /vllm-app\.yaml:3:13 model_path: both model_hf_path and model_path are set/,
    ],
    [
      QWEN + "extra_args: [--max-model-len 8192]\n",
      /vllm-app\.yaml:5:14 extra_args\[0\]: "--max-model-len 8192" is one list element[^\n]*\n {2}hint: split it: \["--max-model-len","8192"\]/,
    ],
    [
      QWEN + "extra_args: --max-model-length 8192\n",
      /vllm-app\.yaml:5:13 extra_args: unknown vllm serve flag --max-model-length; did you mean --max-model-len\?/,
    ],
    [
      QWEN + "extra_args: [--calculate-kv-scales]\n",
      /extra_args\[0\]: --calculate-kv-scales was removed in vLLM 0\.\d+\.\d+ \(last in 0\.\d+\.\d+\); your image is 0\.34\.0/,
    ],
    [
      QWEN + "image: vllm/vllm-openai:v0.19.0\nextra_args: [--cohere-format]\n",
      /extra_args\[0\]: --cohere-format needs vLLM ≥ 0\.\d+\.\d+; your image is 0\.19\.0/,
    ],
    [
      "name: qwen3\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources: {gpu: 'B300:8'}\n",
      /vllm-app\.yaml:3:\d+ resources\.gpu: unknown GPU type "B300"/,
    ],
    ["name: Qwen_3\nmodel_hf_path: Qwen/Qwen3-0.6B\n", /vllm-app\.yaml:1:7 name: must be a DNS-1123 label/],
    ["name: qwen3\nmodel_hf_path: [oops\n", /vllm-app\.yaml:\d+:\d+ YAML syntax error/],
    [
      "name: a\nmodel_hf_path: o/m\ndepends_on: [b]\n---\nname: b\nmodel_hf_path: o/m\ndepends_on: [a]\n",
      /vllm-app\.yaml:3:\d+ depends_on: dependency cycle: a → b → a/,
    ],
    [QWEN + "extra_args: [--port, '9000']\n", /extra_args\[0\]: --port is set by vllmapp; use the port field instead/],
  ];
  for (const [yaml, want] of cases) {
    const dir = workdir({ "vllm-app.yaml": yaml });
    for (const target of ["kubernetes", "docker"]) {
      const r = runCli(["render", "--dry-run", "--target", target], { cwd: dir });
      assert.equal(r.code, 2, `${yaml}\n${r.stderr}`);
      assert.equal(r.stdout, "", yaml);
      assert.match(r.stderr, want);
      assert.match(r.stderr, /\d+ errors? in /);
    }
  }
});

test("a missing file says how to make one", () => {
  const r = runCli(["render", "--dry-run"], { cwd: workdir() });
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /cannot read vllm-app\.yaml: ENOENT[^\n]*\n {2}hint: pass the file with -f, or run `vllmapp init`/,
  );
});

test("secret values in the environment never appear in render output, for either target", () => {
  const secret = "hf_SECRETVALUE_1234567890";
  const dir = workdir({
    "vllm-app.yaml": QWEN + "secrets: [HF_TOKEN, {env_var: AWS_SECRET_ACCESS_KEY, secret: s3, key: sk}]\n",
  });
  const env = { HF_TOKEN: secret, AWS_SECRET_ACCESS_KEY: secret, VLLM_API_KEY: secret };
  for (const args of [
    ["render", "--dry-run"],
    ["render", "--dry-run", "-o", "json"],
    ["render", "--dry-run", "--local"],
    ["render", "--dry-run", "--local", "--json"],
    ["render", "--dry-run", "-o", "text"],
  ]) {
    const r = runCli(args, { cwd: dir, env });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), args.join(" "));
  }
  const docker = JSON.parse(runCli(["render", "--dry-run", "--local", "--json"], { cwd: dir, env }).stdout).apps[0]
    .docker;
  assert.deepEqual(docker.envFromHost, ["HF_TOKEN", "AWS_SECRET_ACCESS_KEY", "VLLM_API_KEY"]);
  for (const name of docker.envFromHost) assert.ok(docker.argv.includes(name), `-e ${name} by name only`);
  assert.equal(runCli(["render"], { cwd: dir, env }).code, 0);
  for (const f of readdirSync(path.join(dir, "rendered", "qwen3"))) {
    assert.ok(!readFileSync(path.join(dir, "rendered", "qwen3", f), "utf8").includes(secret), f);
  }
});

test("--param overrides a parameter; an unknown one is an error", () => {
  const dir = workdir({
    "vllm-app.yaml": QWEN + "parameters: [{name: ctx, value: 4096}]\nextra_args: [--max-model-len, '${ctx}']\n",
  });
  const r = runCli(["render", "--dry-run", "-o", "json", "--param", "ctx=8192"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const args = JSON.parse(r.stdout).apps[0].serve.args;
  assert.deepEqual(args.slice(-2), ["--max-model-len", "8192"]);
  const bad = runCli(["render", "--dry-run", "--param", "ctxx=1"], { cwd: dir });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--param ctxx=… names no parameter/);
});

test("--app picks one app of a multi-app file, with its dependencies", () => {
  const dir = workdir({
    "vllm-app.yaml":
      "name: a\nmodel_hf_path: o/m\ndepends_on: [b]\n---\nname: b\nmodel_hf_path: o/m\n---\nname: c\nmodel_hf_path: o/m\n",
  });
  const r = runCli(["render", "--dry-run", "--json", "--app", "a"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    JSON.parse(r.stdout).apps.map((x: { name: string }) => x.name),
    ["b", "a"],
  );
  const all = JSON.parse(runCli(["render", "--dry-run", "--json"], { cwd: dir }).stdout);
  assert.deepEqual(
    all.apps.map((x: { name: string }) => x.name),
    ["b", "a", "c"],
  );
  const missing = runCli(["render", "--dry-run", "--app", "zz"], { cwd: dir });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /has no app named "zz"/);
});

test("init writes a commented file that renders, and never overwrites without --force", () => {
  const dir = workdir();
  const r = runCli([
    "init",
    dir,
    "--name",
    "llama",
    "--model",
    "meta-llama/Llama-3.1-8B-Instruct",
    "--gpu",
    "L4:1",
    "--yes",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const text = readFileSync(path.join(dir, "vllm-app.yaml"), "utf8");
  // the schema init wrote beside the file, by a relative path
  assert.equal(text.split("\n")[0], "# yaml-language-server: $schema=./vllm-app.schema.json");
  const rendered = runCli(["render", "--dry-run", "--json"], { cwd: dir });
  assert.equal(rendered.code, 0, rendered.stderr);
  assert.equal(JSON.parse(rendered.stdout).apps[0].model.uri, "meta-llama/Llama-3.1-8B-Instruct");
  const again = runCli(["init", dir, "--yes"]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already exists[^\n]*\n {2}hint: pass --force/);
  assert.equal(readFileSync(path.join(dir, "vllm-app.yaml"), "utf8"), text);
  assert.equal(runCli(["init", dir, "--yes", "--force", "--no-auth"]).code, 0);
  assert.match(readFileSync(path.join(dir, "vllm-app.yaml"), "utf8"), /^requires_auth: false/m);
});

test("init without a terminal and without --yes names the missing flags", () => {
  const dir = workdir();
  const r = runCli(["init", dir, "--model", "Qwen/Qwen3-0.6B"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no terminal to ask on, and --name, --gpu are missing/);
  assert.deepEqual(readdirSync(dir), []);
  const bad = runCli(["init", dir, "--name", "x", "--model", "Qwen/Qwen3-0.6B", "--gpu", "Z9:1"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error: --gpu Z9:1: unknown GPU type "Z9" \(known: T4, /);
});

test("--templates DIR renders from a customised copy of the templates", () => {
  const dir = workdir({ "vllm-app.yaml": QWEN });
  const copy = path.join(dir, "my-templates");
  cpSync(path.join(ROOT, "templates"), copy, { recursive: true });
  const dep = path.join(copy, "kubernetes", "deployment.yaml");
  writeFileSync(
    dep,
    readFileSync(dep, "utf8").replace(
      "      enableServiceLinks: false\n",
      "      enableServiceLinks: false\n      priorityClassName: house-inference\n",
    ),
  );
  const r = runCli(["render", "--dry-run", "-o", "json", "--templates", copy], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const deployment = JSON.parse(r.stdout).apps[0].objects.find((o: { kind: string }) => o.kind === "Deployment");
  assert.equal(deployment.spec.template.spec.priorityClassName, "house-inference");
  const plain = JSON.parse(runCli(["render", "--dry-run", "-o", "json"], { cwd: dir }).stdout).apps[0].objects.find(
    (o: { kind: string }) => o.kind === "Deployment",
  );
  assert.equal(plain.spec.template.spec.priorityClassName, undefined);
  rmSync(path.join(copy, "kubernetes", "service.yaml"));
  const broken = runCli(["render", "--dry-run", "--templates", copy], { cwd: dir });
  assert.equal(broken.code, 2);
  assert.match(broken.stderr, /template \S+service\.yaml is missing\n {2}hint: copy vllmapp's templates folder whole/);
});

test("an image without a pinned tag is a warning, on stderr only", () => {
  for (const [image, want] of [
    ["registry.local:5000/vllm", /image "registry\.local:5000\/vllm" has no tag/],
    ["vllm/vllm-openai:latest", /uses :latest/],
  ] as const) {
    const r = runCli(["render", "--dry-run", "-o", "json"], {
      cwd: workdir({ "vllm-app.yaml": `${QWEN}image: ${image}\n` }),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, want);
    assert.equal(
      JSON.parse(r.stdout).apps[0].objects.find((o: { kind: string }) => o.kind === "Deployment").spec.template.spec
        .containers[0].image,
      image,
    );
  }
  for (const image of [
    "vllm/vllm-openai:v0.19.0",
    "registry.local:5000/vllm:v1",
    "vllm/vllm-openai@sha256:" + "a".repeat(64),
  ]) {
    const r = runCli(["render", "--dry-run"], { cwd: workdir({ "vllm-app.yaml": `${QWEN}image: ${image}\n` }) });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /image/, image);
  }
});

test("an image of a patch release checked on its .0's parser (same_as) is named as itself in the messages", () => {
  // 0.20.2 and 0.14.1 have the parser of 0.20.1 and 0.14.0 (templates/vllm/catalogs/index.json same_as)
  for (const [tag, named] of [
    ["v0.20.2", "0.20.2"],
    ["v0.20.1", "0.20.1"],
    ["v0.14.1", "0.14.1"],
  ] as const) {
    const dir = workdir({
      "vllm-app.yaml": `name: m\nmodel_hf_path: org/m\nimage: vllm/vllm-openai:${tag}\nresources:\n  gpu: 1\nextra_args: [--gpu-memory-utilization, "1.5", --gpu-memory-utilisation, "0.5"]\n`,
    });
    const r = runCli(["render", "--dry-run"], { cwd: dir });
    assert.equal(r.code, 2, r.stderr);
    const v = named.replace(/\./g, "\\.");
    assert.match(r.stderr, new RegExp(`--gpu-memory-utilization 1\\.5: vLLM ${v} refuses it at start-up`), tag);
    assert.match(r.stderr, new RegExp(`hint: write --gpu-memory-utilization \\(checked against vLLM ${v}\\)`), tag);
  }
});

test("without any kubeconfig, cluster commands say so (exit 3)", () => {
  const home = workdir();
  for (const args of [["list"], ["status", "qwen3"]]) {
    const r = runCli(args, { env: { HOME: home, KUBECONFIG: undefined, KUBERNETES_SERVICE_HOST: undefined } });
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(
      r.stderr,
      /^error: no kubeconfig: KUBECONFIG is not set and \S+\/\.kube\/config does not exist\n {2}hint: pass --kubeconfig FILE, set KUBECONFIG/,
    );
  }
});

test("a reader that stops early (| head) ends the CLI quietly", async () => {
  const apps = Array.from(
    { length: 100 },
    (_, i) => `name: app-${i}\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources: {gpu: "L4:1"}\nrequires_auth: false\n`,
  ).join("---\n");
  const dir = workdir({ "vllm-app.yaml": apps });
  const child = spawn(CLI[0], [...CLI.slice(1), "render", "--dry-run"], {
    cwd: dir,
    env: { ...process.env, CI: "1", NO_COLOR: "1" },
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
  child.stdout.destroy();
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /EPIPE|Error/);
});
