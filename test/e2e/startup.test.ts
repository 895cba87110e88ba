/**
 * What start-up loads (issue #24, BENCHMARKS.md "Start-up"): a guard, not a timing. The npm build runs in
 * a child with a module hook that records every module it loads; a change that pulls the CLI into
 * `--help`, or the cluster client, the AWS SDK, the Hugging Face client, the prompts or the spinner into
 * `render --dry-run`, fails here. The single executable (linux-x64) runs with a preloaded script that
 * records the assets it reads and whether V8 took the program's code cache: `--help` and `--version` must
 * read their fixed text only, `render` must compile the program with its cache and read no vendor bundle.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BIN, ROOT, workdir } from "../support/cli.ts";
import { ensureBinary } from "../testbed/binary.mjs";

const DIST = path.join(ROOT, "dist");

/** Runs the npm build with stdout to a pipe; returns its output and the files (and node: modules) it loaded. */
function loaded(args: string[], cwd = ROOT): { code: number; stdout: string; stderr: string; modules: string[] } {
  const dir = workdir();
  const hook = path.join(dir, "hook.mjs");
  const out = path.join(dir, "loaded.json");
  writeFileSync(
    hook,
    `import { registerHooks } from "node:module";
import { writeFileSync } from "node:fs";
const seen = [];
registerHooks({ load(url, context, next) { seen.push(url); return next(url, context); } });
process.on("exit", () => writeFileSync(${JSON.stringify(out)}, JSON.stringify(seen)));
`,
  );
  const r = spawnSync(process.execPath, ["--import", hook, BIN, ...args], {
    cwd,
    env: { ...process.env, CI: "1", NO_COLOR: "1" },
    encoding: "utf8",
    timeout: 60_000,
  });
  if (r.error) throw r.error;
  const urls = JSON.parse(readFileSync(out, "utf8")) as string[];
  const modules = urls.map((u) => (u.startsWith("file:") ? path.relative(ROOT, fileURLToPath(u)) : u));
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, modules };
}

test("`vllmapp --help`, `-h` and `vllmapp` alone, to a pipe: the program's help, and nothing of the CLI is loaded", () => {
  // the help as the program builds it (the `help` command does not take the fixed text's path)
  const built = loaded(["help"]);
  assert.equal(built.code, 0, built.stderr);
  assert.match(built.stdout, /^Usage: vllmapp \[options\] \[command\]\n/);
  assert.ok(built.modules.includes("dist/entry.js"), "`help` runs the program");
  assert.equal(
    readFileSync(path.join(DIST, "help.txt"), "utf8"),
    built.stdout,
    "dist/help.txt is what the program prints",
  );
  for (const args of [["--help"], ["-h"], []]) {
    const r = loaded(args);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, built.stdout, `vllmapp ${args.join(" ")}`);
    assert.equal(r.stderr, "");
    assert.deepEqual(
      r.modules,
      ["bin/vllmapp.js", "dist/static-help.js"],
      `vllmapp ${args.join(" ")} loads only the static help`,
    );
  }
});

/** Markers of the packages only other commands need, as they appear in the bundle's chunks. */
const HEAVY: Record<string, RegExp> = {
  "@kubernetes/client-node": /loadFromDefault/,
  "@aws-sdk/client-s3": /class S3Client extends|S3Client=class/,
  "@huggingface/hub": /HUB_URL/,
  "@inquirer/prompts": /useKeypress/,
  ora: /spinners/,
};

test("`render --dry-run` of an app loads none of the cluster client, the AWS SDK, the Hub client, the prompts or the spinner", () => {
  const chunks = readdirSync(path.join(DIST, "chunks")).map((f) => readFileSync(path.join(DIST, "chunks", f), "utf8"));
  for (const [pkg, marker] of Object.entries(HEAVY))
    assert.ok(
      chunks.some((c) => marker.test(c)),
      `${pkg}'s marker is in the build (else this test checks nothing)`,
    );
  const dir = workdir();
  writeFileSync(
    path.join(dir, "vllm-app.yaml"),
    "name: opt125m\nmodel_hf_path: facebook/opt-125m\nresources:\n  gpu: 1\n  cpu: 6\n  memory: 16Gi\n",
  );
  const r = loaded(["render", "--dry-run"], dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /kind: Deployment/);
  assert.deepEqual(
    r.modules.filter((m) => m.includes("node_modules")),
    [],
    "no package is loaded from node_modules",
  );
  for (const m of r.modules.filter((x) => x.startsWith("dist/"))) {
    const text = readFileSync(path.join(ROOT, m), "utf8");
    for (const [pkg, marker] of Object.entries(HEAVY))
      assert.doesNotMatch(text, marker, `${m} (loaded by render --dry-run) holds ${pkg}`);
  }
});

/** Runs the single executable with a preloaded script recording the assets it reads and the scripts it compiles. */
function binaryRun(
  exe: string,
  args: string[],
  cwd: string,
): {
  code: number;
  stdout: string;
  stderr: string;
  assets: string[];
  scripts: { filename: string; rejected: boolean }[];
} {
  const dir = workdir();
  const hook = path.join(dir, "hook.cjs");
  const out = path.join(dir, "seen.json");
  writeFileSync(
    hook,
    `const sea = require("node:sea");
const vm = require("node:vm");
const assets = [], scripts = [];
for (const k of ["getAsset", "getRawAsset", "getAssetAsBlob"]) {
  const f = sea[k];
  sea[k] = (key, ...a) => (assets.push(key), f(key, ...a));
}
const Script = vm.Script;
vm.Script = class extends Script {
  constructor(source, options) {
    super(source, options);
    scripts.push({ filename: options?.filename, rejected: this.cachedDataRejected });
  }
};
process.on("exit", () => require("node:fs").writeFileSync(${JSON.stringify(out)}, JSON.stringify({ assets, scripts })));
`,
  );
  const r = spawnSync(exe, args, {
    cwd,
    env: { PATH: "/usr/bin:/bin", HOME: dir, CI: "1", NO_COLOR: "1", NODE_OPTIONS: `--require ${hook}` },
    encoding: "utf8",
    timeout: 60_000,
  });
  if (r.error) throw r.error;
  const seen = JSON.parse(readFileSync(out, "utf8")) as {
    assets: string[];
    scripts: { filename: string; rejected: boolean }[];
  };
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, ...seen };
}

test("the binary: `--help`, `-h`, `vllmapp` alone and `--version` read their fixed text only; `render --dry-run` compiles the program with its code cache", async () => {
  const { bin } = (await ensureBinary("linux-x64")) as { bin: string };
  const help = binaryRun(bin, ["help"], ROOT);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^Usage: vllmapp \[options\] \[command\]\n/);
  assert.ok(help.assets.includes("vllmapp.cjs"), "`help` runs the program");
  for (const [args, asset] of [
    [["--help"], "help.txt"],
    [["-h"], "help.txt"],
    [[], "help.txt"],
    [["--version"], "version.txt"],
  ] as const) {
    const r = binaryRun(bin, [...args], ROOT);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.deepEqual(r.assets, [asset], `vllmapp ${args.join(" ")} reads ${asset} only`);
    assert.deepEqual(r.scripts, [], `vllmapp ${args.join(" ")} compiles nothing`);
    if (asset === "help.txt") assert.equal(r.stdout, help.stdout, `vllmapp ${args.join(" ")}: the program's help`);
    else assert.match(r.stdout, /^\d+\.\d+\.\d+\nvLLM serve catalogs: .*\ndefault image: vllm\/vllm-openai:v/);
  }
  const dir = workdir();
  writeFileSync(
    path.join(dir, "vllm-app.yaml"),
    "name: opt125m\nmodel_hf_path: facebook/opt-125m\nresources:\n  gpu: 1\n  cpu: 6\n  memory: 16Gi\n",
  );
  const r = binaryRun(bin, ["render", "--dry-run"], dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /kind: Deployment/);
  assert.deepEqual(
    r.scripts,
    [{ filename: "/vllmapp-single-executable/vllmapp.cjs", rejected: false }],
    "the program is compiled once, and V8 takes its code cache",
  );
  assert.deepEqual(
    r.assets.filter((a) => a.startsWith("vendor/")),
    [],
    "render reads no vendor bundle",
  );
  // a cluster command loads client-node from its vendor bundle, on first use, and says what the npm build says
  writeFileSync(
    path.join(dir, "kubeconfig"),
    "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: only, context: {cluster: c, user: u}}]\ncurrent-context: only\n",
  );
  const status = binaryRun(bin, ["status", "--kubeconfig", "kubeconfig"], dir);
  const npm = spawnSync(process.execPath, [BIN, "status", "--kubeconfig", "kubeconfig"], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: dir, CI: "1", NO_COLOR: "1" },
    encoding: "utf8",
  });
  assert.match(status.stderr, /cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:1/);
  assert.deepEqual([status.code, status.stdout, status.stderr], [npm.status, npm.stdout, npm.stderr]);
  assert.ok(status.assets.includes("vendor/kubernetes-client-node.cjs"), "status loads client-node's bundle");
});
