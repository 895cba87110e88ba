/**
 * What `render` prints, the API server accepts: every golden case, rendered into a namespace and sent
 * through `kubectl apply --server-side --dry-run=server` against the test bed's real kube-apiserver.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { runCli, ROOT } from "../helpers.ts";

const KUBECTL = process.env.VLLMAPP_TEST_KUBECTL;
const NS = `render-dry-run-${process.pid}`;
const CRD = path.join(ROOT, "test", "fixtures", "crds", "keda-scaledobjects.yaml");
const LWS_CRD = path.join(ROOT, "test", "fixtures", "crds", "leaderworkerset.yaml");

function kubectl(args: string[], input?: string) {
  assert.ok(KUBECTL && process.env.KUBECONFIG, "the test bed must be up (npm test starts it): KUBECONFIG and VLLMAPP_TEST_KUBECTL are unset");
  const r = spawnSync(KUBECTL, args, { input, encoding: "utf8", timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

before(() => {
  assert.equal(kubectl(["create", "namespace", NS]).code, 0);
  const crd = kubectl(["apply", "--server-side", "-f", CRD]);
  assert.equal(crd.code, 0, crd.stderr);
  assert.equal(kubectl(["wait", "--for=condition=Established", "crd/scaledobjects.keda.sh", "--timeout=30s"]).code, 0);
  const lws = kubectl(["apply", "--server-side", "-f", LWS_CRD]);
  assert.equal(lws.code, 0, lws.stderr);
  // right after the apply the CRD may have no status yet, which `kubectl wait` treats as an error: retry
  let established = false;
  for (let i = 0; i < 120 && !established; i++) {
    established = kubectl(["wait", "--for=condition=Established", "crd/leaderworkersets.leaderworkerset.x-k8s.io", "--timeout=30s"]).code === 0;
    if (!established) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
  }
  assert.ok(established, "the LeaderWorkerSet CRD is established");
});

after(() => {
  kubectl(["delete", "namespace", NS, "--wait=false"]);
  kubectl(["delete", "-f", CRD, "--ignore-not-found"]);
  kubectl(["delete", "-f", LWS_CRD, "--ignore-not-found", "--wait=false"]);
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
