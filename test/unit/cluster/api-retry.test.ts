/** The API client retries what client-go retries: 429 for every method, 502/503/504 for all but POST. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeApi } from "../../../src/cluster/api.ts";
import { ApiError } from "../../../src/cluster/errors.ts";
import type { Connection } from "../../../src/cluster/connection.ts";

/** A server that answers the i-th request with answers[i] (the last one from then on); counts requests. */
async function server(answers: { status: number; retryAfter?: string; body?: string }[]) {
  let hits = 0;
  const srv = createServer((req, res) => {
    const a = answers[Math.min(hits++, answers.length - 1)]!;
    res.writeHead(a.status, {
      "content-type": "application/json",
      ...(a.retryAfter !== undefined ? { "retry-after": a.retryAfter } : {}),
    });
    res.end(a.body ?? JSON.stringify(a.status < 400 ? { kind: "Thing" } : { message: `status ${a.status}` }));
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const conn = {
    kc: { applyToHTTPSOptions: async () => {} },
    context: "test",
    server: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
  } as unknown as Connection;
  return { api: new KubeApi(conn), hits: () => hits, close: () => srv.close() };
}

test("429 (a throttled server, a new CRD's storage initializing) is retried, honouring Retry-After", async () => {
  const s = await server([
    { status: 429, retryAfter: "0" },
    { status: 429, body: JSON.stringify({ message: "storage is (re)initializing" }) },
    { status: 200 },
  ]);
  try {
    assert.deepEqual(await s.api.request("GET", "/apis/keda.sh/v1alpha1/scaledobjects", { what: "list" }), {
      kind: "Thing",
    });
    assert.equal(s.hits(), 3);
  } finally {
    s.close();
  }
});

test("503 is retried for idempotent methods, not for POST; after 6 tries the answer is the error", async () => {
  const post = await server([{ status: 503 }, { status: 200 }]);
  try {
    await assert.rejects(
      post.api.request("POST", "/api/v1/namespaces/x/secrets", { what: "create", body: {} }),
      (e) => e instanceof ApiError && e.status === 503,
    );
    assert.equal(post.hits(), 1);
  } finally {
    post.close();
  }
  const patch = await server([{ status: 503 }, { status: 502 }, { status: 200 }]);
  try {
    await patch.api.request("PATCH", "/apis/apps/v1/namespaces/x/deployments/y", {
      what: "apply",
      body: {},
      contentType: "application/apply-patch+yaml",
    });
    assert.equal(patch.hits(), 3);
  } finally {
    patch.close();
  }
  const down = await server([{ status: 503 }]);
  try {
    await assert.rejects(
      down.api.request("GET", "/api/v1/namespaces", { what: "list" }),
      (e) => e instanceof ApiError && e.status === 503,
    );
    assert.equal(down.hits(), 6);
  } finally {
    down.close();
  }
});
