/**
 * What `render` prints, the API server accepts: every golden case, rendered into a namespace and sent
 * through `kubectl apply --server-side --dry-run=server` against the test bed's real kube-apiserver, with
 * the CRDs of test/fixtures/crds/ installed (KEDA's ScaledObject and the HTTP add-on's HTTPScaledObject,
 * LeaderWorkerSet, Gateway API's HTTPRoute and Gateway, the Inference Extension's InferencePool,
 * prometheus-operator's PodMonitor, PrometheusRule, Prometheus). The namespace enforces and warns Pod
 * Security "restricted": the workloads draw no PodSecurity warning, and each pod template (a Deployment's,
 * a LeaderWorkerSet's leader and worker, whose pods the LWS controller makes) created as a Pod is admitted.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { runCli, ROOT } from "../support/cli.ts";
import { dryRunNamespace, kubectlSync } from "./crd-fixtures.ts";

const NS = dryRunNamespace(`render-dry-run-${process.pid}`);
const kubectl = kubectlSync;
before(() => {
  const r = kubectl([
    "label",
    "namespace",
    NS,
    "pod-security.kubernetes.io/enforce=restricted",
    "pod-security.kubernetes.io/warn=restricted",
  ]);
  assert.equal(r.code, 0, r.stderr);
});

/** Every pod template of the rendered objects, as Pods to create. */
function podsOf(yaml: string): { name: string; pod: object }[] {
  return parseAllDocuments(yaml).flatMap((d) => {
    const o = d.toJS() as any;
    const lws = o?.spec?.leaderWorkerTemplate;
    const templates: [string, any][] = lws
      ? [
          ["leader", lws.leaderTemplate],
          ["worker", lws.workerTemplate],
        ]
      : o?.spec?.template?.spec?.containers
        ? [["pod", o.spec.template]]
        : [];
    // what other admission plugins check against objects this namespace lacks (a PriorityClass, the user's
    // ServiceAccount) is left out: it says nothing about Pod Security
    return templates.map(([role, t]) => ({
      name: `${o.kind}/${o.metadata.name} ${role}`,
      pod: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: `${o.metadata.name}-${role}`.slice(0, 63), namespace: NS, labels: t.metadata?.labels },
        spec: { ...t.spec, priorityClassName: undefined, serviceAccountName: undefined },
      },
    }));
  });
}

const CASES = path.join(ROOT, "test", "golden", "cases");
for (const name of readdirSync(CASES)
  .sort()
  .filter((n) => n !== "docker-qwen3")) {
  test(`${name}: the API server accepts every rendered object, with no PodSecurity warning in a restricted namespace`, () => {
    const r = runCli(["render", "--dry-run", "-o", "yaml", "--namespace", NS], { cwd: path.join(CASES, name) });
    assert.equal(r.code, 0, r.stderr);
    const applied = kubectl(
      ["apply", "--server-side", "--field-manager=vllmapp", "--dry-run=server", "-f", "-"],
      r.stdout,
    );
    assert.equal(applied.code, 0, `${applied.stderr}\n${r.stdout}`);
    assert.doesNotMatch(applied.stderr, /Warning|PodSecurity/, applied.stderr);
    const kinds = (r.stdout.match(/^kind: \S+$/gm) ?? []).length;
    assert.equal(
      applied.stdout
        .trim()
        .split("\n")
        .filter((l) => /serverside-applied \(server dry run\)$/.test(l)).length,
      kinds,
      applied.stdout,
    );
    // Pod Security enforces on pods: each template, created as a Pod, is admitted by enforce=restricted
    const pods = podsOf(r.stdout);
    assert.ok(pods.length > 0);
    for (const p of pods) {
      const created = kubectl(["create", "--dry-run=server", "-o", "name", "-f", "-"], JSON.stringify(p.pod));
      assert.equal(created.code, 0, `${p.name}: ${created.stderr}`);
      assert.doesNotMatch(created.stderr, /Warning|PodSecurity/, `${p.name}: ${created.stderr}`);
    }
  });
}

test("a pod that is not restricted is refused there (the check above can fail): security.profile baseline", () => {
  const dir = path.join(CASES, "qwen3-l4");
  const r = runCli(["render", "--dry-run", "-o", "yaml", "--namespace", NS, "--set", "security.profile=baseline"], {
    cwd: dir,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /the pod meets Pod Security "baseline" \(security.profile baseline\), not "restricted"/);
  const [p] = podsOf(r.stdout);
  const created = kubectl(["create", "--dry-run=server", "-o", "name", "-f", "-"], JSON.stringify(p!.pod));
  assert.notEqual(created.code, 0);
  assert.match(created.stderr, /violates PodSecurity "restricted:latest"/);
});
