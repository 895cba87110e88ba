/**
 * The Hub replay's published repos (publishHfRepo): real file downloads as huggingface_hub and
 * @huggingface/hub read them (info with sha and siblings, the tree, resolve with ETag / X-Repo-Commit /
 * X-Linked-* and ranges, the Hub's error codes), on 127.0.0.1 and on the extra (pod) address.
 * Starts its own replay with 127.0.0.2 standing for the pod bridge.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import * as hub from "@huggingface/hub";
import { workdir } from "../support/cli.ts";
import { start, publishHfRepo } from "./servers/hf-replay.mjs";

const REPO = "vllmapp-test/files";
const WEIGHTS = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) % 251));
const CONFIG = JSON.stringify({ architectures: ["LlamaForCausalLM"], model_type: "llama", hidden_size: 128 });
let endpoint = "";
let podEndpoint = "";
let stop: (() => Promise<void>) | undefined;

before(async () => {
  const wd = workdir();
  const model = workdir({ "config.json": CONFIG, "tokenizer.json": "{}" });
  writeFileSync(path.join(model, "model.safetensors"), WEIGHTS);
  const s = await start({ workDir: wd, podHost: "127.0.0.2" });
  stop = s.stop;
  endpoint = s.env.HF_ENDPOINT;
  podEndpoint = s.env.POD_HF_ENDPOINT!; // given a pod host, the server exports it
  publishHfRepo({ workDir: wd, repo: REPO, dir: model });
});
after(async () => stop?.());

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const blobId = (b: Buffer) => createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");

test("hf-replay: a published folder is a repo with a sha, siblings and a tree, on the pod address too", async () => {
  assert.match(podEndpoint, /^http:\/\/127\.0\.0\.2:\d+$/);
  assert.equal(new URL(podEndpoint).port, new URL(endpoint).port);
  const info = await (await fetch(`${podEndpoint}/api/models/${REPO}/revision/main`)).json();
  assert.match(info.sha, /^[0-9a-f]{40}$/);
  assert.deepEqual(
    info.siblings.map((s: { rfilename: string; size: number }) => [s.rfilename, s.size]),
    [
      ["config.json", CONFIG.length],
      ["model.safetensors", 5000],
      ["tokenizer.json", 2],
    ],
  );
  const files = [];
  for await (const f of hub.listFiles({ repo: REPO, hubUrl: endpoint, recursive: true })) files.push(f);
  assert.deepEqual(
    files.map((f) => [f.type, f.path, f.size, f.oid, f.lfs?.oid]),
    [
      ["file", "config.json", CONFIG.length, blobId(Buffer.from(CONFIG)), undefined],
      ["file", "model.safetensors", 5000, blobId(WEIGHTS), sha256(WEIGHTS)],
      ["file", "tokenizer.json", 2, blobId(Buffer.from("{}")), undefined],
    ],
  );
  const byRev = await (await fetch(`${endpoint}/api/models/${REPO}/tree/${info.sha}?recursive=false`)).json();
  assert.equal(byRev.length, 3);
});

test("hf-replay: resolve gives the file with the Hub's headers, ranges as 206, HEAD without a body", async () => {
  const info = await (await fetch(`${endpoint}/api/models/${REPO}`)).json();
  const blob = await hub.downloadFile({ repo: REPO, path: "model.safetensors", hubUrl: endpoint, xet: false });
  assert.ok(blob);
  assert.deepEqual(Buffer.from(await blob.arrayBuffer()), WEIGHTS);

  const head = await fetch(`${endpoint}/${REPO}/resolve/main/model.safetensors`, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("etag"), `"${sha256(WEIGHTS)}"`);
  assert.equal(head.headers.get("x-linked-etag"), `"${sha256(WEIGHTS)}"`);
  assert.equal(head.headers.get("x-linked-size"), "5000");
  assert.equal(head.headers.get("content-length"), "5000");
  assert.equal(head.headers.get("accept-ranges"), "bytes");
  assert.equal(head.headers.get("x-repo-commit"), info.sha);
  assert.equal((await head.arrayBuffer()).byteLength, 0);

  const part = await fetch(`${podEndpoint}/${REPO}/resolve/${info.sha}/model.safetensors`, {
    headers: { range: "bytes=10-19" },
  });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get("content-range"), "bytes 10-19/5000");
  assert.deepEqual(Buffer.from(await part.arrayBuffer()), WEIGHTS.subarray(10, 20));

  const cfg = await fetch(`${endpoint}/${REPO}/resolve/main/config.json`);
  assert.equal(cfg.headers.get("etag"), `"${blobId(Buffer.from(CONFIG))}"`);
  assert.equal(cfg.headers.get("x-linked-etag"), null);
  assert.equal(await cfg.text(), CONFIG);
});

test("hf-replay: the Hub's error codes for a missing repo, file and revision", async () => {
  const cases: [string, number, string][] = [
    [`/api/models/vllmapp-test/missing`, 401, "RepoNotFound"],
    [`/vllmapp-test/missing/resolve/main/config.json`, 401, "RepoNotFound"],
    [`/${REPO}/resolve/main/nope.json`, 404, "EntryNotFound"],
    [`/${REPO}/resolve/0123456789abcdef/config.json`, 404, "RevisionNotFound"],
    [`/api/models/${REPO}/revision/0123456789abcdef`, 404, "RevisionNotFound"],
  ];
  for (const [p, status, code] of cases) {
    const r = await fetch(endpoint + p);
    assert.equal(r.status, status, p);
    assert.equal(r.headers.get("x-error-code"), code, p);
  }
  await assert.rejects(
    hub
      .downloadFile({ repo: REPO, path: "nope.json", hubUrl: endpoint, xet: false })
      .then((b) => (b === null ? Promise.reject(new Error("null")) : b)),
  );
});
