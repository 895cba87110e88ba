/**
 * The API client's connections: requests that end share a few kept-alive connections (at most
 * POOLED_SOCKETS at once), and streams (logs, watches) get sockets of their own, so they never wait for
 * the pool. A real kubeconfig, so client-node's own per-call agent is what gets replaced.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { KubeApi, POOLED_SOCKETS } from "../../../src/cluster/api.ts";

async function server() {
  let connections = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const held: ServerResponse[] = [];
  const srv = createServer((req, res) => {
    if (req.url!.includes("/log")) {
      // a stream that stays open until the test ends it
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("first line\n");
      held.push(res);
      return;
    }
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    setTimeout(() => {
      inFlight--;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ kind: "Thing", url: req.url }));
    }, 5);
  });
  srv.on("connection", () => connections++);
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const kc = new KubeConfig();
  const server = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  kc.loadFromOptions({
    clusters: [{ name: "c", server, skipTLSVerify: true }],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  const api = new KubeApi({ kc, context: "x", server });
  return {
    api,
    stats: () => ({ connections, maxInFlight }),
    close: () => {
      for (const r of held) r.end();
      srv.closeAllConnections();
      srv.close();
    },
  };
}

test("requests reuse kept-alive connections: 300 requests, at most POOLED_SOCKETS connections and in flight at once", async () => {
  const s = await server();
  try {
    for (let i = 0; i < 20; i++) await s.api.request("GET", `/api/v1/namespaces/n/pods/p${i}`, { what: "read" });
    assert.equal(s.stats().connections, 1, "one after another: one connection");
    const answers = await Promise.all(
      Array.from({ length: 280 }, (_, i) =>
        s.api.request<{ url: string }>("GET", `/api/v1/namespaces/n/secrets/s${i}`, { what: "read" }),
      ),
    );
    assert.deepEqual(
      answers.map((a) => a.url),
      Array.from({ length: 280 }, (_, i) => `/api/v1/namespaces/n/secrets/s${i}`),
    );
    assert.ok(
      s.stats().maxInFlight <= POOLED_SOCKETS,
      `at most ${POOLED_SOCKETS} at once (saw ${s.stats().maxInFlight})`,
    );
    assert.ok(
      s.stats().connections <= POOLED_SOCKETS,
      `at most ${POOLED_SOCKETS} connections (saw ${s.stats().connections})`,
    );
  } finally {
    s.close();
  }
});

test("open streams take no pooled connection: requests still answer while more streams than the pool stay open", async () => {
  const s = await server();
  const ac = new AbortController();
  try {
    const firstLines: string[] = [];
    const streams = Array.from({ length: POOLED_SOCKETS + 4 }, (_, i) =>
      s.api.lines(
        `/api/v1/namespaces/n/pods/p${i}/log`,
        { query: { follow: true }, signal: ac.signal, what: "follow" },
        (l) => void firstLines.push(`${i}:${l}`),
      ),
    );
    while (firstLines.length < POOLED_SOCKETS + 4) await new Promise((r) => setTimeout(r, 10));
    const answer = await s.api.request<{ url: string }>("GET", "/api/v1/namespaces/n", { what: "read" });
    assert.equal(answer.url, "/api/v1/namespaces/n");
    ac.abort();
    await Promise.all(streams);
  } finally {
    s.close();
  }
});
