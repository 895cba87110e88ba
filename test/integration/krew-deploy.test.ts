/**
 * `kubectl vllmapp deploy` against the test bed: the single executable installed by krew from the build's
 * manifest and archive (test/testbed/binary.mjs, cached), run by the test bed's kubectl as a plugin, with
 * kubectl's flags (-n, --kubeconfig) after the command. The app is the stand-in on the real node.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { workdir } from "../support/cli.ts";
import { kubectlJson, tbEnv, withNamespace } from "../support/testbed.ts";
import { installPlugin } from "../testbed/binary.mjs";

test(
  "kubectl vllmapp deploy -n NS --kubeconfig FILE: the plugin deploys an app that becomes Ready",
  { timeout: 600_000 },
  async () => {
    const { env } = (await installPlugin(workdir())) as { env: NodeJS.ProcessEnv };
    const { ns, cleanup } = await withNamespace("krew-plugin");
    try {
      const dir = workdir({
        "vllm-app.yaml": `name: krew-app
model_hf_path: Qwen/Qwen3-0.6B
image: ${tbEnv("VLLM_STANDIN_IMAGE")}
resources: {gpu: "${tbEnv("VLLMAPP_REAL_GPU")}:1", cpu: 100m, memory: 256Mi, shm: 64Mi}
startup_timeout: 2m
`,
      });
      const kubeconfig = tbEnv("KUBECONFIG");
      const r = spawnSync(
        tbEnv("VLLMAPP_TEST_KUBECTL"),
        ["vllmapp", "deploy", "-n", ns, "--kubeconfig", kubeconfig, "--offline"],
        {
          cwd: dir,
          env: { ...env, KUBECONFIG: "/nonexistent", CI: "1", NO_COLOR: "1" },
          encoding: "utf8",
          timeout: 300_000,
        },
      );
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      const d = await kubectlJson<{ status: { readyReplicas?: number } }>(["-n", ns, "get", "deployment", "krew-app"]);
      assert.equal(d.status.readyReplicas, 1);
    } finally {
      await cleanup();
    }
  },
);
