#!/usr/bin/env node
// Bundles the CLI into dist/ with esbuild (npm run build). Start-up is most of what a CLI costs, so:
// - code splitting keeps @kubernetes/client-node, @inquirer/prompts, ora and the SDKs out of `render`;
// - the vLLM flag catalog ships without its help texts, as a JSON string (JSON.parse beats a literal);
// - commander's eager require of node:child_process (for executable subcommands, unused here) is deferred.
import { readFileSync, renameSync, rmSync } from "node:fs";
import { build } from "esbuild";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const dist = new URL("../dist", import.meta.url);
// build next to dist/ and swap it in, so a CLI running meanwhile never sees a half-written folder
const next = new URL(`../.dist-${process.pid}`, import.meta.url);
const old = new URL(`../.dist-old-${process.pid}`, import.meta.url);

/** @type {import("esbuild").Plugin} */
const startup = {
  name: "vllmapp-startup",
  setup(b) {
    b.onLoad({ filter: /serve-flags\.json$/ }, (args) => {
      const d = JSON.parse(readFileSync(args.path, "utf8"));
      for (const f of d.flags) for (const k of ["help", "group", "default", "note"]) delete f[k];
      d.history = {
        removed: d.history.removed.map(({ name, last_seen_main, was_deprecated, last_help }) => ({ name, last_seen_main: { date: last_seen_main.date }, was_deprecated, last_help })),
        in_newer_main_only: d.history.in_newer_main_only.map((e) => e.name),
      };
      delete d.parser_behaviour;
      return { contents: `export default JSON.parse(${JSON.stringify(JSON.stringify(d))});`, loader: "js" };
    });
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
  target: "node20",
  splitting: true,
  outdir: next.pathname,
  chunkNames: "chunks/[name]-[hash]",
  minifyWhitespace: true,
  minifySyntax: true,
  define: { VLLMAPP_VERSION: JSON.stringify(pkg.version) },
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
