#!/usr/bin/env node
// `npm prepare`: build dist/ (bin/build.mjs). Run by `npm ci` in a clone, by `npm pack`, and by npm when
// vllmapp is installed from git (a project's dependency, or `npm pack git+…`): npm then installs the
// clone's devDependencies first and the build finds esbuild. Where it does not (npm 10 and 11 prepare a
// *global* git install with an `npm install` that inherits --global, npm/cli#6984), the build runs in a
// scratch copy of the package with its own `npm ci` (from the lockfile, scripts off, so no recursion),
// and dist/ is copied back: prepare never fails for want of esbuild. (Those global installs still end as
// a dangling link, npm's doing after prepare; README "Install" gives the way around.)
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
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

if (hasBuildDeps()) {
  run(root, process.execPath, [build]);
} else {
  process.stderr.write(
    "vllmapp: building in a scratch copy with its own dependencies (npm prepares a git dependency without them)\n",
  );
  const scratch = mkdtempSync(path.join(tmpdir(), "vllmapp-build-"));
  try {
    const skip = new Set(["node_modules", ".git", "dist"]);
    cpSync(root, scratch, {
      recursive: true,
      filter: (src) => path.dirname(src) !== path.resolve(root) || !skip.has(path.basename(src)),
    });
    // the outer npm's global/prefix/omit settings must not steer this install out of the scratch folder
    const env = Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) =>
          !/^npm_config_(global|prefix|location|omit|include|production|only|dry_run|package_lock_only)$/i.test(k),
      ),
    );
    const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ["npm"];
    run(
      scratch,
      npm[0],
      [
        ...npm.slice(1),
        "ci",
        "--global=false",
        `--prefix=${scratch}`,
        "--include=dev",
        "--include=optional",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
      ],
      env,
    );
    run(scratch, process.execPath, [build]);
    rmSync(path.join(root, "dist"), { recursive: true, force: true });
    cpSync(path.join(scratch, "dist"), path.join(root, "dist"), { recursive: true });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
