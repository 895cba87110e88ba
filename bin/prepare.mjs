#!/usr/bin/env node
// `npm prepare`: build dist/ (bin/build.mjs). Run by `npm ci` in a clone, by `npm pack`, and by npm when
// vllmapp is installed from git (`npm install -g git+https://…`). In that last case npm prepares the
// clone with an `npm install` that inherits `--global` from the outer command, so the clone's own
// dependencies (esbuild among them) are not installed where the build looks for them. Then this installs
// them into the clone first, from its lockfile, scripts off (no recursion into this prepare).
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(new URL("../package.json", import.meta.url));

function resolvable(name) {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

function run(cmd, args, env = process.env) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env });
  if (r.error) throw r.error;
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (!["esbuild", "yaml", "commander", "zod"].every(resolvable)) {
  process.stderr.write("vllmapp: installing the build's dependencies into the package folder first (npm installs a git dependency's without them)\n");
  // the outer npm's global/prefix settings must not steer this install out of the package folder
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_config_(global|prefix|location|omit|include|production|only|dry_run|package_lock_only)$/i.test(k)));
  const npm = process.env.npm_execpath ? [process.execPath, [process.env.npm_execpath]] : ["npm", []];
  run(npm[0], [...npm[1], "ci", "--global=false", "--location=project", `--prefix=${root}`, "--include=dev", "--include=optional", "--ignore-scripts", "--no-audit", "--no-fund"], env);
}
run(process.execPath, [fileURLToPath(new URL("build.mjs", import.meta.url))]);
