/**
 * The GitOps path on the test bed's real node: `render --out` + the command it prints + `kubectl apply -k`
 * gives a Ready pod that demands the key; without the command the pod cannot start (its Secret has no
 * data). Re-applying the folder, client- or server-side, keeps the key.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { runCli, workdir } from "../support/cli.ts";
import { freePort, kubectl, kubectlJson, tbEnv, waitUntil, withNamespace } from "../support/testbed.ts";

test(
  "render + the printed key command + kubectl apply -k: a Ready pod that demands the key, kept across re-applies",
  { timeout: 240_000 },
  async () => {
    const { ns, cleanup } = await withNamespace("gitops-key");
    try {
      const dir = workdir({
        "vllm-app.yaml": `name: gitops
model_hf_path: Qwen/Qwen3-0.6B
image: ${tbEnv("VLLM_STANDIN_IMAGE")}
namespace: ${ns}
resources: {gpu: "${tbEnv("VLLMAPP_REAL_GPU")}:1", cpu: 100m, memory: 256Mi, shm: 64Mi}
startup_timeout: 2m
`,
      });
      const r = runCli(["render", "--out", "out"], { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /kubectl apply -k/);
      const command = /\n {2}(openssl rand .*)\n/.exec(r.stderr)?.[1];
      assert.ok(command, r.stderr);

      // applied as rendered, the pod cannot start: its API key Secret has no data
      await kubectl(["apply", "-k", path.join(dir, "out", "gitops")]);
      const reason = await waitUntil(
        "the pod waits for its key",
        async () => {
          const pods = await kubectlJson<{ items: any[] }>(["-n", ns, "get", "pods", "-l", "vllmapp.dev/app=gitops"]);
          return pods.items[0]?.status?.containerStatuses?.[0]?.state?.waiting?.reason === "CreateContainerConfigError"
            ? "CreateContainerConfigError"
            : null;
        },
        90_000,
      );
      assert.equal(reason, "CreateContainerConfigError");

      // the printed command, as a user runs it (kubectl of the test bed first on PATH)
      const env = { ...process.env, PATH: `${path.dirname(tbEnv("VLLMAPP_TEST_KUBECTL"))}:${process.env.PATH}` };
      const made = spawnSync("sh", ["-c", command], { env, encoding: "utf8", timeout: 60_000 });
      assert.equal(made.status, 0, made.stderr);
      assert.doesNotMatch(`${made.stdout}${made.stderr}`, /[0-9a-f]{64}/, "the key is never printed");
      const keyOf = async () =>
        Buffer.from(
          (await kubectlJson<any>(["-n", ns, "get", "secret", "gitops-api-key"])).data.VLLM_API_KEY,
          "base64",
        ).toString();
      const key = await keyOf();
      assert.match(key, /^[0-9a-f]{64}$/);

      await kubectl(["-n", ns, "rollout", "status", "deployment/gitops", "--timeout=150s"], { timeoutMs: 160_000 });

      // re-applying the folder (client-side, then server-side) leaves the key where it is
      await kubectl(["apply", "-k", path.join(dir, "out", "gitops")]);
      await kubectl(["apply", "--server-side", "--field-manager=gitops", "-k", path.join(dir, "out", "gitops")]);
      assert.equal(await keyOf(), key);

      // the endpoint demands the key
      const port = await freePort();
      const pf = spawn(
        tbEnv("VLLMAPP_TEST_KUBECTL"),
        ["-n", ns, "port-forward", "deployment/gitops", `${port}:8000`, "--address", "127.0.0.1"],
        { stdio: "ignore" },
      );
      try {
        const open = await waitUntil(
          "port-forward answers",
          async () => (await fetch(`http://127.0.0.1:${port}/v1/models`).catch(() => null))?.status,
          30_000,
        );
        assert.equal(open, 401);
        const ok = await fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { Authorization: `Bearer ${key}` } });
        assert.equal(ok.status, 200);
      } finally {
        pf.kill();
      }
    } finally {
      await cleanup();
    }
  },
);
