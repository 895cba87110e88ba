/** The CRDs vendored (or written as stand-ins) under test/fixtures/crds/, installed into the test bed's API server. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { after, before } from "node:test";
import { ROOT } from "../support/cli.ts";

export const CRD_DIR = path.join(ROOT, "test", "fixtures", "crds");

type Kubectl = (args: string[], input?: string) => { code: number; stdout: string; stderr: string };

/** Apply every fixture CRD and wait until each is established (right after an apply a CRD may have no status yet: retried). */
export function installCrdFixtures(kubectl: Kubectl): void {
  const applied = kubectl(["apply", "--server-side", "--force-conflicts", "-f", CRD_DIR]);
  assert.equal(applied.code, 0, applied.stderr);
  const names = kubectl(["get", "-f", CRD_DIR, "-o", "name"]).stdout.split("\n").filter(Boolean);
  let established = false;
  for (let i = 0; i < 120 && !established; i++) {
    established = kubectl(["wait", "--for=condition=Established", ...names, "--timeout=30s"]).code === 0;
    if (!established) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
  }
  assert.ok(established, `the fixture CRDs are established: ${names.join(", ")}`);
}

/** The test bed's kubectl, synchronously; fails (never skips) when the test bed is not up. */
export function kubectlSync(args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const bin = process.env.VLLMAPP_TEST_KUBECTL;
  assert.ok(bin && process.env.KUBECONFIG, "the test bed must be up (npm test starts it): KUBECONFIG and VLLMAPP_TEST_KUBECTL are unset");
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
