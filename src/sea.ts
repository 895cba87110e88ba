/**
 * The single executable's main script (npm run build:binary, bin/build-binary.mjs). Built with a V8
 * start-up snapshot: the bundle's modules are evaluated when the binary is built and the process starts
 * from that heap, so only runProcess runs at start. Nothing evaluated at module level may read the
 * environment, argv, the terminal or the clock (they would be the build machine's).
 *
 * Before the snapshot is taken, warmUp() runs `--help` and a `render --dry-run` of a sample app once,
 * output discarded: the modules those commands import on demand are then evaluated, and the functions they
 * run compiled, in the snapshot's heap (V8 keeps the bytecode of compiled functions in a snapshot), so a
 * run neither loads nor compiles them. What those runs cache (the vLLM catalog index and the catalog of the
 * default image's release, read from the package folder at build time: the same files the binary embeds)
 * is kept too, and so is the text of `--help` (src/static-help.ts). Nothing else they touch outlives them (process.exitCode is reset; stdio is re-created when
 * the binary starts).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import v8 from "node:v8";
import { main } from "./cli.js";
import { runProcess } from "./entry.js";
import { wantsStaticHelp } from "./static-help.js";

/** The top-level help as the program prints it to a pipe, kept by warmUp() (src/static-help.ts). */
let staticHelp: string | undefined;

const start = (): void => {
  if (staticHelp !== undefined && wantsStaticHelp(process.argv)) {
    process.stdout.write(staticHelp);
    return;
  }
  // the main script of a single executable gets the binary's path as argv[1] already (as node gets the script's)
  void runProcess(process.argv);
};

/** A GPU app on the default image: what `render` runs through for most apps. */
const SAMPLE_APP = `name: warmup
model_hf_path: facebook/opt-125m
resources:
  gpu: 1
  cpu: 4
  memory: 16Gi
`;

async function warmUp(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "vllmapp-snapshot-"));
  const file = path.join(dir, "vllm-app.yaml");
  writeFileSync(file, SAMPLE_APP);
  const write = { out: process.stdout.write, err: process.stderr.write };
  let out = "";
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    // bin/build-binary.mjs gives the build no terminal: commander prints the help as to a pipe
    if ((await main(["vllmapp", "vllmapp", "--help"])) === 0 && !process.stdout.isTTY) staticHelp = out;
    for (const args of [
      ["render", "--help"],
      ["render", "--dry-run", "-f", file],
      ["render", "--dry-run", "-o", "json", "-f", file],
    ]) {
      await main(["vllmapp", "vllmapp", ...args]);
    }
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
    process.exitCode = undefined;
    rmSync(dir, { recursive: true, force: true });
  }
}

if (v8.startupSnapshot?.isBuildingSnapshot()) {
  v8.startupSnapshot.setDeserializeMainFunction(start);
  // the snapshot is taken once the event loop is empty: after the warm-up
  void warmUp();
} else start();
