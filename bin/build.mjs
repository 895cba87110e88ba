#!/usr/bin/env node
// Bundles the CLI into dist/ with esbuild (npm run build). Start-up is most of what a CLI costs, so:
// - code splitting keeps @kubernetes/client-node, @inquirer/prompts, ora and the SDKs out of `render`;
// - the vLLM serve catalogs stay files (templates/vllm/catalogs/), read only when a render needs one;
// - the shipped templates are parsed here, not on every run (--templates DIR still reads a folder);
// - `vllmapp --help` to a pipe prints dist/help.txt, written here, without loading the CLI (src/static-help.ts);
// - commander's eager require of node:child_process (for executable subcommands, unused here) is deferred;
// - @kubernetes/client-node is narrowed to KubeConfig: vllmapp talks to the API with its own small client,
//   and the package index would load 6 MB of generated API classes on every cluster command.
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { build } from "esbuild";
import { startupPlugin } from "./esbuild-startup.mjs";

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

await build({
  entryPoints: ["src/cli.ts", "src/entry.ts"],
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
  banner: {
    js: "import { createRequire as __vllmappCreateRequire } from 'node:module'; const require = __vllmappCreateRequire(import.meta.url);",
  },
  plugins: [startupPlugin()],
  logLevel: "warning",
});

// what bin/vllmapp.js loads first: on its own, with no chunk of the CLI
await build({
  entryPoints: ["src/static-help.ts"],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  outdir: next.pathname,
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: "warning",
});
// the top-level help, as the built program prints it to a pipe (src/static-help.ts)
const help = execFileSync(
  process.execPath,
  [
    "--input-type=module",
    "-e",
    `const { main } = await import(${JSON.stringify(new URL("cli.js", `${next.href}/`).href)}); process.exitCode = await main(["node", "vllmapp", "--help"]);`,
  ],
  {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, NO_COLOR: "1" },
  },
);
writeFileSync(new URL("help.txt", `${next.href}/`), help);

try {
  renameSync(dist, old);
} catch {
  /* first build */
}
renameSync(next, dist);
rmSync(old, { recursive: true, force: true });
