// The test bed's OCI registry: distribution's `registry` (github.com/distribution/distribution/v3, the
// version test/cluster/tools/registry/go.mod pins), built from its Go module into the cache, serving plain
// HTTP on 127.0.0.1:<free port> with its storage in the cache (pushed layers survive the run, so a warm
// bring-up pushes nothing: `docker push` finds every layer there). The vLLM and rclone images are pushed
// into it from the test bed's Docker engine, so a pod that names the registry's copy makes the real node's
// kubelet really pull it: Pulling/Pulled events with the image's size, a pull phase with real bytes.
//
//   const bin = await ensureRegistryBinary({ log });                 cached build, cold: ~3-5 min on 2 cores
//   const reg = await startRegistry(ctx, { bin });                    → { host: '127.0.0.1:PORT', storage }
//   const refs = await pushImages({ host, images, dockerEnv, log }); [{ tag, repo }] → registry refs
//   await forgetImages(ctx, sock, (ref) => bool);                     the node's containerd forgets images and their layers
//   await forgetRegistryImages(ctx, sock);                            … the registry copies any run pulled
//
// Plain HTTP needs no configuration: dockerd treats 127.0.0.0/8 as an insecure registry by default
// (`docker info`: "Insecure Registries: 127.0.0.0/8"), and the node's containerd (1.6, CRI, config_path set)
// is given a hosts.toml naming the http:// endpoint (test/testbed/README.md says why). Neither goes through
// the test bed's dead HTTP proxy: Go's proxy logic never proxies a loopback address.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { cacheRoot, run, which, TestbedError } from "./lib.mjs";

/** @typedef {import("./lib.mjs").TestbedContext} TestbedContext */

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const TOOLS = path.join(REPO_ROOT, "test/cluster/tools/registry");
const MODULE = "github.com/distribution/distribution/v3";
/** The repository prefix of what the test bed pushes: `<host>/vllmapp/<name>:<tag>`. */
export const REGISTRY_PREFIX = "vllmapp";

/** The pinned version (go.mod's require line). */
export function registryVersion() {
  const m = new RegExp(`^\\s*${MODULE.replaceAll(".", "\\.")} (v\\S+)`, "m").exec(
    fs.readFileSync(path.join(TOOLS, "go.mod"), "utf8"),
  );
  if (!m) throw new TestbedError(`test/cluster/tools/registry/go.mod does not require ${MODULE}`);
  return /** @type {string} */ (m[1]);
}

function recipeHash() {
  const h = crypto.createHash("sha256");
  for (const f of ["go.mod", "go.sum"]) h.update(fs.readFileSync(path.join(TOOLS, f)));
  return h.digest("hex").slice(0, 16);
}

/**
 * Build the registry binary into <cacheRoot>/registry-<version>-<hash>/registry when missing.
 * @param {{ log?: (m: string) => unknown }} [opts]
 */
export async function ensureRegistryBinary({ log = (m) => process.stderr.write(`[registry] ${m}\n`) } = {}) {
  const version = registryVersion();
  const dir = path.join(cacheRoot(), `registry-${version}-${recipeHash()}`);
  const bin = path.join(dir, "registry");
  if (fs.existsSync(path.join(dir, ".complete"))) return { bin, version };
  if (!which("go")) throw new TestbedError("go is needed to build the OCI registry (test/cluster/tools/registry)");
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  const t0 = Date.now();
  log(
    `building the OCI registry (${MODULE}/cmd/registry ${version}) from its Go module (cold: a few minutes on 2 cores)`,
  );
  try {
    await run(
      "go",
      ["build", "-trimpath", "-ldflags", "-s -w", "-o", path.join(tmp, "registry"), `${MODULE}/cmd/registry`],
      {
        cwd: TOOLS,
        env: { ...process.env, CGO_ENABLED: "0", GOTOOLCHAIN: "local", GOFLAGS: "-buildvcs=false" },
        timeoutMs: 1_800_000,
      },
    );
    const v = await run(path.join(tmp, "registry"), ["--version"]);
    if (!v.stdout.includes(version))
      throw new TestbedError(`the built registry says ${v.stdout.trim()}, not ${version}`);
    fs.writeFileSync(path.join(tmp, ".complete"), "");
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  log(`registry ${version} built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return { bin, version };
}

/**
 * Start the registry on a free loopback port, its storage in the cache; resolves once /v2/ answers.
 * @param {TestbedContext} ctx @param {{ bin: string, port: number }} opts
 */
export async function startRegistry(ctx, { bin, port }) {
  const storage = path.join(cacheRoot(), "registry-storage");
  fs.mkdirSync(storage, { recursive: true });
  const host = `127.0.0.1:${port}`;
  const dir = path.join(ctx.workDir, "registry");
  fs.mkdirSync(dir, { recursive: true });
  const config = path.join(dir, "config.yml");
  fs.writeFileSync(
    config,
    [
      "version: 0.1",
      "log: {level: warn, accesslog: {disabled: true}}",
      `storage: {filesystem: {rootdirectory: ${JSON.stringify(storage)}}, delete: {enabled: true}}`,
      `http: {addr: ${JSON.stringify(host)}, secret: ${JSON.stringify(crypto.randomBytes(16).toString("hex"))}}`,
      "",
    ].join("\n"),
  );
  // no tracing exporter: the registry would otherwise try an OTLP endpoint
  const proc = ctx.spawn("registry", bin, ["serve", config], { env: { ...process.env, OTEL_TRACES_EXPORTER: "none" } });
  await ctx.waitForHttp(`the registry on ${host}`, `http://${host}/v2/`, { timeoutMs: 30_000, proc });
  ctx.state.registry = { host, storage };
  ctx.save();
  return { host, storage };
}

/** The registry's name for a local image: `vllmapp-vllm-cpu:0.32.0-x` → `<host>/vllmapp/vllm-cpu:0.32.0-x`, `rclone/rclone:1.71.1` → `<host>/vllmapp/rclone:1.71.1`. */
export function registryRef(/** @type {string} */ host, /** @type {string} */ tag) {
  const last = /** @type {string} */ (tag.split("/").at(-1)).replace(/^vllmapp-/, "");
  return `${host}/${REGISTRY_PREFIX}/${last}`;
}

/**
 * Push each image as `registryRef`. What is pushed is a copy with one label more (`vllmapp.registry-copy`):
 * the same layers, another image ID, so the node's containerd never confuses it with the local image the
 * bring-up imports (removing one never touches the other). A layer the registry has is not sent again.
 * @param {{ host: string, images: string[], dockerEnv: NodeJS.ProcessEnv, log: (m: string) => unknown }} opts
 * @returns {Promise<Record<string, string>>} image tag → registry ref
 */
export async function pushImages({ host, images, dockerEnv, log }) {
  /** @type {Record<string, string>} */
  const refs = {};
  for (const tag of images) {
    const ref = registryRef(host, tag);
    const t0 = Date.now();
    const build = await run("docker", ["build", "-q", "-t", ref, "-"], {
      env: { ...dockerEnv, DOCKER_BUILDKIT: "0" },
      input: `FROM ${tag}\nLABEL vllmapp.registry-copy=${JSON.stringify(tag)}\n`,
      timeoutMs: 300_000,
    });
    if (build.code !== 0) throw new TestbedError(`docker build of the registry copy of ${tag} failed`);
    const r = await run("docker", ["push", ref], { env: dockerEnv, timeoutMs: 3_600_000 });
    const pushed = (r.stdout.match(/: Pushed/g) ?? []).length;
    const kept = (r.stdout.match(/: Layer already exists/g) ?? []).length;
    // the engine keeps only the local name: the registry's copy is for the pods to pull
    await run("docker", ["rmi", ref], { env: dockerEnv, allowFail: true });
    log(`pushed ${ref} in ${((Date.now() - t0) / 1000).toFixed(1)} s (${pushed} layers sent, ${kept} already there)`);
    refs[tag] = ref;
  }
  return refs;
}

/** The node's containerd reads registry settings per pull from its certs.d: plain HTTP for the registry. */
export function writeHostsToml(/** @type {string} */ certsDir, /** @type {string} */ host) {
  const dir = path.join(certsDir, host);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, "hosts.toml"),
    `server = "http://${host}"\n\n[host."http://${host}"]\n  capabilities = ["pull", "resolve"]\n`,
  );
}

/**
 * Forget images in the node's containerd: every reference whose name `match`es, and every other reference
 * to the same manifest (`name@digest`, the CRI's `sha256:<id>`), then wait for the garbage collector, so
 * their layers (blobs and unpacked snapshots) go unless a container still uses them. Returns the names.
 * @param {Pick<TestbedContext, "run">} ctx @param {string} sock the node's containerd socket
 * @param {(ref: string) => boolean} match
 */
export async function forgetImages(ctx, sock, match) {
  const c = ["--address", sock, "--namespace", "k8s.io"];
  const r = await ctx.run("ctr", [...c, "images", "ls"], { timeoutMs: 30_000 });
  const rows = r.stdout
    .split("\n")
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 3)
    .map(([ref, , digest]) => ({ ref: /** @type {string} */ (ref), digest }));
  const digests = new Set(rows.filter((x) => match(x.ref)).map((x) => x.digest));
  const stale = rows.filter((x) => digests.has(x.digest)).map((x) => x.ref);
  if (stale.length) await ctx.run("ctr", [...c, "images", "rm", "--sync", ...stale], { timeoutMs: 300_000 });
  return stale.filter((x) => match(x));
}

/** The registry copies any run pulled (any port): forgotten, the next pod that names one pulls its bytes again. */
export function forgetRegistryImages(/** @type {Pick<TestbedContext, "run">} */ ctx, /** @type {string} */ sock) {
  const mine = new RegExp(`^127\\.0\\.0\\.1:\\d+/${REGISTRY_PREFIX}/`);
  return forgetImages(ctx, sock, (ref) => mine.test(ref));
}

/** The layers of an image in the registry (schema 2 / OCI manifest), to tell whether a node fetched them. */
export async function registryLayers(/** @type {string} */ ref) {
  const m = /^([^/]+)\/(.+):([^:/]+)$/.exec(ref);
  if (!m) throw new TestbedError(`not a registry reference: ${ref}`);
  const res = await fetch(`http://${m[1]}/v2/${m[2]}/manifests/${m[3]}`, {
    headers: {
      accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json",
    },
  });
  if (!res.ok) throw new TestbedError(`GET the manifest of ${ref}: HTTP ${res.status}`);
  const manifest = /** @type {{ layers: { digest: string, size: number }[] }} */ (await res.json());
  return manifest.layers.map((l) => ({ digest: l.digest, size: l.size }));
}
