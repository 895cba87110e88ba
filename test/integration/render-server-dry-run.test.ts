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
import { runCli, ROOT, workdir } from "../support/cli.ts";
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

test("strings YAML 1.1 reads otherwise (N, on, 1:20, NEL, LS, PS): kubectl reads them as written, and the API server takes the stream", () => {
  // the fuzzer's seeds: a model_id with U+2028 was printed plain, and kubectl (YAML 1.1, where NEL, LS and
  // PS break lines) refused the whole stream; an env var named N was printed plain and reached the server as false
  const odd = { id: "qwen3\u2028.6b", ls: "a\u2029b", nel: "c\u0085d" };
  const dir = workdir({
    "vllm-app.yaml": `name: odd\nmodel_hf_path: Qwen/Qwen3-0.6B\nmodel_id: ${JSON.stringify(odd.id)}\nresources:\n  gpu: L4:1\nenv_vars:\n  LS: ${JSON.stringify(odd.ls)}\n  NEL: ${JSON.stringify(odd.nel)}\n  N: "N"\n  ON: "on"\n  T: "1:20"\n`,
  });
  const r = runCli(["render", "--dry-run", "-o", "yaml", "--namespace", NS], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const applied = kubectl(
    ["apply", "--server-side", "--field-manager=vllmapp", "--dry-run=server", "-f", "-"],
    r.stdout,
  );
  assert.equal(applied.code, 0, `${applied.stderr}\n${r.stdout}`);
  // what kubectl reads from the stream (server-side apply itself turns a NEL into a space on the server)
  const doc = r.stdout.split(/^---$/m).find((d) => /^kind: Deployment$/m.test(d))!;
  const read = kubectl(["create", "--dry-run=client", "-o", "json", "-f", "-"], doc);
  assert.equal(read.code, 0, read.stderr);
  const deployment = JSON.parse(read.stdout);
  assert.equal(deployment.metadata.annotations["vllmapp.dev/model-id"], odd.id);
  const env = Object.fromEntries(
    deployment.spec.template.spec.containers[0].env.map((e: { name: string; value?: string }) => [e.name, e.value]),
  );
  assert.equal(env.LS, odd.ls);
  assert.equal(env.NEL, odd.nel);
  assert.deepEqual([env.N, env.ON, env.T], ["N", "on", "1:20"]);
});
