/**
 * The habits a platform engineer brings from kubectl, helm and kustomize, on the built CLI: `-f -`,
 * `logs -f`, flags that contradict or do nothing are errors, `--quiet`, `vllmapp` alone, `--version`,
 * render's GitOps layout (DIR/<app>/, a kustomization over the apps, Argo CD sync waves, version
 * labels), `--show-only`, `--set`, the messages, and shell completion.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { logsCommand, logsOptionsSchema } from "../../src/commands/logs.ts";
import { parseOptions } from "../../src/commands/options.ts";
import { DEFAULT_IMAGE } from "../../src/render/labels.ts";
import { CLI, runCli, workdir } from "../support/cli.ts";

const DEFAULT_TAG = DEFAULT_IMAGE.replace(/^.*:/, "");
const QWEN = "name: qwen3\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources:\n  gpu: L4:1\n";
const TWO =
  "name: embed\nmodel_hf_path: BAAI/bge-m3\n---\nname: chat\nmodel_hf_path: Qwen/Qwen3-8B\ndepends_on: [embed]\n";
const kinds = (stdout: string) =>
  parseAllDocuments(stdout)
    .map((d) => d.toJS())
    .map((o) => `${o.kind}/${o.metadata.name}`);

test("vllmapp alone prints the help on stdout (exit 0), with what to do first", () => {
  const r = runCli([]);
  assert.equal(r.code, 0);
  assert.equal(r.stderr, "");
  assert.match(r.stdout, /^Usage: vllmapp /);
  assert.match(r.stdout, /Get started: vllmapp init, then vllmapp render --dry-run, then vllmapp deploy/);
  assert.match(r.stdout, /^  completion <shell> /m);
  assert.doesNotMatch(r.stdout, /^\s+complete\b/m, "the protocol command is hidden");
});

test("-f - reads the file from stdin; its errors name <stdin>:line:col", () => {
  const r = runCli(["render", "--dry-run", "-f", "-"], { cwd: workdir(), input: QWEN });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(kinds(r.stdout), [
    "Secret/qwen3-api-key",
    "Service/qwen3",
    "Deployment/qwen3",
    "NetworkPolicy/qwen3",
  ]);
  const json = runCli(["render", "--dry-run", "-o", "json", "--file=-"], { cwd: workdir(), input: QWEN });
  assert.equal(JSON.parse(json.stdout).apps[0].name, "qwen3");
  const bad = runCli(["render", "--dry-run", "-f", "-"], {
    cwd: workdir(),
    input: "name: qwen3\nmodel_hf_path: Qwen/Qwen3-0.6B\nresorces: {}\n",
  });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^<stdin>:3:1 resorces: unknown field "resorces"; did you mean "resources"\?/m);
  assert.match(bad.stderr, /1 error in <stdin>/);
  const check = runCli(["check", "--offline", "-f", "-", "--json"], { cwd: workdir(), input: QWEN });
  assert.equal(check.code, 0, check.stderr);
  assert.equal(JSON.parse(check.stdout).apps[0].name, "qwen3");
});

test("logs -f means --follow (as kubectl logs -f); the file is --file there", () => {
  const parse = (args: string[]) => {
    let raw: Record<string, unknown> = {};
    let app: string | undefined;
    const cmd = logsCommand().exitOverride();
    cmd.action((a: string | undefined, o: Record<string, unknown>) => void ((raw = o), (app = a)));
    cmd.parse(args, { from: "user" });
    return parseOptions(logsOptionsSchema, { ...raw, appName: app });
  };
  const f = parse(["-f", "qwen3"]);
  assert.equal(f.follow, true);
  assert.equal(f.appName, "qwen3");
  assert.equal(f.file, "vllm-app.yaml");
  assert.equal(parse(["--file", "a.yaml", "-f"]).file, "a.yaml");
  assert.match(runCli(["logs", "--help"]).stdout, /-f, --follow/);
  const hint = runCli(["logs"], { cwd: workdir() });
  assert.equal(hint.code, 2);
  assert.match(
    hint.stderr,
    /no app given, and vllm-app\.yaml does not exist\n {2}hint: name the app \(vllmapp logs APP\), or point --file at its vllm-app\.yaml/,
  );
});

test("contradicting and ineffective flags are usage errors (exit 2), before anything is contacted", () => {
  const dir = workdir({ "vllm-app.yaml": QWEN });
  const cases: [string[], RegExp][] = [
    [
      ["render", "--dry-run", "--local", "--target", "kubernetes"],
      /--local and --target kubernetes contradict each other/,
    ],
    [["deploy", "--local", "--target", "kubernetes"], /--local and --target kubernetes contradict each other/],
    [["render", "--dry-run", "--json", "-o", "yaml"], /--json and -o yaml contradict each other/],
    [["render", "--dry-run", "--quiet", "--debug"], /--quiet and --debug contradict each other/],
    [["render", "--dry-run", "--gpus", "all"], /--gpus has no effect on the Kubernetes target/],
    [["render", "--dry-run", "--offline"], /--offline has no effect without --resolve/],
    [["render", "-o", "yaml"], /-o yaml prints to stdout, and render prints only with --dry-run/],
    [["deploy", "--local", "--create-secrets"], /--create-secrets has no effect on the Docker target/],
    [["deploy", "--local", "--force-conflicts"], /--force-conflicts has no effect on the Docker target/],
    [["deploy", "--no-wait", "--timeout", "5m"], /--timeout and --no-wait contradict each other/],
    [["deploy", "-o", "yaml"], /-o yaml prints the objects a dry run would apply/],
    [
      ["status", "qwen3", "-o", "yaml"],
      /-o yaml is not an output of this command\n {2}hint: it prints -o text or -o json/,
    ],
    [["list", "-n", "Team_A"], /--namespace "Team_A": not a namespace name\n {2}hint: a namespace is a DNS-1123 label/],
    [
      ["render", "--dry-run", "-f", "a.yaml", "-f", "b.yaml"],
      /--file is given 2 times \(a\.yaml, b\.yaml\); vllmapp reads one file/,
    ],
    [["logs", "qwen3", "--tail", "abc"], /--tail abc: expected a whole number\n {2}hint: e\.g\. --tail 100/],
    // the flag is named once
    [["bench", "--seed", "x"], /^error: --seed: expected a whole number, e\.g\. --seed 7\n/],
    [["tune", "--seed", "1x"], /^error: --seed: expected a whole number, e\.g\. --seed 7\n/],
    [
      ["bench", "--concurrency", "0"],
      /--concurrency 0: expected whole numbers above 0, separated by commas\n {2}hint: e\.g\. --concurrency 1,4,16/,
    ],
  ];
  for (const [args, want] of cases) {
    const r = runCli(args, { cwd: dir, env: { KUBECONFIG: "/nonexistent" } });
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, want, args.join(" "));
    assert.equal(r.stdout, "");
  }
});

test("--quiet hides warnings and notes; errors still show", () => {
  const dir = workdir({ "vllm-app.yaml": `${QWEN}image: vllm/vllm-openai:latest\n` });
  const loud = runCli(["render", "--dry-run"], { cwd: dir });
  assert.match(loud.stderr, /warning: .*uses :latest/);
  const quiet = runCli(["render", "--dry-run", "--quiet"], { cwd: dir });
  assert.equal(quiet.code, 0);
  assert.equal(quiet.stderr, "");
  assert.match(
    runCli(["render", "--dry-run", "--quiet", "-f", "missing.yaml"], { cwd: dir }).stderr,
    /cannot read missing\.yaml/,
  );
});

test("render always writes DIR/<app>/: adding an app never moves the first one's files; a multi-app file gets DIR/kustomization.yaml", () => {
  const dir = workdir({ "vllm-app.yaml": "name: embed\nmodel_hf_path: BAAI/bge-m3\n" });
  assert.equal(runCli(["render", "--out", "deploy"], { cwd: dir }).code, 0);
  const first = readdirSync(path.join(dir, "deploy", "embed")).sort();
  assert.ok(first.includes("deployment-embed.yaml"));
  assert.ok(!existsSync(path.join(dir, "deploy", "kustomization.yaml")), "one app: its folder only");
  writeFileSync(path.join(dir, "vllm-app.yaml"), TWO);
  const r = runCli(["render", "--out", "deploy", "--json"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(path.join(dir, "deploy", "embed")).sort(), first);
  assert.ok(existsSync(path.join(dir, "deploy", "chat", "deployment-chat.yaml")));
  assert.deepEqual(parse(readFileSync(path.join(dir, "deploy", "kustomization.yaml"), "utf8")).resources, [
    "embed/",
    "chat/",
  ]);
  assert.equal(JSON.parse(r.stdout).kustomization, path.join("deploy", "kustomization.yaml"));
  // --app renders part of the file: the kustomization over all of it is left alone
  writeFileSync(path.join(dir, "vllm-app.yaml"), `${TWO}---\nname: third\nmodel_hf_path: o/m\n`);
  assert.equal(runCli(["render", "--out", "deploy", "--app", "third"], { cwd: dir }).code, 0);
  assert.deepEqual(parse(readFileSync(path.join(dir, "deploy", "kustomization.yaml"), "utf8")).resources, [
    "embed/",
    "chat/",
  ]);
  // the default folder is ./rendered/<app>/
  assert.equal(runCli(["render"], { cwd: dir }).code, 0);
  assert.deepEqual(readdirSync(path.join(dir, "rendered")).sort(), ["chat", "embed", "kustomization.yaml", "third"]);
});

test("depends_on becomes Argo CD sync waves on every object (--no-sync-waves: none); objects carry version labels", () => {
  const dir = workdir({ "vllm-app.yaml": TWO });
  const docs = parseAllDocuments(runCli(["render", "--dry-run"], { cwd: dir }).stdout).map((d) => d.toJS());
  const wave = (o: { metadata: { annotations?: Record<string, string> } }) =>
    o.metadata.annotations?.["argocd.argoproj.io/sync-wave"];
  assert.deepEqual([...new Set(docs.filter((o) => o.metadata.labels["vllmapp.dev/app"] === "embed").map(wave))], ["0"]);
  assert.deepEqual([...new Set(docs.filter((o) => o.metadata.labels["vllmapp.dev/app"] === "chat").map(wave))], ["1"]);
  const off = parseAllDocuments(runCli(["render", "--dry-run", "--no-sync-waves"], { cwd: dir }).stdout).map((d) =>
    d.toJS(),
  );
  assert.ok(off.every((o) => wave(o) === undefined));
  const single = parseAllDocuments(
    runCli(["render", "--dry-run"], { cwd: workdir({ "vllm-app.yaml": QWEN }) }).stdout,
  ).map((d) => d.toJS());
  assert.ok(
    single.every((o) => wave(o) === undefined),
    "no dependencies, no waves",
  );
  for (const o of docs) {
    assert.equal(o.metadata.labels["app.kubernetes.io/version"], DEFAULT_TAG, `${o.kind}/${o.metadata.name}`);
    assert.match(o.metadata.labels["vllmapp.dev/version"], /^\d+\.\d+\.\d+/);
  }
  const pod = docs.find((o) => o.kind === "Deployment").spec.template.metadata.labels;
  assert.equal(pod["app.kubernetes.io/version"], DEFAULT_TAG);
  assert.equal(pod["vllmapp.dev/version"], undefined, "a new vllmapp must not restart the servers");
});

test("--show-only Kind/name prints those objects; an unknown one lists what there is", () => {
  const dir = workdir({ "vllm-app.yaml": QWEN });
  const r = runCli(["render", "--dry-run", "--show-only", "Deployment/qwen3", "--show-only", "service/qwen3"], {
    cwd: dir,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(kinds(r.stdout), ["Service/qwen3", "Deployment/qwen3"]);
  const missing = runCli(["render", "--dry-run", "--show-only", "Ingress/qwen3"], { cwd: dir });
  assert.equal(missing.code, 2);
  assert.match(
    missing.stderr,
    /--show-only Ingress\/qwen3: no such object in this render\n {2}hint: the objects: Secret\/qwen3-api-key, Service\/qwen3, Deployment\/qwen3/,
  );
  assert.match(runCli(["render", "--show-only", "Deployment/qwen3"], { cwd: dir }).stderr, /add --dry-run/);
});

test("--set path=value overrides a field for one render, checked like the file; its errors name --set and the path", () => {
  const dir = workdir({ "vllm-app.yaml": QWEN });
  const json = (args: string[]) =>
    JSON.parse(runCli(["render", "--dry-run", "-o", "json", ...args], { cwd: dir }).stdout).apps[0];
  const app = json([
    "--set",
    "resources.gpu=H100:2",
    "--set",
    "port=9000",
    "--set",
    "extra_args=[--max-model-len, '4096']",
  ]);
  const args = app.serve.args.join(" ");
  assert.match(args, /--port 9000/);
  assert.match(args, /--max-model-len 4096/);
  assert.match(args, /--tensor-parallel-size 2/);
  const dep = app.objects.find((o: { kind: string }) => o.kind === "Deployment");
  assert.equal(dep.spec.template.spec.containers[0].resources.limits["nvidia.com/gpu"], "2");
  assert.equal(readFileSync(path.join(dir, "vllm-app.yaml"), "utf8"), QWEN, "the file is not touched");
  const cases: [string, RegExp][] = [
    ["resources.gpu=B300:1", /^--set resources\.gpu: unknown GPU type "B300"/m],
    ["port=http", /^--set port: /m],
    ["resorces.gpu=L4:1", /^--set resorces: unknown field "resorces"; did you mean "resources"\?/m],
    ["name.first=x", /^--set name\.first: name is not a mapping in the file, so it has no field first/m],
    ["extra_args[x]=1", /^--set extra_args\[x\]: not a field path/m],
    ["nothing", /--set nothing: write --set path=value/],
  ];
  for (const [set, want] of cases) {
    const r = runCli(["render", "--dry-run", "--set", set], { cwd: dir });
    assert.equal(r.code, 2, set);
    assert.match(r.stderr, want, `${set}: ${r.stderr}`);
  }
});

test("messages: indentation errors point at the line to fix; the known-field list never offers args", () => {
  const dir = workdir({ "vllm-app.yaml": "name: a\nmodel_hf_path: o/m\nresources:\n  gpu: L4:1\n    memory: 8Gi\n" });
  const r = runCli(["render", "--dry-run"], { cwd: dir });
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /^vllm-app\.yaml:5:5 line 5 is indented more than line 4 \(gpu: L4:1\), which already has a value[^\n]*\n {2}hint: start memory: at column 3, like gpu: on line 4\n1 error in vllm-app\.yaml\n$/,
  );
  const under = runCli(["render", "--dry-run"], {
    cwd: workdir({ "vllm-app.yaml": "name: a\nmodel_hf_path: o/m\nresources:\n  gpu: L4:1\n memory: 8Gi\n" }),
  });
  assert.match(
    under.stderr,
    /^vllm-app\.yaml:5:2 line 5 starts at column 2, but the fields of resources above it start at column 3\n {2}hint: indent memory: to column 3, like gpu: on line 4/,
  );
  for (const field of ["zzz", "arg"]) {
    const u = runCli(["render", "--dry-run"], {
      cwd: workdir({ "vllm-app.yaml": `name: a\nmodel_hf_path: o/m\n${field}: [x]\n` }),
    });
    assert.match(u.stderr, /known fields here: name, /);
    assert.doesNotMatch(u.stderr, /\bargs\b/);
  }
});

/** A folder with `vllmapp` on PATH, as an installed CLI is. */
function onPath(): string {
  const bin = workdir();
  writeFileSync(path.join(bin, "vllmapp"), `#!/bin/sh\nexec ${CLI.map((a) => `"${a}"`).join(" ")} "$@"\n`);
  chmodSync(path.join(bin, "vllmapp"), 0o755);
  return bin;
}

test("completion: bash loads the script and completes commands, flags, -o values, app names of the file and GPU types", () => {
  const dir = workdir({ "vllm-app.yaml": TWO, "other.yaml": "name: solo\nmodel_hf_path: o/m\n" });
  mkdirSync(path.join(dir, "apps"));
  const env = { ...process.env, PATH: `${onPath()}:${process.env.PATH}`, CI: "1", NO_COLOR: "1" };
  const loaded = spawnSync("bash", ["-c", "source <(vllmapp completion bash); complete -p vllmapp"], {
    cwd: dir,
    env,
    encoding: "utf8",
  });
  assert.equal(loaded.status, 0, loaded.stderr);
  assert.match(loaded.stdout, /^complete -F __vllmapp_complete vllmapp$/m);
  // what bash hands a completion function on TAB: COMP_WORDS and COMP_CWORD (no bash-completion package here)
  const tab = (...words: string[]) => {
    const script = `source <(vllmapp completion bash)
COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; COMP_LINE="\${COMP_WORDS[*]}"; COMP_POINT=\${#COMP_LINE}
__vllmapp_complete 2>/dev/null; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = spawnSync("bash", ["-c", script], { cwd: dir, env, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split("\n").filter(Boolean);
  };
  assert.deepEqual(tab("vllmapp", "ren"), ["render"]);
  assert.deepEqual(tab("vllmapp", "render", "-o", ""), ["yaml", "json", "text"]);
  assert.deepEqual(tab("vllmapp", "render", "--dry"), ["--dry-run"]);
  assert.deepEqual(tab("vllmapp", "deploy", "--target", ""), ["kubernetes", "docker"]);
  assert.deepEqual(tab("vllmapp", "logs", ""), ["embed", "chat"]);
  assert.deepEqual(tab("vllmapp", "status", "-f", "other.yaml", ""), ["solo"]);
  assert.deepEqual(tab("vllmapp", "render", "--app", "c"), ["chat"]);
  assert.deepEqual(tab("vllmapp", "render", "-f", "").sort(), ["apps/", "other.yaml", "vllm-app.yaml"]);
  assert.deepEqual(tab("vllmapp", "init", "--gpu", "H1"), ["H100:1", "H100-NVL:1"]);
  assert.deepEqual(tab("vllmapp", "completion", ""), ["bash", "zsh", "fish"]);
  assert.ok(tab("vllmapp", "").includes("deploy"));
  assert.ok(!tab("vllmapp", "").includes("complete"), "the protocol command is not offered");
});

test("completion zsh and fish print their scripts; an unknown shell is exit 2", () => {
  assert.match(runCli(["completion", "zsh"]).stdout, /^#compdef vllmapp\n/);
  assert.match(runCli(["completion", "fish"]).stdout, /complete -c vllmapp/);
  const bad = runCli(["completion", "tcsh"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /value .tcsh. is invalid for argument .shell.\. Allowed choices are bash, zsh, fish/);
});
