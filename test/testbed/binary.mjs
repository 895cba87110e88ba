// @ts-check
// The single executable (bin/build-binary.mjs) for the tests, built once per content of what goes into it
// and cached under the test bed's cache root: the tests that run it (test/e2e/binary.test.ts, krew) and the
// e2e suite run against it (VLLMAPP_TEST_BIN) share one build.
import { execFile } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { cacheRoot, REPO_ROOT } from "./lib.mjs";
import { NODE_LINES } from "./node-lines.mjs";

const run = promisify(execFile);
const INPUTS = [
  "src",
  "templates",
  "bin/build-binary.mjs",
  "bin/esbuild-startup.mjs",
  "bin/krew-manifest.mjs",
  "package-lock.json",
];

/** @param {string} target */
function inputsHash(target) {
  const h = crypto.createHash("sha256").update(`${target} ${JSON.stringify(NODE_LINES)}`);
  /** @param {string} rel */
  const walk = (rel) => {
    const full = path.join(REPO_ROOT, rel);
    if (fs.statSync(full).isDirectory()) for (const e of fs.readdirSync(full).sort()) walk(path.posix.join(rel, e));
    else h.update(rel).update(fs.readFileSync(full));
  };
  INPUTS.forEach(walk);
  return h.digest("hex").slice(0, 16);
}

/** { dir, bin, archive, manifest } of the `target` build (default linux-x64) for the current sources. */
export async function ensureBinary(target = "linux-x64") {
  const version = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")).version;
  const dir = path.join(cacheRoot(), `vllmapp-binary-${inputsHash(target)}`);
  const name = `vllmapp-${version}-${target}`;
  const paths = {
    dir,
    bin: path.join(dir, name),
    archive: path.join(dir, `${name}.tar.gz`),
    manifest: path.join(dir, "vllmapp.krew.yaml"),
  };
  if (fs.existsSync(paths.manifest)) return paths;
  fs.mkdirSync(cacheRoot(), { recursive: true });
  const tmp = fs.mkdtempSync(`${dir}.tmp-`);
  try {
    await run(process.execPath, [path.join(REPO_ROOT, "bin", "build-binary.mjs"), "--target", target, "--out", tmp], {
      cwd: REPO_ROOT,
      maxBuffer: 1 << 26,
    });
    try {
      fs.renameSync(tmp, dir);
    } catch (e) {
      if (!fs.existsSync(paths.manifest)) throw e; // another run built it first
    }
    return paths;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Pinned: krew's module version, built with `go install` once into the cache. */
export const KREW_VERSION = "v0.4.3";

/** The path of krew (sigs.k8s.io/krew/cmd/krew), built from its Go module into the cache when missing. */
export async function ensureKrew() {
  const dir = path.join(cacheRoot(), `krew-${KREW_VERSION}`);
  const exe = path.join(dir, "krew");
  if (fs.existsSync(exe)) return exe;
  fs.mkdirSync(cacheRoot(), { recursive: true });
  const tmp = fs.mkdtempSync(`${dir}.tmp-`);
  try {
    await run("go", ["install", `sigs.k8s.io/krew/cmd/krew@${KREW_VERSION}`], {
      env: { ...process.env, GOBIN: tmp, CGO_ENABLED: "0" },
      maxBuffer: 1 << 26,
    });
    try {
      fs.renameSync(tmp, dir);
    } catch (e) {
      if (!fs.existsSync(exe)) throw e;
    }
    return exe;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Install the linux-x64 build as a kubectl plugin into a fresh KREW_ROOT with krew; the env to run `kubectl vllmapp` with. */
/** @param {string} krewRoot */
export async function installPlugin(krewRoot) {
  const [krew, built] = await Promise.all([ensureKrew(), ensureBinary("linux-x64")]);
  const env = { ...process.env, KREW_ROOT: krewRoot, PATH: `${path.join(krewRoot, "bin")}:${process.env.PATH ?? ""}` };
  const r = await run(krew, ["install", `--manifest=${built.manifest}`, `--archive=${built.archive}`], { env });
  return { env, output: r.stdout + r.stderr };
}
