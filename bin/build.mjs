#!/usr/bin/env node
// Bundles the CLI into dist/ with esbuild (npm run build). Start-up is most of what a CLI costs, so:
// - code splitting keeps @kubernetes/client-node, @inquirer/prompts, ora and the SDKs out of `render`;
// - the vLLM serve catalogs stay files (templates/vllm/catalogs/), read only when a render needs one;
// - the shipped templates are parsed here, not on every run (--templates DIR still reads a folder);
// - commander's eager require of node:child_process (for executable subcommands, unused here) is deferred;
// - @kubernetes/client-node is narrowed to KubeConfig: vllmapp talks to the API with its own small client,
//   and the package index would load 6 MB of generated API classes on every cluster command.
import { readFileSync, readdirSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { build } from "esbuild";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const templatesDir = new URL("../templates/kubernetes/", import.meta.url);
const { parse: parseYaml } = await import("yaml");
const defaultTemplates = Object.fromEntries(
  readdirSync(templatesDir)
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => [f, parseYaml(readFileSync(new URL(f, templatesDir), "utf8"))]),
);
const dist = new URL("../dist", import.meta.url);
// build next to dist/ and swap it in, so a CLI running meanwhile never sees a half-written folder
const next = new URL(`../.dist-${process.pid}`, import.meta.url);
const old = new URL(`../.dist-old-${process.pid}`, import.meta.url);

/** @type {import("esbuild").Plugin} */
const startup = {
  name: "vllmapp-startup",
  setup(b) {
    const clientNode = path.dirname(createRequire(import.meta.url).resolve("@kubernetes/client-node"));
    b.onResolve({ filter: /^@kubernetes\/client-node$/ }, () => ({ path: path.join(clientNode, "config.js") }));
    b.onResolve({ filter: /^\.\/gen\/index\.js$/ }, (args) =>
      args.importer === path.join(clientNode, "config.js") ? { path: "client-node-gen", namespace: "vllmapp" } : undefined,
    );
    b.onLoad({ filter: /^client-node-gen$/, namespace: "vllmapp" }, () => ({
      contents: `export { createConfiguration } from ${JSON.stringify(path.join(clientNode, "gen", "configuration.js"))};
export { ServerConfiguration } from ${JSON.stringify(path.join(clientNode, "gen", "servers.js"))};`,
      loader: "js",
      resolveDir: clientNode,
    }));
    // Packages client-node loads for proxies, fetch (undici) and OIDC: loaded when a kubeconfig needs them.
    // (sync constructors use an indirect require, resolved at run time from node_modules, where npm
    // installs them as client-node's dependencies; async entry points become lazy chunks.)
    const LAZY = {
      "socks-proxy-agent": `const req = require;
export class SocksProxyAgent { constructor(...a) { return new (req("socks-proxy-agent").SocksProxyAgent)(...a); } }`,
      hpagent: `const req = require;
export class HttpProxyAgent { constructor(...a) { return new (req("hpagent").HttpProxyAgent)(...a); } }
export class HttpsProxyAgent { constructor(...a) { return new (req("hpagent").HttpsProxyAgent)(...a); } }`,
      undici: `const req = require;
export class Agent { constructor(...a) { return new (req("undici").Agent)(...a); } }
export class ProxyAgent { constructor(...a) { return new (req("undici").ProxyAgent)(...a); } }
export async function fetch(...a) { return (await import("undici")).fetch(...a); }`,
      socks: `const req = require;
export const SocksClient = { createConnection: (...a) => req("socks").SocksClient.createConnection(...a) };`,
      "openid-client": `const load = () => import("openid-client");
export const discovery = async (...a) => (await load()).discovery(...a);
export const refreshTokenGrant = async (...a) => (await load()).refreshTokenGrant(...a);`,
    };
    const lazyFilter = new RegExp(`^(${Object.keys(LAZY).join("|")})$`);
    b.onResolve({ filter: lazyFilter }, (args) =>
      args.importer.startsWith(clientNode) ? { path: args.path, namespace: "vllmapp-lazy" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "vllmapp-lazy" }, (args) => ({ contents: LAZY[args.path], loader: "js", resolveDir: clientNode }));
    b.onResolve({ filter: /^node:child_process$/ }, (args) =>
      /node_modules[\\/]commander[\\/]/.test(args.importer) ? { path: "lazy-child-process", namespace: "vllmapp" } : undefined,
    );
    b.onLoad({ filter: /^lazy-child-process$/, namespace: "vllmapp" }, () => ({
      contents: `const load = () => require("node:child_process");
module.exports = new Proxy({}, { get: (_, k) => load()[k] });`,
      loader: "js",
    }));
  },
};

await build({
  entryPoints: ["src/cli.ts"],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  splitting: true,
  outdir: next.pathname,
  chunkNames: "chunks/[name]-[hash]",
  minifyWhitespace: true,
  minifySyntax: true,
  define: { VLLMAPP_VERSION: JSON.stringify(pkg.version), VLLMAPP_DEFAULT_TEMPLATES: JSON.stringify(defaultTemplates) },
  banner: { js: "import { createRequire as __vllmappCreateRequire } from 'node:module'; const require = __vllmappCreateRequire(import.meta.url);" },
  plugins: [startup],
  logLevel: "warning",
});

try {
  renameSync(dist, old);
} catch {
  /* first build */
}
renameSync(next, dist);
rmSync(old, { recursive: true, force: true });
