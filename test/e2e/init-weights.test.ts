/**
 * The first render of what `init` wrote says what must be changed, or nothing when nothing must: with the
 * Hub answering (the recorded Hub, test/fixtures/hf) init sizes the room the downloaded weights need, so
 * the render has nothing to warn about; with the Hub unreachable every warning names the field to set.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { runCli, workdir } from "../support/cli.ts";
import { start, GRANTED_TOKEN } from "../testbed/servers/hf-replay.mjs";

/** The recorded Hub (test/fixtures/hf), on a port of its own for this file. */
async function recordedHub(): Promise<string> {
  const s = await start({ workDir: workdir() });
  after(async () => s.stop());
  return s.env.HF_ENDPOINT as string;
}

const warnings = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("warning:"));

test("init with the Hub answering: the weights' room is written (disk:, or cache: above 50 GiB), and the first render warns about nothing", async () => {
  const env = { HF_ENDPOINT: await recordedHub(), HF_TOKEN: GRANTED_TOKEN };
  const small = workdir();
  const r = runCli(["init", "--yes", "--no-auth"], { cwd: small, env });
  assert.equal(r.code, 0, r.stderr);
  const text = readFileSync(path.join(small, "vllm-app.yaml"), "utf8");
  // Qwen3-0.6B: 1,503,300,328 bytes × 1.1 + 1 GiB
  assert.match(
    text,
    /^ {2}disk: 3Gi +# room on the node's disk for the downloaded weights \(1\.5 GB\); or keep them on a volume: cache below$/m,
  );
  assert.match(text, /^# cache:/m);
  const render = runCli(["render", "--dry-run"], { cwd: small, env });
  assert.equal(render.code, 0, render.stderr);
  assert.equal(render.stderr, "");
  assert.match(render.stdout, /ephemeral-storage: 3Gi/);

  const big = workdir();
  const b = runCli(["init", "--yes", "--no-auth", "--model", "meta-llama/Llama-3.1-70B-Instruct"], { cwd: big, env });
  assert.equal(b.code, 0, b.stderr);
  const bigText = readFileSync(path.join(big, "vllm-app.yaml"), "utf8");
  assert.match(
    bigText,
    /^cache: +# the weights \(141\.1 GB\) on a volume of their own, kept across restarts[^\n]*\n {2}size: 146Gi$/m,
  );
  assert.doesNotMatch(bigText, /^ {2}disk:/m);
  const bigRender = runCli(["render", "--dry-run"], { cwd: big, env });
  assert.equal(bigRender.code, 0, bigRender.stderr);
  assert.equal(bigRender.stderr, "");
  assert.match(bigRender.stdout, /kind: PersistentVolumeClaim/);
});

test("init with the Hub unreachable: init and every warning of the first render name the field to set", () => {
  const dir = workdir();
  const init = runCli(["init", "--yes", "--no-auth"], { cwd: dir, env: { HF_ENDPOINT: "http://127.0.0.1:2" } });
  assert.equal(init.code, 0, init.stderr);
  assert.match(
    init.stderr,
    /wrote gpu: L4:1 as a PLACEHOLDER: check it, or pass --gpu\. Nor the room its weights need on the node: render warns until resources\.disk or cache: \{size\} is set/,
  );
  const render = runCli(["render", "--dry-run"], { cwd: dir, env: { HF_ENDPOINT: "http://127.0.0.1:2" } });
  assert.equal(render.code, 0, render.stderr);
  const hints = render.stderr.split("\n").filter((l) => l.startsWith("  hint:"));
  assert.equal(warnings(render.stderr).length, 2, render.stderr);
  assert.equal(hints.length, 2, render.stderr);
  assert.match(
    render.stderr,
    /warning: vllm-app\.yaml:\d+:\d+ resources\.gpu: L4:1 is a placeholder[^\n]*\n {2}hint: set the GPU type and count/,
  );
  assert.match(
    render.stderr,
    /warning: vllm-app\.yaml:\d+:\d+ model_hf_path: the weights download into an emptyDir[^\n]*\n {2}hint: add cache: \{size: …\} for a volume of their own, or resources\.disk/,
  );
  // setting what they name silences them
  const file = path.join(dir, "vllm-app.yaml");
  const fixed = readFileSync(file, "utf8").replace(/gpu: L4:1 +# PLACEHOLDER.*/, "gpu: L4:1\n  disk: 3Gi");
  const silent = runCli(["render", "--dry-run", "-f", "-"], {
    cwd: dir,
    input: fixed,
    env: { HF_ENDPOINT: "http://127.0.0.1:2" },
  });
  assert.equal(silent.code, 0, silent.stderr);
  assert.equal(silent.stderr, "");
});
