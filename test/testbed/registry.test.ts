/**
 * pushArchive: a docker-archive pushed to the test bed's registry binary (the real distribution `registry`,
 * storage in a temp dir) straight from the file: an OCI manifest whose one layer is the archive's layer
 * uncompressed (its digest the config's diff ID, its bytes the layer's), a config with the
 * `vllmapp.registry-copy` label added (so another image ID), nothing sent again on a second push, and a
 * layer whose digest the config misstates refused by the registry.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { workdir } from "../support/cli.ts";
import { packDockerArchive } from "./docker-archive.mjs";
import { freePort } from "./lib.mjs";
import { archiveEntries, ensureRegistryBinary, pushArchive, registryLayers } from "./registry.mjs";

const OCI = "application/vnd.oci.image.manifest.v1+json";
let host = "";
let proc: ChildProcess | undefined;

before(async () => {
  const { bin } = await ensureRegistryBinary({ log: () => {} });
  const dir = workdir();
  host = `127.0.0.1:${await freePort()}`;
  const config = path.join(dir, "config.yml");
  writeFileSync(
    config,
    `version: 0.1\nlog: {level: warn, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: ${JSON.stringify(path.join(dir, "storage"))}}}\nhttp: {addr: "${host}", secret: test}\n`,
  );
  proc = spawn(bin, ["serve", config], { stdio: "ignore", env: { ...process.env, OTEL_TRACES_EXPORTER: "none" } });
  for (let i = 0; ; i++) {
    const ok = await fetch(`http://${host}/v2/`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    assert.ok(i < 300, "the registry answers /v2/ within 30 s");
    await new Promise((r) => setTimeout(r, 100));
  }
});
after(() => proc?.kill());

async function tinyArchive(tag: string): Promise<{ archive: string; diffId: string; dir: string }> {
  const dir = workdir();
  const root = path.join(dir, "rootfs");
  mkdirSync(path.join(root, "bin"), { recursive: true });
  writeFileSync(path.join(root, "bin/tool"), `#!/bin/sh\necho ${tag}\n`);
  const archive = path.join(dir, "image.tar");
  const config = { Env: ["PATH=/bin"], Entrypoint: ["tool"], Labels: { "vllmapp.test": "1" } };
  const { diffId } = await packDockerArchive({ rootfs: root, out: archive, tag, config });
  return { archive, diffId, dir };
}

async function getJson(url: string): Promise<any> {
  const r = await fetch(url, { headers: { accept: OCI } });
  assert.equal(r.status, 200, url);
  return r.json();
}

test("pushArchive sends the layer uncompressed, its digest the diff ID, with an OCI manifest and the copy's label", async () => {
  const { archive, diffId } = await tinyArchive("vllmapp-tool:1");
  const logs: string[] = [];
  const ref = await pushArchive({ host, tag: "vllmapp-tool:1", archive, log: (m: string) => logs.push(m) });
  assert.equal(ref, `${host}/vllmapp/tool:1`);
  assert.match(logs.join("\n"), /^pushed .*\/vllmapp\/tool:1 from .* \(2 of 2 blobs sent, /m);

  const [image] = JSON.parse(execFileSync("tar", ["-xOf", archive, "manifest.json"], { encoding: "utf8" }));
  const layerBytes = execFileSync("tar", ["-xOf", archive, image.Layers[0]], { maxBuffer: 1 << 26 });
  assert.deepEqual(await registryLayers(ref), [{ digest: diffId, size: layerBytes.length }]);
  const manifest = await getJson(`http://${host}/v2/vllmapp/tool/manifests/1`);
  assert.equal(manifest.mediaType, OCI);
  assert.deepEqual(
    manifest.layers.map((l: { mediaType: string }) => l.mediaType),
    ["application/vnd.oci.image.layer.v1.tar"],
  );
  const blob = Buffer.from(await (await fetch(`http://${host}/v2/vllmapp/tool/blobs/${diffId}`)).arrayBuffer());
  assert.ok(blob.equals(layerBytes), "the registry's layer is the archive's layer, byte for byte");

  const local = JSON.parse(execFileSync("tar", ["-xOf", archive, image.Config], { encoding: "utf8" }));
  const copy = await getJson(`http://${host}/v2/vllmapp/tool/blobs/${manifest.config.digest}`);
  assert.deepEqual(copy.config.Labels, { "vllmapp.test": "1", "vllmapp.registry-copy": "vllmapp-tool:1" });
  assert.deepEqual(copy.config.Entrypoint, ["tool"]);
  assert.deepEqual(copy.rootfs, local.rootfs);
  assert.notEqual(manifest.config.digest, `sha256:${image.Config.replace(/\.json$/, "")}`, "another image ID");
});

test("a second push of the same archive sends nothing: the manifest is there", async () => {
  const { archive } = await tinyArchive("vllmapp-again:1");
  const first: string[] = [];
  await pushArchive({ host, tag: "vllmapp-again:1", archive, log: (m: string) => first.push(m) });
  const second: string[] = [];
  await pushArchive({ host, tag: "vllmapp-again:1", archive, log: (m: string) => second.push(m) });
  assert.match(first.join("\n"), /\(2 of 2 blobs sent/);
  assert.deepEqual(second, [
    `${host}/vllmapp/again:1: already in the registry (${second[0]?.match(/sha256:\w+/)?.[0]})`,
  ]);
});

test("archiveEntries reads a GNU tar archive too, and a layer digest the config misstates is refused", async () => {
  const { archive, dir } = await tinyArchive("vllmapp-bad:1");
  const x = path.join(dir, "x");
  mkdirSync(x);
  execFileSync("tar", ["-xf", archive, "-C", x]);
  const [image] = JSON.parse(readFileSync(path.join(x, "manifest.json"), "utf8"));
  const cfg = JSON.parse(readFileSync(path.join(x, image.Config), "utf8"));
  cfg.rootfs.diff_ids = [`sha256:${"0".repeat(64)}`];
  writeFileSync(path.join(x, image.Config), JSON.stringify(cfg));
  const bad = path.join(dir, "bad.tar");
  execFileSync("tar", ["--format=ustar", "-cf", bad, "-C", x, image.Layers[0], image.Config, "manifest.json"]);
  const entries = archiveEntries(bad);
  assert.deepEqual([...entries.keys()], [image.Layers[0], image.Config, "manifest.json"]);
  const manifestEntry = entries.get("manifest.json")!;
  const bytes = readFileSync(bad).subarray(manifestEntry.offset, manifestEntry.offset + manifestEntry.size);
  assert.equal(
    createHash("sha256").update(bytes).digest("hex"),
    createHash("sha256")
      .update(readFileSync(path.join(x, "manifest.json")))
      .digest("hex"),
  );
  await assert.rejects(
    pushArchive({ host, tag: "vllmapp-bad:1", archive: bad, log: () => {} }),
    /PUT the blob sha256:0{64} to http:\/\/127\.0\.0\.1:\d+\/v2\/vllmapp\/bad: HTTP 400 .*digest/i,
  );
});
