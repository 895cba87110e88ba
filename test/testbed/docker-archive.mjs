// Pack a root filesystem as a one-layer docker-archive tarball: manifest.json + config JSON + one layer
// tar, the format both `docker load` and containerd's `ctr images import` read.
//
//   import { packDockerArchive } from './docker-archive.mjs';
//   await packDockerArchive({ rootfs, out, tag, config: { Env: [...], Entrypoint: [...], ExposedPorts: {...} },
//                             exclude: ['./proc/*'] });
//   → { diffId, bytes }
//
// The layer is streamed from `tar -c` straight into the archive (its entry header is written last, once
// the size is known), so packing needs the rootfs plus one archive on disk, never a second copy.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';

const BLOCK = 512;

/** @param {number} n @param {number} len */
function octal(n, len) {
  return n.toString(8).padStart(len - 1, '0') + '\0';
}

/**
 * A ustar header for a regular file (base-256 size beyond 8 GiB, as GNU tar and Go's archive/tar read).
 * @param {string} name @param {number} size
 */
function tarHeader(name, size, mtime = 0) {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar name too long: ${name}`);
  const h = Buffer.alloc(BLOCK, 0);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(0o644, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  if (size < 8 ** 11) h.write(octal(size, 12), 124, 'ascii');
  else {
    h[124] = 0x80;
    let v = BigInt(size);
    for (let i = 135; i > 124; i--) {
      h[i] = Number(v & 0xffn);
      v >>= 8n;
    }
  }
  h.write(octal(mtime, 12), 136, 'ascii');
  h.fill(' ', 148, 156);
  h.write('0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write('root', 265, 'ascii');
  h.write('root', 297, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 'ascii');
  return h;
}

/** @param {number} size */
function pad(size) {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK, 0);
}

/**
 * Write `out` (a docker-archive) from the directory `rootfs`. `config` is the image's runtime config
 * (Env, Entrypoint, Cmd, ExposedPorts, WorkingDir, Labels, ...). Returns { diffId, bytes }.
 * @param {{ rootfs: string, out: string, tag: string, config: object, exclude?: string[], created?: string }} opts
 * @returns {Promise<{ diffId: string, bytes: number }>}
 */
export async function packDockerArchive({ rootfs, out, tag, config, exclude = [], created = '1970-01-01T00:00:00Z' }) {
  const tmp = `${out}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    const hash = crypto.createHash('sha256');
    let pos = BLOCK; // the layer entry's header goes at 0 once the size is known
    let size = 0;
    const args = ['--sort=name', '--numeric-owner', '--owner=0', '--group=0', '--xattrs', '--xattrs-include=security.capability', '-C', rootfs];
    for (const e of exclude) args.push(`--exclude=${e}`);
    args.push('-cf', '-', '.');
    const child = spawn('tar', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    /** @type {Promise<{ code: number | null, signal: NodeJS.Signals | null }>} */
    const exit = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    for await (const chunk of child.stdout) {
      hash.update(chunk);
      let off = 0;
      while (off < chunk.length) off += fs.writeSync(fd, chunk, off, chunk.length - off, pos + off);
      pos += chunk.length;
      size += chunk.length;
    }
    const { code, signal } = await exit;
    if (code !== 0) throw new Error(`tar of ${rootfs} failed (${signal ?? 'exit ' + code}): ${err.trim().slice(-2000)}`);
    const diffHex = hash.digest('hex');
    const layerName = `${diffHex}/layer.tar`;
    fs.writeSync(fd, tarHeader(layerName, size), 0, BLOCK, 0);
    const imageConfig = {
      architecture: 'amd64',
      os: 'linux',
      created,
      config,
      rootfs: { type: 'layers', diff_ids: [`sha256:${diffHex}`] },
      history: [{ created, created_by: 'vllmapp test bed', comment: tag }],
    };
    const cfg = Buffer.from(JSON.stringify(imageConfig));
    const cfgName = `${crypto.createHash('sha256').update(cfg).digest('hex')}.json`;
    const manifest = Buffer.from(JSON.stringify([{ Config: cfgName, RepoTags: [tag], Layers: [layerName] }]));
    /** @type {Buffer[]} */
    const tailParts = [pad(size)];
    for (const [name, data] of /** @type {[string, Buffer][]} */ ([
      [cfgName, cfg],
      ['manifest.json', manifest],
    ]))
      tailParts.push(tarHeader(name, data.length), data, pad(data.length));
    tailParts.push(Buffer.alloc(2 * BLOCK, 0));
    const tail = Buffer.concat(tailParts);
    fs.writeSync(fd, tail, 0, tail.length, pos);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, out);
    return { diffId: `sha256:${diffHex}`, bytes: pos + tail.length };
  } catch (e) {
    try {
      fs.closeSync(fd);
    } catch {}
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
