#!/usr/bin/env node
// `npm run build:binary [-- --target linux-x64,linux-arm64] [--out DIR]`: vllmapp as one executable file per
// platform (Node.js single executable applications), for people who install their tools as binaries.
// - The main script is small (src/sea-launch.ts): `vllmapp`, `--help` (to a pipe) and `--version` print
//   texts fixed at build time, so those runs cost what Node's own start-up costs. The program is a CommonJS
//   bundle (src/sea.ts), an asset, with everything it can load bundled: the binary has no node_modules
//   beside it. Every other command compiles it with a V8 code cache made at build time, after a warm-up
//   render (src/sea-cache.ts), so the functions a render runs are not compiled again. The packages only
//   some commands load (client-node, the AWS SDK, the Hub client, prompts, ora) are bundles of their own,
//   embedded as assets and compiled on first use. The vLLM serve catalogs are assets (src/package-files.ts),
//   the Kubernetes templates are parsed into the bundle (as for npm).
// - No V8 start-up snapshot: a run deserialises the whole snapshot before any code runs, and the program's
//   heap in it made `--help` cost 2× `node -e 0` (BENCHMARKS.md "Start-up" has the numbers of both designs).
//   The code cache and the fixed texts are made by the node binary that will run them: linux-arm64's under
//   qemu-user (Debian's qemu-user-static) on x64.
// - The node binaries are the official ones of the newest supported line, from the npm registry
//   (test/testbed/node-lines.mjs). The blob is injected with postject.
// Writes DIR/vllmapp-<version>-<os>-<arch> (executable), DIR/vllmapp-<version>-<os>-<arch>.tar.gz (the
// binary as `vllmapp`, and the LICENSE: what the krew manifest points at), DIR/SHA256SUMS and
// DIR/vllmapp.krew.yaml (bin/krew-manifest.mjs). DIR defaults to build/binary/.
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { startupPlugin } from "./esbuild-startup.mjs";
import { krewManifest, sha256File } from "./krew-manifest.mjs";
import { NODE_LINES, MAIN_LINE, ensureNodeBinary } from "../test/testbed/node-lines.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));
const { values: opts } = parseArgs({
  options: {
    target: { type: "string", default: "linux-x64,linux-arm64" },
    out: { type: "string", default: path.join(ROOT, "build", "binary") },
  },
});
const targets = opts.target
  .split(",")
  .map((t) => t.trim())
  .filter(Boolean);
const out = path.resolve(opts.out);
const work = path.join(out, ".work");
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

/** The node binary of a target, and how to run it on this machine (natively or under qemu-user). */
const QEMU = { arm64: "qemu-aarch64-static", x64: "qemu-x86_64-static" };
const hostArch = os.arch();
async function nodeFor(target) {
  const [platform, arch] = target.split("-");
  if (platform !== "linux") throw new Error(`${target}: only linux targets are built here (README "Install" says why)`);
  const exe = await ensureNodeBinary(NODE_LINES[MAIN_LINE], platform, arch);
  const runner = arch === hostArch ? [exe] : [QEMU[arch], exe];
  return { exe, runner };
}

// ---- the bundle (the same for every target)
const templatesDir = path.join(ROOT, "templates", "kubernetes");
const { parse: parseYaml } = await import("yaml");
const defaultTemplates = Object.fromEntries(
  readdirSync(templatesDir)
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => [f, parseYaml(readFileSync(path.join(templatesDir, f), "utf8"))]),
);
// ---- the packages only some commands load (VENDOR): a bundle each, an asset of the binary, compiled when
// a command first imports it. Kept out of the program's bundle, they are not read, compiled or in its code
// cache, whose size every command but the fixed texts pays for (BENCHMARKS.md "Start-up").
const VENDOR = ["@kubernetes/client-node", "@aws-sdk/client-s3", "@huggingface/hub", "@inquirer/prompts", "ora"];
const vendorFile = (name) => `vendor/${name.replace(/^@/, "").replace(/\//g, "-")}.cjs`;
const main = path.join(work, "vllmapp.cjs");
const common = {
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node24",
  // short identifiers: a smaller source to read and code cache to check; names kept for error classes and
  // stack traces
  minify: true,
  keepNames: true,
  define: {
    VLLMAPP_VERSION: JSON.stringify(pkg.version),
    VLLMAPP_DEFAULT_TEMPLATES: JSON.stringify(defaultTemplates),
    VLLMAPP_SEA: "true",
    // the package folder the npm build looks for next to its code: the binary has none (its files are assets)
    "import.meta.url": "__vllmappUrl",
  },
  banner: { js: 'var __vllmappUrl = "file:///vllmapp-single-executable/dist/cli.js";' },
  logLevel: "warning",
};
await build({
  ...common,
  entryPoints: [path.join(ROOT, "src", "sea.ts")],
  outfile: main,
  plugins: [vendorPlugin(), startupPlugin({ lazy: "bundled" })],
});
// the binary's main script, and what makes the code cache at build time (src/sea-launch.ts, src/sea-cache.ts)
const launcher = path.join(work, "sea-launch.cjs");
await build({ ...common, entryPoints: [path.join(ROOT, "src", "sea-launch.ts")], outfile: launcher });
const cacheMaker = path.join(work, "sea-cache.mjs");
await build({ ...common, format: "esm", entryPoints: [path.join(ROOT, "src", "sea-cache.ts")], outfile: cacheMaker });
const vendorDir = path.join(work, "vendor-root");
for (const name of VENDOR) {
  const entry = path.join(work, `${vendorFile(name).replace(/[/.]/g, "_")}.cjs`);
  writeFileSync(entry, `module.exports = require(${JSON.stringify(name)});\n`);
  await build({
    ...common,
    entryPoints: [entry],
    outfile: path.join(vendorDir, vendorFile(name)),
    absWorkingDir: ROOT,
    nodePaths: [path.join(ROOT, "node_modules")],
    plugins: [startupPlugin({ lazy: "bundled" })],
  });
}

/** In the main bundle, an import of a VENDOR package from vllmapp's code loads the package's asset (on first use). */
function vendorPlugin() {
  return {
    name: "vllmapp-vendor",
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) =>
        VENDOR.includes(args.path) && args.importer.startsWith(path.join(ROOT, "src"))
          ? { path: args.path, namespace: "vllmapp-vendor" }
          : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: "vllmapp-vendor" }, (args) => ({
        contents: `module.exports = require("vllmapp-vendor-loader")(${JSON.stringify(vendorFile(args.path))});`,
        loader: "js",
        resolveDir: ROOT,
      }));
      b.onResolve({ filter: /^vllmapp-vendor-loader$/ }, () => ({
        path: "loader",
        namespace: "vllmapp-vendor-loader",
      }));
      b.onLoad({ filter: /.*/, namespace: "vllmapp-vendor-loader" }, () => ({
        // the single executable's require loads built-in modules only: a vendor bundle requires nothing else
        contents: `const cache = new Map();
module.exports = (rel) => {
  let m = cache.get(rel);
  if (m) return m.exports;
  const sea = require("node:sea");
  const root = process.env.VLLMAPP_SEA_BUILD_VENDOR;
  const src = sea.isSea() || !root ? sea.getAsset(rel, "utf8") : require("node:fs").readFileSync(require("node:path").join(root, rel), "utf8");
  const filename = "/vllmapp-single-executable/" + rel;
  const fn = require("node:vm").compileFunction(src, ["exports", "require", "module", "__filename", "__dirname"], { filename });
  m = { exports: {} };
  cache.set(rel, m);
  fn.call(m.exports, m.exports, require, m, filename, "/vllmapp-single-executable/vendor");
  return m.exports;
};`,
        loader: "js",
      }));
    },
  };
}

// ---- the assets: templates/vllm/catalogs/*.json under their package paths
const catalogs = path.join(ROOT, "templates", "vllm", "catalogs");
const assets = Object.fromEntries(
  readdirSync(catalogs)
    .filter((f) => f.endsWith(".json"))
    .map((f) => [`templates/vllm/catalogs/${f}`, path.join(catalogs, f)]),
);
for (const name of VENDOR) assets[vendorFile(name)] = path.join(vendorDir, vendorFile(name));

const artifacts = [];
for (const target of targets) {
  const { exe, runner } = await nodeFor(target);
  const blob = path.join(work, `${target}.blob`);
  const config = path.join(work, `${target}.sea.json`);
  // the code cache and the fixed texts, made by the target's node (src/sea-cache.ts); the warm-up reads the
  // catalogs from the package folder
  const made = path.join(work, target);
  mkdirSync(made);
  const env = { ...process.env, VLLMAPP_SEA_BUILD_ROOT: ROOT, VLLMAPP_SEA_BUILD_VENDOR: vendorDir };
  execFileSync(runner[0], [...runner.slice(1), cacheMaker, main, made], {
    cwd: work,
    env,
    stdio: ["ignore", "inherit", "inherit"],
  });
  const targetAssets = { ...assets, "vllmapp.cjs": main };
  for (const f of ["vllmapp.cjs.cache", "help.txt", "version.txt"]) targetAssets[f] = path.join(made, f);
  writeFileSync(
    config,
    JSON.stringify(
      {
        main: launcher,
        output: blob,
        disableExperimentalSEAWarning: true,
        useCodeCache: true,
        assets: targetAssets,
      },
      null,
      2,
    ),
  );
  execFileSync(runner[0], [...runner.slice(1), "--experimental-sea-config", config], {
    cwd: work,
    env,
    stdio: ["ignore", "ignore", "inherit"],
  });
  const name = `vllmapp-${pkg.version}-${target}`;
  const bin = path.join(out, name);
  copyFileSync(exe, bin);
  chmodSync(bin, 0o755);
  const postject = path.join(ROOT, "node_modules", "postject", "dist", "cli.js");
  execFileSync(
    process.execPath,
    [postject, bin, "NODE_SEA_BLOB", blob, "--sentinel-fuse", "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2"],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  // the krew/download archive: the binary as `vllmapp`, and the license
  const stage = path.join(work, name);
  mkdirSync(stage);
  copyFileSync(bin, path.join(stage, "vllmapp"));
  chmodSync(path.join(stage, "vllmapp"), 0o755);
  if (existsSync(path.join(ROOT, "LICENSE"))) copyFileSync(path.join(ROOT, "LICENSE"), path.join(stage, "LICENSE"));
  const tgz = path.join(out, `${name}.tar.gz`);
  execFileSync("tar", ["czf", tgz, "--owner=0", "--group=0", "--mtime=@0", "-C", stage, "."]);
  artifacts.push({ target, bin, tgz });
  process.stderr.write(
    `build:binary: ${path.relative(ROOT, bin)} (${(readFileSync(bin).length / 1e6).toFixed(1)} MB), ${path.basename(tgz)}\n`,
  );
}

const sums = artifacts.flatMap((a) => [a.bin, a.tgz]).map((f) => `${sha256File(f)}  ${path.basename(f)}`);
writeFileSync(path.join(out, "SHA256SUMS"), `${sums.join("\n")}\n`);
writeFileSync(
  path.join(out, "vllmapp.krew.yaml"),
  krewManifest(
    pkg.version,
    artifacts.map((a) => ({ target: a.target, archive: a.tgz })),
  ),
);
rmSync(work, { recursive: true, force: true });
