/**
 * Installing vllmapp as a user does (README "Install"), with the real npm: the packed tarball into a
 * fresh project, and the git repository (a bare clone of this one's HEAD) as a devDependency, whose
 * `prepare` builds dist/ on the user's machine. Each gives a working `npx vllmapp`. Needs the npm
 * registry for the dependencies (CI reaches it); a minute or two with a warm npm cache.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ROOT, workdir } from "../support/cli.ts";

function run(cmd: string, args: string[], cwd: string): string {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    npm_config_audit: "false",
    npm_config_fund: "false",
    npm_config_update_notifier: "false",
  };
  for (const k of Object.keys(env))
    if (/^npm_(lifecycle|package|config_(global|prefix|omit|include))/i.test(k)) delete env[k];
  const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8", timeout: 300_000 });
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")} in ${cwd}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function project(deps: Record<string, string>, key: "dependencies" | "devDependencies"): string {
  const dir = workdir();
  writeFileSync(
    path.join(dir, "package.json"),
    JSON.stringify({ name: "platform", version: "1.0.0", private: true, [key]: deps }, null, 2),
  );
  return dir;
}

function assertWorks(dir: string): void {
  assert.match(
    run("npx", ["--no-install", "vllmapp", "--version"], dir),
    /^\d+\.\d+\.\d+\nvLLM serve catalogs: .*\ndefault image: /,
  );
  assert.match(run("npx", ["--no-install", "vllmapp"], dir), /Get started: vllmapp init/);
}

test("npm pack, then npm install the tarball into a fresh project: npx vllmapp works", { timeout: 600_000 }, () => {
  const out = workdir();
  // --ignore-scripts: the tarball takes the dist/ the suite built from this tree; a `prepare` here would
  // rebuild dist/ and swap it under the CLI runs of the other Node.js line's pass (a lazily loaded chunk
  // then went missing: ENOENT dist/chunks/…). The git test below runs `prepare` in a clone of its own.
  run("npm", ["pack", "--ignore-scripts", "--pack-destination", out, "--silent"], ROOT);
  const tgz = readdirSync(out).find((f) => f.endsWith(".tgz"))!;
  assert.ok(tgz, "npm pack wrote a tarball");
  const dir = project({}, "dependencies");
  run("npm", ["install", "--prefer-offline", path.join(out, tgz)], dir);
  assertWorks(dir);
});

test("vllmapp from git as a devDependency: prepare builds it, npx vllmapp works", { timeout: 600_000 }, () => {
  const bare = path.join(workdir(), "vllmapp.git");
  run("git", ["clone", "--quiet", "--bare", ROOT, bare], ROOT);
  const dir = project({ vllmapp: `git+file://${bare}` }, "devDependencies");
  run("npm", ["install", "--prefer-offline"], dir);
  assertWorks(dir);
});
