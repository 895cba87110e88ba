/**
 * What start-up loads (issue #24, BENCHMARKS.md "Start-up"): a guard, not a timing. The npm build runs in
 * a child with a module hook that records every module it loads; a change that pulls the CLI into
 * `--help`, or the cluster client, the AWS SDK, the Hugging Face client, the prompts or the spinner into
 * `render --dry-run`, fails here.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BIN, ROOT, workdir } from "../support/cli.ts";

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
