/**
 * vllmapp as a kubectl plugin (README "Install"): krew, built from its Go module (cached in the test bed's
 * cache), installs the linux-x64 build's archive from the krew manifest the build wrote, checksum and
 * all, into a scratch KREW_ROOT; `kubectl vllmapp` then runs it, and kubectl's own flags (--kubeconfig,
 * --context, -n) reach it. kubectl: the test bed's ($VLLMAPP_TEST_KUBECTL), else the one on PATH.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { workdir } from "../support/cli.ts";
import { installPlugin } from "../testbed/binary.mjs";

const kubectl = process.env.VLLMAPP_TEST_KUBECTL || "kubectl";
const krewRoot = workdir();
// krew runs in the first test; the install's output is checked there
const installed = (await installPlugin(krewRoot)) as { env: NodeJS.ProcessEnv; output: string };
const env = { ...installed.env, CI: "1", NO_COLOR: "1" };

function kubectlVllmapp(args: string[], cwd: string, extraEnv: Record<string, string> = {}) {
  const r = spawnSync(kubectl, ["vllmapp", ...args], {
    cwd,
    env: { ...env, ...extraEnv },
    encoding: "utf8",
    timeout: 120_000,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test(
  "krew installs the plugin from the build's manifest and local archive; kubectl vllmapp --version runs it",
  { timeout: 900_000 },
  () => {
    assert.match(installed.output, /Installed plugin: vllmapp/);
    const v = kubectlVllmapp(["--version"], krewRoot);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /^\d+\.\d+\.\d+\nvLLM serve catalogs: .*\ndefault image: /);
  },
);

test("kubectl vllmapp: render --dry-run honours -n; --kubeconfig and --context reach the plugin", () => {
  const dir = workdir({
    "vllm-app.yaml": 'name: krew-app\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources: {gpu: "L4:1"}\n',
  });
  const render = kubectlVllmapp(["render", "--dry-run", "-n", "team-a"], dir);
  assert.equal(render.code, 0, render.stderr);
  assert.match(render.stdout, /^kind: Deployment$/m);
  const namespaces = [...render.stdout.matchAll(/^ {2}namespace: (.*)$/gm)].map((m) => m[1]);
  assert.ok(
    namespaces.length > 0 && namespaces.every((ns) => ns === "team-a"),
    `every object in team-a: ${namespaces.join(", ")}`,
  );
  // a kubeconfig with one context: naming another is refused by vllmapp, naming the file's own is not a usage error
  const kubeconfig = path.join(dir, "kubeconfig");
  writeFileSync(
    kubeconfig,
    "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: only, context: {cluster: c, user: u}}]\ncurrent-context: only\n",
  );
  const wrong = kubectlVllmapp(["status", "--kubeconfig", kubeconfig, "--context", "elsewhere"], dir, {
    KUBECONFIG: "/nonexistent",
  });
  assert.equal(wrong.code, 3, wrong.stderr);
  assert.match(wrong.stderr, /context "elsewhere" is not in the kubeconfig/);
  assert.match(wrong.stderr, /contexts: only/);
});
