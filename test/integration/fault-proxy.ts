/**
 * A fault-injecting proxy in front of the test bed's kube-apiserver, for the fault tests: it terminates
 * TLS with the API server's own certificate (so the test bed's CA verifies it), forwards each request
 * with the admin client certificate, and lets a test answer chosen requests itself (429, 503), hold them
 * (to press Ctrl-C in a known phase), or go dark (every connection refused and the open ones reset).
 * Listens on 127.0.0.1 only.
 */
import { readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import type http from "node:http";
import type net from "node:net";
import path from "node:path";
import { tbEnv } from "../support/testbed.ts";

export interface Seen {
  method: string;
  path: string;
  /** the query string, parsed */
  query: URLSearchParams;
}

/** What to do with a request: forward it, answer it with an error status, or hold it until released. */
export type Action = "pass" | { status: number; retryAfter?: number } | "hold";

export interface FaultProxy {
  /** a kubeconfig file naming the proxy (the admin user, the test bed's CA) */
  kubeconfig: string;
  /** every request so far, in arrival order */
  seen: Seen[];
  /** decides per request; "pass" by default */
  rule: (r: Seen) => Action;
  /** resolves when a request matching `match` is being held */
  held(match: (r: Seen) => boolean): Promise<Seen>;
  /** forward every held request (and later ones that the rule holds are held again) */
  releaseAll(): void;
  /** refuse connections and reset open ones until `up()` */
  down(): void;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startFaultProxy(dir: string): Promise<FaultProxy> {
  const pki = path.join(tbEnv("VLLMAPP_TESTBED_DIR"), "pki");
  const upstream = new URL(tbEnv("VLLMAPP_TEST_APISERVER"));
  const ca = readFileSync(path.join(pki, "ca.crt"));
  const agent = new https.Agent({
    ca,
    cert: readFileSync(path.join(pki, "admin.crt")),
    key: readFileSync(path.join(pki, "admin.key")),
    keepAlive: true,
  });
  const sockets = new Set<net.Socket>();
  const holding: (() => void)[] = [];
  const waiters: { match: (r: Seen) => boolean; resolve: (r: Seen) => void }[] = [];
  let listening = true;

  const forward = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const out = https.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
        agent,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on("error", () => res.destroy());
    res.on("close", () => out.destroy());
    req.pipe(out);
  };

  const server = https.createServer(
    { cert: readFileSync(path.join(pki, "apiserver.crt")), key: readFileSync(path.join(pki, "apiserver.key")) },
    (req, res) => {
      const url = new URL(req.url ?? "/", "https://proxy");
      const seen: Seen = { method: req.method ?? "GET", path: url.pathname, query: url.searchParams };
      proxy.seen.push(seen);
      const action = proxy.rule(seen);
      if (action === "pass") return forward(req, res);
      if (action === "hold") {
        holding.push(() => forward(req, res));
        for (const w of waiters.filter((x) => x.match(seen))) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(seen);
        }
        return;
      }
      req.resume();
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (action.retryAfter !== undefined) headers["retry-after"] = String(action.retryAfter);
      res.writeHead(action.status, headers);
      res.end(
        JSON.stringify({
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          message: `injected by the test's fault proxy (${action.status})`,
          code: action.status,
        }),
      );
    },
  );
  server.on("connection", (s: net.Socket) => {
    if (!listening) return s.destroy();
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;

  const kubeconfig = path.join(dir, "proxy.kubeconfig");
  const admin = readFileSync(tbEnv("KUBECONFIG"), "utf8");
  writeFileSync(kubeconfig, admin.replace(/server: https:\/\/127\.0\.0\.1:\d+/, `server: https://127.0.0.1:${port}`));

  const proxy: FaultProxy = {
    kubeconfig,
    seen: [],
    rule: () => "pass",
    held: (match) => {
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
    releaseAll() {
      for (const go of holding.splice(0)) go();
    },
    down() {
      listening = false;
      server.close();
      for (const s of sockets) s.destroy();
    },
    async up() {
      listening = true;
      await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    },
    async close() {
      proxy.down();
      agent.destroy();
    },
  };
  return proxy;
}
