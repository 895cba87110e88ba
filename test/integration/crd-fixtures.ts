/** The CRDs vendored (or written as stand-ins) under test/fixtures/crds/, installed into the test bed's API server. */
import assert from "node:assert/strict";
import path from "node:path";
import { ROOT } from "../helpers.ts";

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
