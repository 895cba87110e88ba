/**
 * What `render` prints, the API server accepts: every golden case, rendered into a namespace and sent
 * through `kubectl apply --server-side --dry-run=server` against the test bed's real kube-apiserver, with
 * the CRDs of test/fixtures/crds/ installed (KEDA's ScaledObject and the HTTP add-on's HTTPScaledObject,
 * LeaderWorkerSet, Gateway API's HTTPRoute and Gateway, the Inference Extension's InferencePool,
 * prometheus-operator's PodMonitor, PrometheusRule, Prometheus).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { runCli, ROOT } from "../helpers.ts";
import { CRD_DIR, installCrdFixtures } from "./crd-fixtures.ts";

const KUBECTL = process.env.VLLMAPP_TEST_KUBECTL;
const NS = `render-dry-run-${process.pid}`;

function kubectl(args: string[], input?: string) {
  assert.ok(KUBECTL && process.env.KUBECONFIG, "the test bed must be up (npm test starts it): KUBECONFIG and VLLMAPP_TEST_KUBECTL are unset");
  const r = spawnSync(KUBECTL, args, { input, encoding: "utf8", timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

before(() => {
  assert.equal(kubectl(["create", "namespace", NS]).code, 0);
  installCrdFixtures(kubectl);
});

after(() => {
  kubectl(["delete", "namespace", NS, "--wait=false"]);
  kubectl(["delete", "-f", CRD_DIR, "--ignore-not-found", "--wait=false"]);
});

const CASES = path.join(ROOT, "test", "golden", "cases");
for (const name of readdirSync(CASES).sort().filter((n) => n !== "docker-qwen3")) {
  test(`${name}: the API server accepts every rendered object`, () => {
    const r = runCli(["render", "--dry-run", "-o", "yaml", "--namespace", NS], { cwd: path.join(CASES, name) });
    assert.equal(r.code, 0, r.stderr);
    const applied = kubectl(["apply", "--server-side", "--field-manager=vllmapp", "--dry-run=server", "-f", "-"], r.stdout);
    assert.equal(applied.code, 0, `${applied.stderr}\n${r.stdout}`);
    const kinds = (r.stdout.match(/^kind: \S+$/gm) ?? []).length;
    assert.equal(applied.stdout.trim().split("\n").filter((l) => /serverside-applied \(server dry run\)$/.test(l)).length, kinds, applied.stdout);
  });
}
