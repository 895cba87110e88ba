// The test bed's OCI registry: distribution's `registry` (github.com/distribution/distribution/v3, the
// version test/cluster/tools/registry/go.mod pins), built from its Go module into the cache, serving plain
// HTTP on 127.0.0.1:<free port> with its storage in the cache (pushed blobs survive the run, so a warm
// bring-up pushes nothing: the manifest is there). The vLLM and rclone images are pushed into it straight
// from their docker-archives (pushArchive, layers uncompressed), so a pod that names the registry's copy
// makes the real node's kubelet really pull it: Pulling/Pulled events with the image's size, a pull phase
// with real bytes.
//
//   const bin = await ensureRegistryBinary({ log });                 cached build, cold: ~3-5 min on 2 cores
//   const reg = await startRegistry(ctx, { bin });                    → { host: '127.0.0.1:PORT', storage }
//   const ref = await pushArchive({ host, tag, archive, log });      a docker-archive → its registry copy
//   await forgetImages(ctx, sock, (ref) => bool);                     the node's containerd forgets images and their layers
//   await forgetRegistryImages(ctx, sock);                            … the registry copies any run pulled
//
// Plain HTTP needs no configuration: the push is our own HTTP client, and the node's containerd (1.6, CRI, config_path set)
// is given a hosts.toml naming the http:// endpoint (test/testbed/README.md says why). Neither goes through
// the test bed's dead HTTP proxy: Go's proxy logic never proxies a loopback address.
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import { pipeline } from "node:stream/promises";
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

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar";

/**
 * The entries of a docker-archive (the ustar files packDockerArchive writes): name → { offset, size } of the data.
 * Only the headers are read (the 6 GB layer is skipped, never read here).
 * @param {string} archive
 */
export function archiveEntries(archive) {
  /** @type {Map<string, { offset: number, size: number }>} */
  const entries = new Map();
  const fd = fs.openSync(archive, "r");
  try {
    const total = fs.fstatSync(fd).size;
    const h = Buffer.alloc(512);
    for (let pos = 0; pos + 512 <= total;) {
      fs.readSync(fd, h, 0, 512, pos);
      if (h.every((b) => b === 0)) break; // the end-of-archive blocks
      const name = h.subarray(0, 100).toString("utf8").replace(/\0.*$/s, "");
      const type = String.fromCharCode(h[156] ?? 0);
      if (type !== "0" && type !== "\0")
        throw new TestbedError(`${archive}: entry ${name} is not a plain file (type ${type})`);
      let size = 0;
      if ((h[124] ?? 0) & 0x80) for (let i = 125; i < 136; i++) size = size * 256 + (h[i] ?? 0);
      else size = parseInt(h.subarray(124, 136).toString("ascii").replace(/\0.*$/s, "").trim() || "0", 8);
      entries.set(name, { offset: pos + 512, size });
      pos += 512 + Math.ceil(size / 512) * 512;
    }
  } finally {
    fs.closeSync(fd);
  }
  return entries;
}

/**
 * One HTTP request to the registry (plain HTTP, loopback). `body`: bytes, or a file range streamed as is.
 * @param {string} method @param {URL} url
 * @param {{ headers?: Record<string, string | number>, body?: Buffer | { file: string, offset: number, size: number } }} [opts]
 * @returns {Promise<{ status: number, headers: import("node:http").IncomingHttpHeaders, text: string }>}
 */
function registryRequest(method, url, { headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const length = body === undefined ? 0 : Buffer.isBuffer(body) ? body.length : body.size;
    const req = http.request(url, { method, headers: { ...headers, "content-length": length } }, (res) => {
      /** @type {Buffer[]} */
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    if (body === undefined || Buffer.isBuffer(body)) req.end(body);
    else if (body.size === 0) req.end();
    else {
      const range = { start: body.offset, end: body.offset + body.size - 1, highWaterMark: 1 << 20 };
      // pipeline: a failed request (the registry stopped by a teardown) also closes the file
      pipeline(fs.createReadStream(body.file, range), req).catch(reject);
    }
  });
}

/**
 * Upload one blob unless the registry has it: HEAD, else POST an upload and PUT the bytes with the digest
 * (one monolithic PUT; the registry hashes what it receives and refuses a digest that does not match).
 * @param {string} base `http://host/v2/<name>` @param {string} digest
 * @param {Buffer | { file: string, offset: number, size: number }} body
 * @returns {Promise<boolean>} whether it was sent
 */
async function ensureBlob(base, digest, body) {
  const head = await registryRequest("HEAD", new URL(`${base}/blobs/${digest}`));
  if (head.status === 200) return false;
  const start = await registryRequest("POST", new URL(`${base}/blobs/uploads/`));
  if (start.status !== 202 || !start.headers.location)
    throw new TestbedError(`POST ${base}/blobs/uploads/: HTTP ${start.status} ${start.text.slice(0, 500)}`);
  const url = new URL(start.headers.location, base);
  url.searchParams.set("digest", digest);
  const put = await registryRequest("PUT", url, { headers: { "content-type": "application/octet-stream" }, body });
  if (put.status !== 201)
    throw new TestbedError(`PUT the blob ${digest} to ${base}: HTTP ${put.status} ${put.text.slice(0, 500)}`);
  return true;
}

/**
 * Push a docker-archive (one image, as packDockerArchive writes it) to the registry as `registryRef(host, tag)`,
 * straight from the file: no Docker engine, no compression. What is pushed is a copy with one label more
 * (`vllmapp.registry-copy`): the same layers, another config and so another image ID, so the node's containerd
 * never confuses it with the local image (removing one never touches the other). The layers go as they are in
 * the archive, uncompressed tars (OCI `layer.v1.tar`; their digest is the diff ID the config names, so nothing
 * is hashed here: the registry checks each digest as it stores the bytes). A blob the registry has is not sent
 * again; a manifest it already has under the tag (a warm run) ends the push at once.
 * @param {{ host: string, tag: string, archive: string, log: (m: string) => unknown }} opts
 * @returns {Promise<string>} the registry ref
 */
export async function pushArchive({ host, tag, archive, log }) {
  const t0 = Date.now();
  const ref = registryRef(host, tag);
  const m = /** @type {RegExpExecArray} */ (/^[^/]+\/(.+):([^:/]+)$/.exec(ref));
  const base = `http://${host}/v2/${m[1]}`;
  const entries = archiveEntries(archive);
  const entry = (/** @type {string} */ name) => {
    const e = entries.get(name);
    if (!e) throw new TestbedError(`${archive} has no ${name}`);
    return e;
  };
  const read = (/** @type {string} */ name) => {
    const e = entry(name);
    const buf = Buffer.alloc(e.size);
    const fd = fs.openSync(archive, "r");
    try {
      fs.readSync(fd, buf, 0, e.size, e.offset);
    } finally {
      fs.closeSync(fd);
    }
    return buf;
  };
  const [image] = /** @type {{ Config: string, Layers: string[] }[]} */ (JSON.parse(read("manifest.json").toString()));
  if (!image) throw new TestbedError(`${archive}: manifest.json names no image`);
  const config = JSON.parse(read(image.Config).toString());
  config.config = { ...config.config, Labels: { ...config.config?.Labels, "vllmapp.registry-copy": tag } };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDigest = `sha256:${crypto.createHash("sha256").update(configBytes).digest("hex")}`;
  const diffIds = /** @type {string[]} */ (config.rootfs?.diff_ids ?? []);
  if (diffIds.length !== image.Layers.length)
    throw new TestbedError(`${archive}: ${image.Layers.length} layers, ${diffIds.length} diff IDs in the config`);
  const layers = image.Layers.map((name, i) => ({ name, digest: /** @type {string} */ (diffIds[i]), ...entry(name) }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: configDigest, size: configBytes.length },
      layers: layers.map((l) => ({ mediaType: OCI_LAYER_TAR, digest: l.digest, size: l.size })),
    }),
  );
  const manifestDigest = `sha256:${crypto.createHash("sha256").update(manifest).digest("hex")}`;
  const have = await registryRequest("HEAD", new URL(`${base}/manifests/${m[2]}`), {
    headers: { accept: OCI_MANIFEST },
  });
  if (have.status === 200 && have.headers["docker-content-digest"] === manifestDigest) {
    log(`${ref}: already in the registry (${manifestDigest})`);
    return ref;
  }
  let sent = 0;
  let bytes = 0;
  for (const l of layers) {
    if (await ensureBlob(base, l.digest, { file: archive, offset: l.offset, size: l.size })) {
      sent++;
      bytes += l.size;
    }
  }
  if (await ensureBlob(base, configDigest, configBytes)) sent++;
  const put = await registryRequest("PUT", new URL(`${base}/manifests/${m[2]}`), {
    headers: { "content-type": OCI_MANIFEST },
    body: manifest,
  });
  if (put.status !== 201)
    throw new TestbedError(`PUT the manifest of ${ref}: HTTP ${put.status} ${put.text.slice(0, 500)}`);
  log(
    `pushed ${ref} from ${path.basename(path.dirname(archive))}/${path.basename(archive)} in ${((Date.now() - t0) / 1000).toFixed(1)} s (${sent} of ${layers.length + 1} blobs sent, ${(bytes / 1e9).toFixed(2)} GB of layers)`,
  );
  return ref;
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
