// A stand-in for the Hugging Face Hub (which the test machines cannot reach): it replays the responses
// recorded in test/fixtures/hf/<org>/<name>/ — info.json (GET /api/models/{repo}[/revision/{rev}], fields
// filtered by ?expand= as the Hub does), tree.json (GET /api/models/{repo}/tree/{rev}) and config.json
// (GET /{repo}/resolve/{rev}/config.json, with Range support). Gated repos answer 401 without a token and
// 403 for a token other than GRANTED_TOKEN, with the Hub's words. Exports HF_ENDPOINT.
//   node test/testbed/servers/hf-replay.mjs PORT
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineServer } from './define.mjs';

const HERE = fileURLToPath(import.meta.url);
const FIXTURES = path.resolve(path.dirname(HERE), '../../fixtures/hf');

/** The one token the replayed Hub grants access to gated repos. */
export const GRANTED_TOKEN = 'hf_testbedGrantedAccess0000000000000';

function load(repo) {
  const dir = path.join(FIXTURES, repo);
  if (!/^[\w.-]+\/[\w.-]+$/.test(repo) || !fs.existsSync(path.join(dir, 'info.json'))) return undefined;
  return { dir, info: JSON.parse(fs.readFileSync(path.join(dir, 'info.json'), 'utf8')) };
}

function send(res, status, body, headers = {}) {
  const json = typeof body !== 'string';
  const data = json ? JSON.stringify(body) : body;
  res.writeHead(status, { 'content-type': json ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8', 'x-request-id': crypto.randomUUID(), ...headers });
  res.end(data);
}

function handle(req, res) {
  const url = new URL(req.url, 'http://hub');
  const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
  let m = /^\/api\/models\/([^/]+\/[^/]+)(?:\/(revision|tree)\/([^/]+))?\/?$/.exec(url.pathname);
  if (m) {
    const repo = load(m[1]);
    if (!repo) return send(res, token ? 404 : 401, { error: 'Repository not found' }, { 'x-error-code': 'RepositoryNotFound' });
    const rev = decodeURIComponent(m[3] ?? 'main');
    if (!['main', 'HEAD'].includes(rev) && !(rev.length >= 7 && repo.info.sha.startsWith(rev))) {
      return send(res, 404, { error: `Invalid rev id: ${rev}` }, { 'x-error-code': 'RevisionNotFound' });
    }
    if (m[2] === 'tree') return send(res, 200, JSON.parse(fs.readFileSync(path.join(repo.dir, 'tree.json'), 'utf8')));
    const expand = url.searchParams.getAll('expand');
    const body = expand.length ? Object.fromEntries([['_id', repo.info._id], ['id', repo.info.id], ...expand.filter((k) => k in repo.info).map((k) => [k, repo.info[k]])]) : repo.info;
    return send(res, 200, body);
  }
  m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
  if (m) {
    const repo = load(m[1]);
    if (!repo) return send(res, 401, 'Repository not found', { 'x-error-code': 'RepositoryNotFound', 'x-error-message': 'Repository not found' });
    const name = m[1];
    if (repo.info.gated && token !== GRANTED_TOKEN) {
      const msg = token
        ? `Access to model ${name} is restricted and you are not in the authorized list. Visit https://huggingface.co/${name} to ask for access.`
        : `Access to model ${name} is restricted. You must have access to it and be authenticated to access it. Please log in.`;
      return send(res, token ? 403 : 401, msg, { 'x-error-code': 'GatedRepo', 'x-error-message': msg });
    }
    const file = path.join(repo.dir, m[3]);
    if (m[3] !== 'config.json' || !fs.existsSync(file)) return send(res, 404, 'Entry not found', { 'x-error-code': 'EntryNotFound', 'x-error-message': 'Entry not found' });
    const data = fs.readFileSync(file);
    const etag = `"${crypto.createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex')}"`;
    const headers = { 'content-type': 'text/plain; charset=utf-8', etag, 'x-repo-commit': repo.info.sha, 'accept-ranges': 'bytes' };
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range) {
      const start = Number(range[1]);
      const end = Math.min(range[2] ? Number(range[2]) : data.length - 1, data.length - 1);
      res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${data.length}` });
      return res.end(data.subarray(start, end + 1));
    }
    res.writeHead(200, headers);
    return res.end(data);
  }
  send(res, 404, { error: 'Not found' });
}

export const { start, service } = defineServer('hf-replay', async (port) => ({
  bin: process.execPath,
  args: [HERE, String(port)],
  health: `http://127.0.0.1:${port}/api/models/Qwen/Qwen3-0.6B`,
  exports: { HF_ENDPOINT: `http://127.0.0.1:${port}` },
}));

if (process.argv[1] === HERE) {
  http.createServer(handle).listen(Number(process.argv[2]), '127.0.0.1');
}
