/**
 * requires_auth: {secret, key}: the API key lives in a Secret the user manages (External Secrets, Sealed
 * Secrets). deploy's preflight checks it exists and never fills it; no <app>-api-key is made; the pod
 * reads NAME/KEY; status --show-api-key reads it. Against the test bed's control plane (kwok nodes).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { workdir } from "../support/cli.ts";
import { cliIn, kubectl, kubectlJson, withNamespaceFreed } from "./kubernetes-support.ts";

test("a user-managed API key Secret: checked by preflight, never filled, read by the pod and by status", async () => {
  const { ns, cleanup } = await withNamespaceFreed("vk-userkey");
  try {
    const dir = workdir({
      "vllm-app.yaml": `name: ukey\nmodel_path: /models/qwen3-0.6b\nresources: {gpu: "L4:1"}\nrequires_auth: {secret: team-keys, key: vllm}\n`,
    });
    const cli = cliIn(dir);
    for (const extra of [[], ["--create-secrets"]]) {
      const r = cli(["deploy", "-n", ns, "--no-wait", ...extra]);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /Secret team-keys does not exist in namespace \S+ \(needs key vllm\)/);
      assert.match(
        r.stderr,
        /hint: Secret team-keys holds the API key \(requires_auth\).* kubectl create secret generic team-keys -n \S+ --from-file=vllm=\/dev\/stdin/,
      );
    }
    assert.equal(
      (await kubectl(["-n", ns, "get", "secret", "team-keys"], { allowFail: true })).code !== 0,
      true,
      "never created by vllmapp",
    );
    await kubectl(["-n", ns, "create", "secret", "generic", "team-keys", "--from-literal=vllm=sk-team-1234"]);
    const r = cli(["deploy", "-n", ns, "--no-wait"]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /generated an API key/);
    assert.equal(
      (await kubectl(["-n", ns, "get", "secret", "ukey-api-key"], { allowFail: true })).code !== 0,
      true,
      "no generated key Secret",
    );
    const dep = await kubectlJson(["-n", ns, "get", "deployment", "ukey"]);
    const env = dep.spec.template.spec.containers
      .find((c: any) => c.name === "vllm")
      .env.find((e: any) => e.name === "VLLM_API_KEY");
    assert.deepEqual(env.valueFrom.secretKeyRef, { name: "team-keys", key: "vllm" });
    const s = cli(["status", "ukey", "-n", ns, "--show-api-key", "--json"]);
    assert.equal(s.code, 0, s.stderr);
    assert.equal(JSON.parse(s.stdout).apps[0].apiKey, "sk-team-1234");
    const hidden = cli(["status", "ukey", "-n", ns, "--json"]);
    assert.doesNotMatch(hidden.stdout, /sk-team-1234/);
    assert.equal(cli(["delete", "ukey", "-n", ns]).code, 0);
    assert.equal(
      (await kubectl(["-n", ns, "get", "secret", "team-keys"])).code,
      0,
      "the user's Secret outlives the app",
    );
  } finally {
    await cleanup();
  }
});
