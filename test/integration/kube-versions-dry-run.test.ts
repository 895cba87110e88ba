/**
 * Every supported Kubernetes accepts what `render --kube-version X.Y` prints for it: every golden case
 * (the Kubernetes ones) rendered for the oldest supported minor goes through a server-side dry run on
 * the test bed's oldest API server (KUBECONFIG_OLDEST), and rendered for the newest through the test
 * bed's main API server (KUBECONFIG), each into a namespace labelled Pod Security `restricted`
 * (enforce and warn), with the CRDs of test/fixtures/crds installed on both. Accepted means: kubectl
 * exits 0, every object is "serverside-applied (server dry run)", and the server sent no warning at
 * all (kubectl prints each one on stderr: PodSecurity's "would violate", deprecated APIs, unknown or
 * duplicate fields). PodSecurity does not look into a LeaderWorkerSet, so each LeaderWorkerSet's leader
 * and worker templates are also dry-run as the Pods its controller would create, which the
 * restricted namespace admits or refuses.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { runCli, ROOT } from "../support/cli.ts";
import { CRD_DIR, installCrdFixtures } from "./crd-fixtures.ts";

const CASES = path.join(ROOT, "test", "golden", "cases");
const NS = `kube-versions-${process.pid}`;
/** test/cluster/versions.env: K8S_VERSION (the test bed's main API server), K8S_OLDEST_VERSION */
const versions = Object.fromEntries(
  [...readFileSync(path.join(ROOT, "test", "cluster", "versions.env"), "utf8").matchAll(/^([A-Z0-9_]+)=(\S+)/gm)].map(
    (m) => [m[1], m[2]],
  ),
) as Record<string, string>;

/** "v1.30.14" -> "1.30" */
const minorOf = (v: string) => /^v?(\d+\.\d+)/.exec(v)?.[1] ?? "";

function kubectlFor(kubeconfig: string | undefined) {
  return (args: string[], input?: string) => {
    const bin = process.env.VLLMAPP_TEST_KUBECTL;
    assert.ok(
      bin && kubeconfig,
      "the test bed must be up (npm test starts it): VLLMAPP_TEST_KUBECTL, KUBECONFIG and KUBECONFIG_OLDEST are set by it",
    );
    const r = spawnSync(bin, [`--kubeconfig=${kubeconfig}`, ...args], { input, encoding: "utf8", timeout: 60_000 });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
}

/** The Pods a LeaderWorkerSet's controller makes from its leader and worker templates. */
function lwsPods(yamlText: string): string[] {
  const pods: string[] = [];
  for (const doc of parseAllDocuments(yamlText)) {
    const o = doc.toJS() as {
      kind?: string;
      metadata?: { name: string; namespace?: string };
      spec?: { leaderWorkerTemplate?: Record<string, { metadata?: object; spec?: object }> };
    } | null;
    if (o?.kind !== "LeaderWorkerSet" || !o.metadata || !o.spec?.leaderWorkerTemplate) continue;
    for (const role of ["leaderTemplate", "workerTemplate"]) {
      const tpl = o.spec.leaderWorkerTemplate[role];
      if (!tpl) continue;
      pods.push(
        stringify({
          apiVersion: "v1",
          kind: "Pod",
          metadata: {
            ...tpl.metadata,
            name: `${o.metadata.name}-${role.toLowerCase()}`,
            namespace: o.metadata.namespace,
          },
          spec: tpl.spec,
        }),
      );
    }
  }
  return pods;
}

const servers = [
  { name: "oldest", version: versions.K8S_OLDEST_VERSION ?? "", kubectl: kubectlFor(process.env.KUBECONFIG_OLDEST) },
  { name: "newest", version: versions.K8S_VERSION ?? "", kubectl: kubectlFor(process.env.KUBECONFIG) },
];

before(() => {
  for (const s of servers) {
    // the server is the minor it is said to be
    const v = s.kubectl(["version", "-o", "json"]);
    assert.equal(v.code, 0, v.stderr);
    const sv = JSON.parse(v.stdout).serverVersion as { gitVersion: string };
    assert.equal(sv.gitVersion, s.version, `${s.name} API server version`);
    installCrdFixtures(s.kubectl);
    const ns = `apiVersion: v1
kind: Namespace
metadata:
  name: ${NS}
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: latest
    pod-security.kubernetes.io/warn: restricted
    pod-security.kubernetes.io/warn-version: latest
`;
    const created = s.kubectl(["create", "-f", "-"], ns);
    assert.equal(created.code, 0, created.stderr);
    // the oldest server runs no controller-manager: Pods need the namespace's default ServiceAccount
    const sa = s.kubectl(
      ["apply", "--server-side", "-n", NS, "-f", "-"],
      "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n",
    );
    assert.equal(sa.code, 0, sa.stderr);
  }
});

after(() => {
  for (const s of servers) {
    s.kubectl(["delete", "namespace", NS, "--wait=false"]);
    s.kubectl(["delete", "-f", CRD_DIR, "--ignore-not-found", "--wait=false"]);
  }
});

for (const name of readdirSync(CASES)
  .sort()
  .filter((n) => n !== "docker-qwen3")) {
  for (const s of servers) {
    const minor = minorOf(s.version);
    test(`${name}: render --kube-version ${minor} passes a server-side dry run on ${s.version} in a restricted namespace, with no warning`, () => {
      const r = runCli(["render", "--dry-run", "-o", "yaml", "--namespace", NS, "--kube-version", minor], {
        cwd: path.join(CASES, name),
      });
      assert.equal(r.code, 0, r.stderr);
      const kinds = (r.stdout.match(/^kind: \S+$/gm) ?? []).length;
      assert.ok(kinds > 0, r.stdout);
      const applied = s.kubectl(
        ["apply", "--server-side", "--field-manager=vllmapp", "--dry-run=server", "-f", "-"],
        r.stdout,
      );
      assert.equal(applied.code, 0, `${applied.stderr}\n${r.stdout}`);
      assert.equal(applied.stderr, "", `warnings from the ${s.version} API server:\n${applied.stderr}`);
      assert.equal(
        applied.stdout
          .trim()
          .split("\n")
          .filter((l) => /serverside-applied \(server dry run\)$/.test(l)).length,
        kinds,
        applied.stdout,
      );
      for (const pod of lwsPods(r.stdout)) {
        const created = s.kubectl(["create", "--dry-run=server", "-f", "-"], pod);
        assert.equal(created.code, 0, `${created.stderr}\n${pod}`);
        assert.equal(created.stderr, "", `warnings from the ${s.version} API server:\n${created.stderr}`);
      }
    });
  }
}
