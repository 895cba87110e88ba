// The esbuild plugin both builds use (bin/build.mjs: dist/ for npm; bin/build-binary.mjs: the single
// executable); bin/build.mjs says why each piece is deferred.
//   lazy: "runtime" — the proxy/OIDC packages client-node loads are required from node_modules when a
//         kubeconfig needs them (npm installs them as client-node's dependencies; an indirect require
//         keeps esbuild from bundling them);
//   lazy: "bundled" — they are bundled, and initialised on first use (the single executable has no node_modules).
import crypto from "node:crypto";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** @returns {import("esbuild").Plugin} */
export function startupPlugin({ lazy = "runtime" } = {}) {
  const prelude = lazy === "runtime" ? "const req = require;\n" : "";
  const load = (m) => `${lazy === "runtime" ? "req" : "require"}(${JSON.stringify(m)})`;
  // sync constructors require on first use; async entry points become lazy chunks
  const LAZY = {
    "socks-proxy-agent": `export class SocksProxyAgent { constructor(...a) { return new (${load("socks-proxy-agent")}.SocksProxyAgent)(...a); } }`,
    hpagent: `export class HttpProxyAgent { constructor(...a) { return new (${load("hpagent")}.HttpProxyAgent)(...a); } }
export class HttpsProxyAgent { constructor(...a) { return new (${load("hpagent")}.HttpsProxyAgent)(...a); } }`,
    undici: `export class Agent { constructor(...a) { return new (${load("undici")}.Agent)(...a); } }
export class ProxyAgent { constructor(...a) { return new (${load("undici")}.ProxyAgent)(...a); } }
export async function fetch(...a) { return (await import("undici")).fetch(...a); }`,
    socks: `export const SocksClient = { createConnection: (...a) => ${load("socks")}.SocksClient.createConnection(...a) };`,
    "openid-client": `const load = () => import("openid-client");
export const discovery = async (...a) => (await load()).discovery(...a);
export const refreshTokenGrant = async (...a) => (await load()).refreshTokenGrant(...a);`,
  };
  return {
    name: "vllmapp-startup",
    setup(b) {
      const src = fileURLToPath(new URL("../src/", import.meta.url));
      const clientNode = path.dirname(createRequire(import.meta.url).resolve("@kubernetes/client-node"));
      b.onResolve({ filter: /^@kubernetes\/client-node$/ }, () => ({ path: path.join(clientNode, "config.js") }));
      b.onResolve({ filter: /^\.\/gen\/index\.js$/ }, (args) =>
        args.importer === path.join(clientNode, "config.js")
          ? { path: "client-node-gen", namespace: "vllmapp" }
          : undefined,
      );
      b.onLoad({ filter: /^client-node-gen$/, namespace: "vllmapp" }, () => ({
        contents: `export { createConfiguration } from ${JSON.stringify(path.join(clientNode, "gen", "configuration.js"))};
export { ServerConfiguration } from ${JSON.stringify(path.join(clientNode, "gen", "servers.js"))};`,
        loader: "js",
        resolveDir: clientNode,
      }));
      // Packages client-node loads for proxies, fetch (undici) and OIDC: loaded when a kubeconfig needs them.
      const lazyFilter = new RegExp(`^(${Object.keys(LAZY).join("|")})$`);
      b.onResolve({ filter: lazyFilter }, (args) =>
        args.importer.startsWith(clientNode) ? { path: args.path, namespace: "vllmapp-lazy" } : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: "vllmapp-lazy" }, (args) => ({
        contents: prelude + LAZY[args.path],
        loader: "js",
        resolveDir: clientNode,
      }));
      // node:crypto (7 ms of start-up: Node's own snapshot does not hold it) is loaded when a function of it is
      // first called; vllmapp imports functions of it only (a name that is not one fails the build)
      b.onResolve({ filter: /^node:crypto$/ }, (args) =>
        args.importer.startsWith(src) ? { path: "lazy-crypto", namespace: "vllmapp" } : undefined,
      );
      b.onLoad({ filter: /^lazy-crypto$/, namespace: "vllmapp" }, () => ({
        contents: Object.entries(crypto)
          .filter(([name, f]) => typeof f === "function" && /^[a-z]/.test(name))
          .map(([name]) => `export function ${name}(...a) { return require("node:crypto").${name}(...a); }`)
          .join("\n"),
        loader: "js",
      }));
      b.onResolve({ filter: /^node:child_process$/ }, (args) =>
        /node_modules[\\/]commander[\\/]/.test(args.importer)
          ? { path: "lazy-child-process", namespace: "vllmapp" }
          : undefined,
      );
      b.onLoad({ filter: /^lazy-child-process$/, namespace: "vllmapp" }, () => ({
        contents: `const load = () => require("node:child_process");
module.exports = new Proxy({}, { get: (_, k) => load()[k] });`,
        loader: "js",
      }));
    },
  };
}
