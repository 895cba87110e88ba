// A stand-in for the Hugging Face Hub (which the test machines cannot reach): it replays the responses
// recorded in test/fixtures/hf/<org>/<name>/ — info.json (GET /api/models/{repo}[/revision/{rev}], fields
// filtered by ?expand= as the Hub does), tree.json (GET /api/models/{repo}/tree/{rev}) and config.json
// (GET /{repo}/resolve/{rev}/config.json, with Range support). Gated repos answer 401 without a token and
// 403 for a token other than GRANTED_TOKEN, with the Hub's words. Exports HF_ENDPOINT (and POD_HF_ENDPOINT
// when the test bed has a pod bridge address, ctx.podHost: the server listens there too).
// Beside the recordings it serves real repos with real file downloads: publishHfRepo({ workDir, repo, dir })
// adds `repo` → the files of `dir` to <workDir>/hf-replay/repos.json, which the server re-reads when it
// changes. For those: /api/models/{repo}[/revision/{rev}] (sha, siblings), /api/models/{repo}/tree/{rev}[/{path}]
// (?recursive=), HEAD/GET /{repo}/resolve/{rev}/{file} with a quoted ETag, X-Repo-Commit, Content-Length,
// Accept-Ranges and, for weights (*.safetensors, *.bin, *.pt), X-Linked-Etag/X-Linked-Size; Range → 206;
// RepoNotFound 401, EntryNotFound 404, RevisionNotFound 404, as the Hub answers and huggingface_hub reads.
//   node test/testbed/servers/hf-replay.mjs PORT [REPOS_FILE] [EXTRA_HOST]
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineServer } from "./define.mjs";

/**
 * @typedef {{ path: string, size: number, oid: string, lfs?: { oid: string, size: number, pointerSize: number } }} HubFile
 * @typedef {{ _id: string, id: string, sha: string, gated?: unknown } & Record<string, unknown>} RepoInfo  /api/models/{repo}
 * @typedef {{ local: true, dir: string, info: RepoInfo, files: HubFile[] }} LocalRepo  published with publishHfRepo
 * @typedef {{ local?: undefined, dir: string, info: RepoInfo }} RecordedRepo  under test/fixtures/hf
 * @typedef {LocalRepo | RecordedRepo} Repo
 */

const HERE = fileURLToPath(import.meta.url);
const FIXTURES = path.resolve(path.dirname(HERE), "../../fixtures/hf");

/** The one token the replayed Hub grants access to gated repos. */
export const GRANTED_TOKEN = "hf_testbedGrantedAccess0000000000000";

let reposFile = "";
/** @type {{ mtimeMs: number, repos: Map<string, LocalRepo> }} */
let published = { mtimeMs: -1, repos: new Map() };

/** @param {Buffer} data */
const gitBlobSha = (data) => crypto.createHash("sha1").update(`blob ${data.length}\0`).update(data).digest("hex");
/** @param {string} f */
const isWeight = (f) => /\.(safetensors|bin|pt|pth|gguf)$/.test(f);

/**
 * @param {string} dir
 * @returns {string[]}
 */
function listFiles(dir, rel = "") {
  const out = [];
  for (const e of fs
    .readdirSync(path.join(dir, rel), { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.name.startsWith(".")) continue;
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(dir, r));
    else if (e.isFile()) out.push(r);
  }
  return out;
}

/**
 * A published folder as a repo: every file with its git blob id, and sha256 for the LFS-style weights.
 * @param {string} name @param {string} dir
 * @returns {LocalRepo}
 */
function repoFromDir(name, dir) {
  const files = listFiles(dir).map((rel) => {
    const data = fs.readFileSync(path.join(dir, rel));
    /** @type {HubFile} */
    const f = { path: rel, size: data.length, oid: gitBlobSha(data) };
    if (isWeight(rel))
      f.lfs = { oid: crypto.createHash("sha256").update(data).digest("hex"), size: data.length, pointerSize: 134 };
    return f;
  });
  const sha = crypto.createHash("sha1").update(JSON.stringify(files)).digest("hex");
  const info = {
    _id: sha.slice(0, 24),
    id: name,
    modelId: name,
    author: name.split("/")[0],
    sha,
    lastModified: "2026-01-01T00:00:00.000Z",
    private: false,
    disabled: false,
    gated: false,
    downloads: 0,
    likes: 0,
    library_name: "transformers",
    pipeline_tag: "text-generation",
    tags: ["transformers", "safetensors", "llama", "text-generation"],
    config: JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8")),
    siblings: files.map((f) => ({
      rfilename: f.path,
      size: f.size,
      blobId: f.oid,
      ...(f.lfs ? { lfs: { sha256: f.lfs.oid, size: f.size, pointerSize: 134 } } : {}),
    })),
    usedStorage: files.reduce((n, f) => n + f.size, 0),
  };
  return { local: true, dir, info, files };
}

/** @param {string} name */
function publishedRepo(name) {
  if (!reposFile) return undefined;
  let st;
  try {
    st = fs.statSync(reposFile);
  } catch {
    return undefined;
  }
  if (st.mtimeMs !== published.mtimeMs) {
    /** @type {Record<string, string>} */
    const map = JSON.parse(fs.readFileSync(reposFile, "utf8"));
    published = { mtimeMs: st.mtimeMs, repos: new Map(Object.entries(map).map(([n, d]) => [n, repoFromDir(n, d)])) };
  }
  return published.repos.get(name);
}

/**
 * @param {string} repo
 * @returns {Repo | undefined}
 */
function load(repo) {
  const mine = publishedRepo(repo);
  if (mine) return mine;
  const dir = path.join(FIXTURES, repo);
  if (!/^[\w.-]+\/[\w.-]+$/.test(repo) || !fs.existsSync(path.join(dir, "info.json"))) return undefined;
  return { dir, info: JSON.parse(fs.readFileSync(path.join(dir, "info.json"), "utf8")) };
}

/** @param {Repo} repo @param {string} rev */
const revisionOk = (repo, rev) => ["main", "HEAD"].includes(rev) || (rev.length >= 7 && repo.info.sha.startsWith(rev));

/** @param {LocalRepo} repo @param {string} sub @param {boolean} recursive */
function treeOf(repo, sub, recursive) {
  const prefix = sub ? `${sub.replace(/\/+$/, "")}/` : "";
  /** @type {Record<string, unknown>[]} */
  const out = [];
  const dirs = new Set();
  for (const f of repo.files) {
    if (!f.path.startsWith(prefix)) continue;
    const rest = f.path.slice(prefix.length);
    if (!recursive && rest.includes("/")) {
      const d = prefix + rest.split("/")[0];
      if (!dirs.has(d)) {
        dirs.add(d);
        out.push({ type: "directory", oid: crypto.createHash("sha1").update(d).digest("hex"), size: 0, path: d });
      }
      continue;
    }
    out.push({ type: "file", oid: f.oid, size: f.size, path: f.path, ...(f.lfs ? { lfs: f.lfs } : {}) });
  }
  return out;
}

/**
 * GET/HEAD of one file of a published repo, as the Hub answers it (200 directly, no CDN redirect).
 * @param {http.IncomingMessage} req @param {http.ServerResponse} res @param {LocalRepo} repo
 * @param {string} rev @param {string} rel
 */
function resolveLocal(req, res, repo, rev, rel) {
  if (!revisionOk(repo, rev)) {
    return send(res, 404, `Invalid rev id: ${rev}`, {
      "x-error-code": "RevisionNotFound",
      "x-error-message": `Invalid rev id: ${rev}`,
    });
  }
  const f = repo.files.find((x) => x.path === rel);
  if (!f)
    return send(res, 404, "Entry not found", { "x-error-code": "EntryNotFound", "x-error-message": "Entry not found" });
  const data = fs.readFileSync(path.join(repo.dir, rel));
  const etag = `"${f.lfs ? f.lfs.oid : f.oid}"`;
  /** @type {Record<string, string>} */
  const headers = {
    "content-type": f.lfs ? "application/octet-stream" : "text/plain; charset=utf-8",
    etag,
    "x-repo-commit": repo.info.sha,
    "accept-ranges": "bytes",
    ...(f.lfs ? { "x-linked-etag": etag, "x-linked-size": String(f.size) } : {}),
  };
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
  let status = 200;
  let body = data;
  if (range) {
    const start = Number(range[1]);
    const end = Math.min(range[2] ? Number(range[2]) : data.length - 1, data.length - 1);
    if (start >= data.length) {
      res.writeHead(416, { ...headers, "content-range": `bytes */${data.length}` });
      return res.end();
    }
    status = 206;
    body = data.subarray(start, end + 1);
    headers["content-range"] = `bytes ${start}-${end}/${data.length}`;
  }
  headers["content-length"] = String(body.length);
  res.writeHead(status, headers);
  res.end(req.method === "HEAD" ? undefined : body);
}

/**
 * @param {http.ServerResponse} res @param {number} status @param {unknown} body a string, or JSON
 * @param {Record<string, string>} [headers]
 */
function send(res, status, body, headers = {}) {
  const json = typeof body !== "string";
  const data = json ? JSON.stringify(body) : /** @type {string} */ (body);
  res.writeHead(status, {
    "content-type": json ? "application/json; charset=utf-8" : "text/plain; charset=utf-8",
    "x-request-id": crypto.randomUUID(),
    ...headers,
  });
  res.end(data);
}

/** @param {http.IncomingMessage} req @param {http.ServerResponse} res */
function handle(req, res) {
  const url = new URL(/** @type {string} */ (req.url), "http://hub");
  const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
  let m = /^\/api\/models\/([^/]+\/[^/]+)(?:\/(revision|tree)\/([^/]+)(?:\/(.+?))?)?\/?$/.exec(url.pathname);
  if (m && m[4] && m[2] !== "tree") return send(res, 404, { error: "Not found" });
  if (m) {
    const repo = load(/** @type {string} */ (m[1]));
    if (!repo)
      return send(res, token ? 404 : 401, { error: "Repository not found" }, { "x-error-code": "RepoNotFound" });
    const rev = decodeURIComponent(m[3] ?? "main");
    if (!revisionOk(repo, rev)) {
      return send(res, 404, { error: `Invalid rev id: ${rev}` }, { "x-error-code": "RevisionNotFound" });
    }
    if (m[2] === "tree" && repo.local) {
      const recursive = ["true", "1", "True"].includes(url.searchParams.get("recursive") ?? "");
      return send(res, 200, treeOf(repo, m[4] ? decodeURIComponent(m[4]) : "", recursive));
    }
    if (m[2] === "tree") return send(res, 200, JSON.parse(fs.readFileSync(path.join(repo.dir, "tree.json"), "utf8")));
    const expand = url.searchParams.getAll("expand");
    const body = expand.length
      ? Object.fromEntries([
          ["_id", repo.info._id],
          ["id", repo.info.id],
          ...expand.filter((k) => k in repo.info).map((k) => [k, repo.info[k]]),
        ])
      : repo.info;
    return send(res, 200, body);
  }
  m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
  if (m) {
    const [, name, rev, rel] = /** @type {[string, string, string, string]} */ (/** @type {string[]} */ (m));
    const repo = load(name);
    if (!repo)
      return send(res, 401, "Repository not found", {
        "x-error-code": "RepoNotFound",
        "x-error-message": "Repository not found",
      });
    if (repo.local) return resolveLocal(req, res, repo, decodeURIComponent(rev), decodeURIComponent(rel));
    if (repo.info.gated && token !== GRANTED_TOKEN) {
      const msg = token
        ? `Access to model ${name} is restricted and you are not in the authorized list. Visit https://huggingface.co/${name} to ask for access.`
        : `Access to model ${name} is restricted. You must have access to it and be authenticated to access it. Please log in.`;
      return send(res, token ? 403 : 401, msg, { "x-error-code": "GatedRepo", "x-error-message": msg });
    }
    const file = path.join(repo.dir, rel);
    if (rel !== "config.json" || !fs.existsSync(file))
      return send(res, 404, "Entry not found", {
        "x-error-code": "EntryNotFound",
        "x-error-message": "Entry not found",
      });
    const data = fs.readFileSync(file);
    const etag = `"${crypto.createHash("sha1").update(`blob ${data.length}\0`).update(data).digest("hex")}"`;
    const headers = {
      "content-type": "text/plain; charset=utf-8",
      etag,
      "x-repo-commit": repo.info.sha,
      "accept-ranges": "bytes",
    };
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    if (range) {
      const start = Number(range[1]);
      const end = Math.min(range[2] ? Number(range[2]) : data.length - 1, data.length - 1);
      res.writeHead(206, { ...headers, "content-range": `bytes ${start}-${end}/${data.length}` });
      return res.end(data.subarray(start, end + 1));
    }
    res.writeHead(200, headers);
    return res.end(data);
  }
  send(res, 404, { error: "Not found" });
}

/** The file the server reads its published repos from (repo name → absolute folder). */
export function reposFileOf(/** @type {string} */ workDir) {
  return path.join(workDir, "hf-replay", "repos.json");
}

/**
 * Serve the files of `dir` as the Hub repo `repo` (org/name) from the hf-replay of `workDir`.
 * @param {{ workDir: string, repo: string, dir: string }} opts
 */
export function publishHfRepo({ workDir, repo, dir }) {
  if (!/^[\w.-]+\/[\w.-]+$/.test(repo)) throw new Error(`not an org/name repo id: ${repo}`);
  const file = reposFileOf(workDir);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const map = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
  map[repo] = path.resolve(dir);
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(map, null, 2));
  fs.renameSync(tmp, file);
  return repo;
}

export const { start, service } = defineServer(
  "hf-replay",
  /** @param {number} port @param {string} workDir @param {{ podHost?: string }} [opts] */
  async (port, workDir, { podHost } = {}) => ({
    bin: process.execPath,
    args: [HERE, String(port), reposFileOf(workDir), ...(podHost ? [podHost] : [])],
    listensOnPodHost: true,
    health: `http://127.0.0.1:${port}/api/models/Qwen/Qwen3-0.6B`,
    exports: { HF_ENDPOINT: `http://127.0.0.1:${port}` },
    podExports: (/** @type {string} */ url) => ({ POD_HF_ENDPOINT: url }),
  }),
);

if (process.argv[1] === HERE) {
  const [port, file, extraHost] = process.argv.slice(2);
  reposFile = file ?? "";
  for (const host of ["127.0.0.1", ...(extraHost && extraHost !== "127.0.0.1" ? [extraHost] : [])]) {
    http.createServer(handle).listen(Number(port), host);
  }
}
