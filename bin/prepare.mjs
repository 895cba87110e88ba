#!/usr/bin/env node
// `npm prepare`: build dist/ (bin/build.mjs). Run by `npm ci` in a clone, by `npm pack`, and by npm when
// vllmapp is installed from git. For `npm install -g git+https://…`, npm prepares the clone with an
// `npm install` that inherits `--global` from the outer command: the clone's devDependencies (esbuild)
// are never installed, and its node_modules is npm's to fill meanwhile. Then the build runs in a scratch
// copy of the package with its own `npm ci` (from the lockfile, scripts off), and dist/ is copied back.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, unlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const build = path.join("bin", "build.mjs");

function hasBuildDeps() {
  try {
    createRequire(path.join(root, "package.json")).resolve("esbuild");
    return true;
  } catch {
    return false;
  }
}

function run(cwd, cmd, args, env = process.env) {
  const r = spawnSync(cmd, args, { cwd, stdio: ["ignore", "inherit", "inherit"], env });
  if (r.error) throw r.error;
  if (r.status !== 0) process.exit(r.status ?? 1);
}

/**
 * npm 10 and 11 prepare a git dependency of `npm install -g` with a nested `npm install` that inherits
 * `--global` (npm/cli#6984): it moves the outer install's folder aside and links the package's
 * global folder to the temporary clone, which npm deletes when it is done: the install ends as a
 * dangling link. Undo that here (in the nested install): the real folder back, with the dependencies
 * installed into the clone meanwhile. Touches only a link that points at this very folder.
 */
function undoNestedGlobalLink() {
  if (process.env.npm_config_global !== "true" || process.env._PACOTE_NO_PREPARE_ === undefined) return;
  const prefix = process.env.npm_config_global_prefix || process.env.npm_config_prefix;
  if (!prefix) return;
  const name = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")).name;
  const globalModules = process.platform === "win32" ? path.join(prefix, "node_modules") : path.join(prefix, "lib", "node_modules");
  const dest = path.join(globalModules, name);
  try {
    if (!lstatSync(dest).isSymbolicLink() || realpathSync(dest) !== realpathSync(root)) return;
  } catch {
    return;
  }
  unlinkSync(dest);
  // where npm's arborist retires a folder it replaces (its retire-path.js)
  const hash = createHash("sha1").update(path.resolve(dest)).digest("base64").replace(/[^a-zA-Z0-9]+/g, "").slice(0, 8);
  const retired = path.join(globalModules, `.${name}-${hash}`);
  if (existsSync(retired)) renameSync(retired, dest);
  else mkdirSync(dest, { recursive: true });
  const deps = path.join(root, "node_modules");
  if (existsSync(deps)) cpSync(deps, path.join(dest, "node_modules"), { recursive: true, force: false, verbatimSymlinks: true });
  process.stderr.write(`vllmapp: kept ${dest} a folder (npm/cli#6984)\n`);
}

undoNestedGlobalLink();
if (hasBuildDeps()) {
  run(root, process.execPath, [build]);
} else {
  process.stderr.write("vllmapp: building in a scratch copy with its own dependencies (npm prepares a git dependency without them)\n");
  const scratch = mkdtempSync(path.join(tmpdir(), "vllmapp-build-"));
  try {
    const skip = new Set(["node_modules", ".git", "dist"]);
    cpSync(root, scratch, { recursive: true, filter: (src) => path.dirname(src) !== path.resolve(root) || !skip.has(path.basename(src)) });
    // the outer npm's global/prefix/omit settings must not steer this install out of the scratch folder
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_config_(global|prefix|location|omit|include|production|only|dry_run|package_lock_only)$/i.test(k)));
    const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ["npm"];
    run(scratch, npm[0], [...npm.slice(1), "ci", "--global=false", `--prefix=${scratch}`, "--include=dev", "--include=optional", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], env);
    run(scratch, process.execPath, [build]);
    rmSync(path.join(root, "dist"), { recursive: true, force: true });
    cpSync(path.join(scratch, "dist"), path.join(root, "dist"), { recursive: true });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
