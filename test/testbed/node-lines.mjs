// @ts-check
// The Node.js lines vllmapp supports (package.json "engines"; README "Install"), and the official Node.js
// binaries for them, provisioned from the npm registry (the `node-<os>-<arch>` packages hold them) into the
// test bed's cache when the machine's `node` is another version. `npm test` runs the whole suite on the
// newest line and the unit, golden and end-to-end tests on the older one; `npm run build:binary` embeds
// the newest line's binary of each platform in the single executable.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { cacheRoot } from "./lib.mjs";

const run = promisify(execFile);

/**
 * Pinned so a cached binary is the one the suite last ran on; bump with a patch release.
 * @type {Record<number, string>}
 */
export const NODE_LINES = { 24: "24.22.3", 22: "22.23.5" };
/** The line the whole suite, the benchmarks and the single executable use. */
export const MAIN_LINE = 24;

/**
 * The machine's own node when it is of `line`, else null.
 * @param {number} line
 */
function ownNode(line) {
  return Number(process.versions.node.split(".")[0]) === Number(line) ? process.execPath : null;
}

/**
 * The path of a `node` binary of `version` for `platform`-`arch` (npm's names: linux/darwin/win, x64/arm64),
 * from the cache, fetched with `npm pack node-<platform>-<arch>@<version>` when missing. Concurrent callers
 * each unpack into a folder of their own and rename it into place: the first one wins.
 * @param {string} version
 */
export async function ensureNodeBinary(version, platform = "linux", arch = "x64", root = cacheRoot()) {
  const dir = path.join(root, `node-v${version}-${platform}-${arch}`);
  const exe = path.join(dir, "bin", platform === "win" ? "node.exe" : "node");
  if (fs.existsSync(exe)) return exe;
  fs.mkdirSync(root, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(root, `.node-v${version}-${platform}-${arch}-`));
  try {
    const pkg = `node-${platform}-${arch}@${version}`;
    const pack = await run("npm", ["pack", pkg, "--silent", "--pack-destination", tmp], {
      env: { ...process.env, npm_config_update_notifier: "false" },
    });
    const tgz = path.join(tmp, /** @type {string} */ (pack.stdout.trim().split("\n").pop()));
    const out = path.join(tmp, "out");
    fs.mkdirSync(out);
    await run("tar", ["xzf", tgz, "-C", out, "--strip-components=1", "package/bin", "package/LICENSE"]);
    if (!fs.existsSync(path.join(out, "bin", path.basename(exe))))
      throw new Error(`${pkg} holds no bin/${path.basename(exe)}`);
    try {
      fs.renameSync(out, dir);
    } catch (e) {
      if (!fs.existsSync(exe)) throw e; // another run put it there first
    }
    return exe;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * A `node` of the supported `line` (22, 24) for this machine: its own when it is of that line, else a cached one.
 * @param {number} line
 */
export async function nodeForLine(line) {
  const own = ownNode(line);
  if (own) return own;
  const version = NODE_LINES[line];
  if (!version) throw new Error(`no pinned Node.js version for line ${line} (test/testbed/node-lines.mjs NODE_LINES)`);
  const arch = /** @type {Partial<Record<string, string>>} */ ({ x64: "x64", arm64: "arm64" })[os.arch()];
  if (process.platform !== "linux" || !arch)
    throw new Error(`no Node.js binary to provision for ${process.platform}-${os.arch()}`);
  return ensureNodeBinary(version, "linux", arch);
}
