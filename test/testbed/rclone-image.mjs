// The rclone image the model-download init container names (templates/kubernetes/model-download.yaml,
// `image: rclone/rclone:<tag>`), built here from rclone's Go module at that tag, never pulled.
//
//   import { ensureRcloneImage } from './rclone-image.mjs';
//   const { tag, archive, version } = await ensureRcloneImage({ log, dockerEnv });
//     log        (msg) => void (default: stderr)
//     dockerEnv  env for the docker CLI, or null/false to only build the archive
//   → tag      exactly the templated image, e.g. 'rclone/rclone:1.71.1'
//     archive  '<cacheRoot()>/rclone-<version>-<hash16>/image.tar' (docker-archive: `docker load -i`,
//              `ctr images import`)
//
// Image: a static rclone (CGO_ENABLED=0, -trimpath, version stamped) at /usr/local/bin/rclone, the host's
// CA bundle at /etc/ssl/certs/ca-certificates.crt, /etc/passwd, /tmp; ENTRYPOINT ["rclone"],
// WORKDIR /data, XDG_CONFIG_HOME=/config (as rclone's own image). No shell: the template runs
// `command: [rclone]` and `docker run IMAGE copy ...` uses the entrypoint.
// Go module: test/cluster/tools/rclone (go.mod/go.sum pin github.com/rclone/rclone at the same tag; a
// mismatch is an error). Cache key: the tag + go.mod/go.sum + this recipe. The engine lacking our build of
// the tag (checked by its label) → `docker load`; an image of that tag from elsewhere is then left untagged,
// not removed.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { cacheRoot, run, which, TestbedError } from "./lib.mjs";
import { packDockerArchive } from "./docker-archive.mjs";

// not lib.mjs's REPO_ROOT: lib.mjs imports this module, so its constants are not set yet at this point
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const TOOLS = path.join(REPO_ROOT, "test/cluster/tools/rclone");
const TEMPLATE = path.join(REPO_ROOT, "templates/kubernetes/model-download.yaml");
const RECIPE_VERSION = "rclone-image-v1";

/** The image the template names, and its version (`rclone/rclone:1.71.1` → `1.71.1`). */
export function templatedRcloneImage() {
  const m = /^image:\s*["']?(rclone\/rclone:v?(\d+\.\d+\.\d+))["']?\s*$/m.exec(fs.readFileSync(TEMPLATE, "utf8"));
  if (!m) throw new TestbedError(`${TEMPLATE} names no rclone/rclone:<x.y.z> image`);
  return { tag: /** @type {string} */ (m[1]), version: /** @type {string} */ (m[2]) };
}

/** @param {string} tag */
function recipeHash(tag) {
  const h = crypto.createHash("sha256");
  h.update(`${RECIPE_VERSION}\0${tag}\0`);
  for (const f of ["go.mod", "go.sum"]) h.update(fs.readFileSync(path.join(TOOLS, f)));
  h.update(fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), "docker-archive.mjs")));
  return h.digest("hex").slice(0, 16);
}

/** @param {string} version @param {string} hash */
function imageConfig(version, hash) {
  return {
    Env: ["PATH=/usr/local/bin:/usr/bin:/bin", "XDG_CONFIG_HOME=/config", "HOME=/root"],
    Entrypoint: ["rclone"],
    WorkingDir: "/data",
    Labels: { "vllmapp.rclone-image": hash, "org.opencontainers.image.version": version },
  };
}

/**
 * @param {{ dir: string, archive: string, tag: string, version: string, hash: string,
 *   log: (m: string) => unknown }} opts
 */
async function build({ dir, archive, tag, version, hash, log }) {
  const gomod = fs.readFileSync(path.join(TOOLS, "go.mod"), "utf8");
  if (!new RegExp(`^\\s*github\\.com/rclone/rclone v${version.replaceAll(".", "\\.")}\\b`, "m").test(gomod)) {
    throw new TestbedError(
      `test/cluster/tools/rclone/go.mod does not require github.com/rclone/rclone v${version} (the template names ${tag}): run there: go get -tool github.com/rclone/rclone@v${version}`,
    );
  }
  if (!which("go")) throw new TestbedError("go is needed to build rclone (test/cluster/tools/rclone)");
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const root = path.join(tmp, "rootfs");
  for (const d of ["usr/local/bin", "etc/ssl/certs", "tmp", "data", "config", "root"])
    fs.mkdirSync(path.join(root, d), { recursive: true });
  for (const d of ["tmp", "data", "config"]) fs.chmodSync(path.join(root, d), 0o1777);
  fs.writeFileSync(
    path.join(root, "etc/passwd"),
    "root:x:0:0:root:/root:/usr/local/bin/rclone\nnobody:x:65534:65534:nobody:/nonexistent:/usr/local/bin/rclone\n",
  );
  fs.writeFileSync(path.join(root, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
  fs.copyFileSync("/etc/ssl/certs/ca-certificates.crt", path.join(root, "etc/ssl/certs/ca-certificates.crt"));
  const t0 = Date.now();
  log(`building rclone v${version} from its Go module (cold: a few minutes on 2 cores)`);
  const bin = path.join(root, "usr/local/bin/rclone");
  try {
    await run(
      "go",
      [
        "build",
        "-trimpath",
        "-ldflags",
        `-s -w -X github.com/rclone/rclone/fs.Version=v${version}`,
        "-o",
        bin,
        "github.com/rclone/rclone",
      ],
      {
        cwd: TOOLS,
        env: { ...process.env, CGO_ENABLED: "0", GOTOOLCHAIN: "local", GOFLAGS: "-buildvcs=false" },
        timeoutMs: 1_800_000,
      },
    );
    const v = await run(bin, ["version"]);
    if (!v.stdout.startsWith(`rclone v${version}`))
      throw new TestbedError(`built rclone says ${v.stdout.split("\n")[0]}, not v${version}`);
    log(`rclone built in ${((Date.now() - t0) / 1000).toFixed(0)} s (${(fs.statSync(bin).size / 1e6).toFixed(1)} MB)`);
    await packDockerArchive({
      rootfs: root,
      out: path.join(tmp, "image.tar"),
      tag,
      config: imageConfig(version, hash),
    });
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  if (!fs.existsSync(archive)) throw new TestbedError(`rclone image build left no ${archive}`);
}

/**
 * Build (when missing) the rclone image archive and load it into the engine when it lacks our build.
 * @param {{ log?: (m: string) => unknown, dockerEnv?: NodeJS.ProcessEnv | null }} [opts] dockerEnv null: no docker load
 */
export async function ensureRcloneImage({
  log = (m) => process.stderr.write(`[rclone-image] ${m}\n`),
  dockerEnv = process.env,
} = {}) {
  const { tag, version } = templatedRcloneImage();
  const hash = recipeHash(tag);
  const dir = path.join(cacheRoot(), `rclone-${version}-${hash}`);
  const archive = path.join(dir, "image.tar");
  if (!fs.existsSync(archive)) await build({ dir, archive, tag, version, hash, log });
  if (dockerEnv) {
    const r = await run(
      "docker",
      ["image", "inspect", "--format", '{{index .Config.Labels "vllmapp.rclone-image"}}', tag],
      { env: dockerEnv, allowFail: true },
    );
    if (r.code !== 0 || r.stdout.trim() !== hash) {
      log(`docker load ${archive}`);
      await run("docker", ["load", "-i", archive], { env: dockerEnv, timeoutMs: 300_000 });
    }
  }
  return { tag, archive, version };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const t0 = Date.now();
  const r = await ensureRcloneImage({ dockerEnv: process.argv.includes("--no-docker") ? null : process.env });
  process.stderr.write(`[rclone-image] done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  process.stdout.write(`RCLONE_IMAGE=${r.tag}\nRCLONE_IMAGE_ARCHIVE=${r.archive}\n`);
}
