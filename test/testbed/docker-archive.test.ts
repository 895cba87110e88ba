/**
 * packDockerArchive: the docker-archive the vLLM and rclone images ship as (docker load, ctr images import):
 * a tar whose manifest.json names the config and the one layer, whose config's diff_id is the layer's
 * sha256, and whose layer holds the rootfs with root ownership.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { workdir } from "../support/cli.ts";
import { packDockerArchive } from "./docker-archive.mjs";

test("packDockerArchive writes manifest.json, a config whose diff_id is the layer's sha256, and the rootfs as the layer", async () => {
  const dir = workdir();
  const root = path.join(dir, "rootfs");
  mkdirSync(path.join(root, "usr/local/bin"), { recursive: true });
  mkdirSync(path.join(root, "proc"), { recursive: true });
  writeFileSync(path.join(root, "usr/local/bin/tool"), "#!/bin/sh\necho hi\n");
  chmodSync(path.join(root, "usr/local/bin/tool"), 0o755);
  writeFileSync(path.join(root, "proc/skipped"), "x");
  const out = path.join(dir, "image.tar");
  const config = { Env: ["PATH=/usr/local/bin"], Entrypoint: ["tool"], ExposedPorts: { "8000/tcp": {} } };
  const r = await packDockerArchive({ rootfs: root, out, tag: "vllmapp-test/tool:1", config, exclude: ["./proc/*"] });

  const names = execFileSync("tar", ["-tf", out], { encoding: "utf8" }).trim().split("\n");
  const manifest = JSON.parse(execFileSync("tar", ["-xOf", out, "manifest.json"], { encoding: "utf8" }));
  assert.deepEqual(manifest.length, 1);
  assert.deepEqual(manifest[0].RepoTags, ["vllmapp-test/tool:1"]);
  assert.deepEqual(names.sort(), [manifest[0].Config, manifest[0].Layers[0], "manifest.json"].sort());
  const cfgBytes = execFileSync("tar", ["-xOf", out, manifest[0].Config]);
  assert.equal(`${createHash("sha256").update(cfgBytes).digest("hex")}.json`, manifest[0].Config);
  const cfg = JSON.parse(cfgBytes.toString());
  assert.deepEqual(cfg.config, config);
  assert.equal(cfg.os, "linux");
  const layer = execFileSync("tar", ["-xOf", out, manifest[0].Layers[0]], { maxBuffer: 1 << 26 });
  assert.equal(cfg.rootfs.diff_ids[0], `sha256:${createHash("sha256").update(layer).digest("hex")}`);
  assert.equal(r.diffId, cfg.rootfs.diff_ids[0]);
  const layerPath = path.join(dir, "layer.tar");
  writeFileSync(layerPath, layer);
  const listing = execFileSync("tar", ["-tvf", layerPath, "--numeric-owner"], { encoding: "utf8" });
  assert.match(listing, /^-rwxr-xr-x 0\/0 +\d+ .* \.\/usr\/local\/bin\/tool$/m);
  assert.doesNotMatch(listing, /skipped/);
  assert.match(listing, /\.\/proc\/$/m);
});
