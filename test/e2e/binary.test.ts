/**
 * The single executable (npm run build:binary, README "Install"), linux-x64: copied alone into an empty
 * folder and run with no Node.js on PATH and no node_modules anywhere near it, it renders every golden
 * case (test/golden/cases) to the same bytes as the npm build, and prints the same help and version. The
 * build is cached by content (test/testbed/binary.mjs): a minute or two once, then free. The whole e2e
 * suite runs against it with VLLMAPP_TEST_BIN=<binary>.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { BIN, ROOT, workdir } from "../support/cli.ts";
import { ensureBinary } from "../testbed/binary.mjs";

const CASES = path.join(ROOT, "test", "golden", "cases");
const built = (await ensureBinary("linux-x64")) as { bin: string; archive: string; manifest: string };
// alone in a folder of its own, and PATH holding only that folder: no node, no npm, no node_modules
const alone = workdir();
const exe = path.join(alone, "vllmapp");
copyFileSync(built.bin, exe);

const home = workdir();

/** The binary, or (npm) the npm build with this machine's node, in the same environment otherwise. */
function run(which: "binary" | "npm", args: string[], cwd: string): { code: number; stdout: string; stderr: string } {
  const env = { PATH: which === "binary" ? alone : process.env.PATH, HOME: home, CI: "1", NO_COLOR: "1" };
  const [cmd, ...pre] = which === "binary" ? [exe] : [process.execPath, BIN];
  const r = spawnSync(cmd!, [...pre, ...args], { cwd, env, encoding: "utf8", timeout: 60_000 });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test("the binary runs with no Node.js on PATH: node is not found there, vllmapp --version is", () => {
  const which = spawnSync("/bin/sh", ["-c", "command -v node"], { env: { PATH: alone }, encoding: "utf8" });
  assert.notEqual(which.status, 0, "no node on the binary's PATH");
  assert.equal(which.stdout, "");
  const r = run("binary", ["--version"], alone);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\d+\.\d+\.\d+\nvLLM serve catalogs: .*\ndefault image: /);
  assert.equal(r.stdout, run("npm", ["--version"], alone).stdout);
  assert.equal(r.stderr, "");
});

test("--help and a usage error: the same bytes and exit codes as the npm build", () => {
  for (const args of [["--help"], ["render", "--help"], ["deploy", "--help"], ["render", "--no-such-flag"]]) {
    const b = run("binary", args, alone);
    const n = run("npm", args, alone);
    assert.deepEqual(b, n, `vllmapp ${args.join(" ")}`);
  }
});

const cases = readdirSync(CASES).sort();
test(`every golden case renders to the same bytes as the npm build, -o yaml and -o json (${cases.length} apps)`, () => {
  assert.ok(cases.length >= 10, "the golden cases are there");
  for (const name of cases) {
    const dir = path.join(CASES, name);
    const extra = existsSync(path.join(dir, "args"))
      ? readFileSync(path.join(dir, "args"), "utf8").trim().split(/\s+/)
      : [];
    for (const format of ["yaml", "json"]) {
      const args = ["render", "--dry-run", "-o", format, ...extra];
      const b = run("binary", args, dir);
      const n = run("npm", args, dir);
      assert.equal(b.code, n.code, `${name} -o ${format}: exit code\n${b.stderr}`);
      assert.equal(b.stdout, n.stdout, `${name} -o ${format}: stdout`);
      assert.equal(b.stderr, n.stderr, `${name} -o ${format}: stderr`);
      assert.ok(b.stdout.length > 100, `${name} -o ${format} rendered something`);
    }
  }
});

test("README's binary install block, run as written against the build's files (file:// for the release URL)", () => {
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
  const block = /<!-- install:binary[^>]*-->\n```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block, "README has the install:binary block");
  const version = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).version as string;
  assert.match(block, new RegExp(`^V=${version.replace(/\./g, "\\.")} `, "m"), "the block names the package's version");
  // the release, as its download folder: v<version>/{archive, SHA256SUMS}
  const releases = workdir();
  mkdirSync(path.join(releases, `v${version}`));
  for (const f of [built.archive, path.join(path.dirname(built.archive), "SHA256SUMS")])
    copyFileSync(f, path.join(releases, `v${version}`, path.basename(f)));
  const script = block.replace("https://github.com/ORG/vllmapp/releases/download", `file://${releases}`);
  assert.notEqual(script, block, "the block downloads from the release URL");
  const user = workdir();
  const r = spawnSync("bash", ["-euo", "pipefail", "-c", script], {
    cwd: workdir(),
    env: { HOME: user, PATH: `${path.join(user, ".local", "bin")}:/usr/bin:/bin` },
    encoding: "utf8",
    timeout: 120_000,
  });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /: OK$/m, "sha256sum checked the archive");
  assert.match(
    r.stdout,
    new RegExp(`^${version.replace(/\./g, "\\.")}\\nvLLM serve catalogs: `, "m"),
    "the installed vllmapp runs",
  );
});
