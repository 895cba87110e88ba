/**
 * Guard rail: the test bed's own processes listen on 127.0.0.1 or the real node's pod bridge (198.19.0.1) only,
 * and never talk to private-range addresses.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { sh, tbEnv } from "../support/testbed.ts";

const PRIVATE = [/^10\./, /^172\.(1[6-9]|2\d|3[01])\./, /^192\.168\./];

test("test bed processes listen on 127.0.0.1 or the pod bridge only and have no connection to a private-range address", async () => {
  const allowed = ["127.0.0.1", tbEnv("VLLMAPP_REAL_NODE_IP")];
  const state = JSON.parse(readFileSync(tbEnv("VLLMAPP_TESTBED_STATE"), "utf8"));
  const pids = new Set<number>(state.processes.map((p: { pid: number }) => p.pid));
  assert.ok(pids.size >= 5, "state lists the control-plane processes");
  const ss = await sh("ss", ["-tanpH"]);
  assert.equal(ss.code, 0, ss.stderr);
  const ours = ss.stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const f = line.trim().split(/\s+/);
      const owners = [...(f[5] ?? "").matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
      return { state: f[0] ?? "", local: f[3] ?? "", peer: f[4] ?? "", owners };
    })
    .filter((s) => s.owners.some((p) => pids.has(p)));
  assert.ok(ours.length > 0, "found sockets of the test bed processes");
  const host = (addr: string) =>
    addr
      .replace(/:\d+$/, "")
      .replace(/^\[|\]$/g, "")
      .replace(/^::ffff:/, "");
  for (const s of ours) {
    if (s.state === "LISTEN")
      assert.ok(
        allowed.includes(host(s.local)),
        `listener ${s.local} of pid ${s.owners}: not on ${allowed.join(" or ")}`,
      );
    else {
      const peer = host(s.peer);
      assert.ok(!PRIVATE.some((re) => re.test(peer)), `connection ${s.local} -> ${s.peer} (pid ${s.owners})`);
    }
  }
});
