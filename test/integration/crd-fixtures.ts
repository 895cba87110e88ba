/** The CRDs vendored (or written as stand-ins) under test/fixtures/crds/, installed into the test bed's API server. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { after, before } from "node:test";
import { ROOT } from "../support/cli.ts";

export const CRD_DIR = path.join(ROOT, "test", "fixtures", "crds");

type Kubectl = (args: string[], input?: string) => { code: number; stdout: string; stderr: string };

/**
 * Apply every fixture CRD and wait until each is established (right after an apply a CRD may have no status yet: retried).
 * A CRD an earlier file deleted without waiting is still terminating: it stays Established, but the API server refuses
 * to create its resources ("create not allowed while custom resource definition is terminating"), so those are waited
 * out first; and a CRD created again is served a few seconds after it is Established, so each is read once.
 */
export function installCrdFixtures(kubectl: Kubectl): void {
  waitOutTerminatingCrds(kubectl, [CRD_DIR]);
  const applied = kubectl(["apply", "--server-side", "--force-conflicts", "-f", CRD_DIR]);
  assert.equal(applied.code, 0, applied.stderr);
  const names = kubectl(["get", "-f", CRD_DIR, "-o", "name"]).stdout.split("\n").filter(Boolean);
  let established = false;
  for (let i = 0; i < 120 && !established; i++) {
    established = kubectl(["wait", "--for=condition=Established", ...names, "--timeout=30s"]).code === 0;
    if (!established) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
  }
  assert.ok(established, `the fixture CRDs are established: ${names.join(", ")}`);
  // a CRD deleted and created again is Established before its resources are served (404 for a few seconds)
  for (const resource of names.map((n) => n.replace(/^[^/]+\//, ""))) {
    let served = false;
    for (let i = 0; i < 240 && !served; i++) {
      served = kubectl(["get", resource, "--all-namespaces", "-o", "name"]).code === 0;
      if (!served) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
    }
    assert.ok(served, `the API server serves ${resource}`);
  }
}

/** Wait until those of the CRDs in these files (or folders) that are being deleted are gone; the others are left alone. */
export function waitOutTerminatingCrds(kubectl: Kubectl, files: string[]): void {
  // names and deletion times only: the CRDs themselves are megabytes, over spawnSync's output buffer
  const present = kubectl([
    "get",
    ...files.flatMap((f) => ["-f", f]),
    "--ignore-not-found",
    "--no-headers",
    "-o",
    "custom-columns=NAME:.metadata.name,DELETED:.metadata.deletionTimestamp",
  ]);
  assert.equal(present.code, 0, present.stderr);
  const terminating = present.stdout
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter(([name, deleted]) => name && deleted && deleted !== "<none>")
    .map(([name]) => `crd/${name}`);
  if (terminating.length === 0) return;
  const gone = kubectl(["wait", "--for=delete", ...terminating, "--timeout=120s"]);
  assert.equal(gone.code, 0, `terminating CRDs are gone: ${gone.stderr}`);
}

/** The test bed's kubectl, synchronously; fails (never skips) when the test bed is not up. */
export function kubectlSync(args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const bin = process.env.VLLMAPP_TEST_KUBECTL;
  assert.ok(
    bin && process.env.KUBECONFIG,
    "the test bed must be up (npm test starts it): KUBECONFIG and VLLMAPP_TEST_KUBECTL are unset",
  );
  const r = spawnSync(bin, args, { input, encoding: "utf8", timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A namespace of its own with every fixture CRD installed, for server-side dry runs; both removed after the file's tests. */
export function dryRunNamespace(name: string): string {
  before(() => {
    assert.equal(kubectlSync(["create", "namespace", name]).code, 0);
    installCrdFixtures(kubectlSync);
  });
  after(() => {
    kubectlSync(["delete", "namespace", name, "--wait=false"]);
    kubectlSync(["delete", "-f", CRD_DIR, "--ignore-not-found", "--wait=false"]);
  });
  return name;
}
