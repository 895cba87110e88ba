/**
 * What `render` prints, the API server accepts: every golden case, rendered into a namespace and sent
 * through `kubectl apply --server-side --dry-run=server` against the test bed's real kube-apiserver, with
 * the CRDs of test/fixtures/crds/ installed (KEDA's ScaledObject and the HTTP add-on's HTTPScaledObject,
 * LeaderWorkerSet, Gateway API's HTTPRoute and Gateway, the Inference Extension's InferencePool,
 * prometheus-operator's PodMonitor, PrometheusRule, Prometheus).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import path from "node:path";
import { runCli, ROOT } from "../helpers.ts";
import { dryRunNamespace, kubectlSync } from "./crd-fixtures.ts";

const NS = dryRunNamespace(`render-dry-run-${process.pid}`);
const kubectl = kubectlSync;

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
