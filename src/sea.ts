/**
 * The single executable's program (npm run build:binary, bin/build-binary.mjs): a CommonJS bundle, an
 * asset of the binary, that src/sea-launch.ts compiles with a V8 code cache and runs for every command
 * but the fixed texts (the top-level help, --version).
 *
 * At build time src/sea-cache.ts runs warmUp() before it makes the code cache: a `render --dry-run` of a
 * sample app (yaml and json), output discarded. The functions it runs are then compiled, and the cache V8
 * makes after it holds their bytecode, so a render of the binary compiles none of them again; what only
 * other commands run stays out of the cache, whose size every run of the program pays to read. Then
 * fixedTexts() gives the binary's help.txt and version.txt.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { main } from "./cli.js";
import { runProcess } from "./entry.js";

export function start(argv: string[]): void {
  void runProcess(argv);
}

/** A GPU app on the default image: what `render` runs through for most apps. */
const SAMPLE_APP = `name: warmup
model_hf_path: facebook/opt-125m
resources:
  gpu: 1
  cpu: 4
  memory: 16Gi
`;

/** Runs `vllmapp …args` with its output captured; the output, if it exits 0. */
async function captured(args: string[]): Promise<string | undefined> {
  const write = { out: process.stdout.write, err: process.stderr.write };
  let out = "";
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return (await main(["vllmapp", "vllmapp", ...args])) === 0 ? out : undefined;
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
    process.exitCode = undefined;
  }
}

/** The render path, run once. */
export async function warmUp(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "vllmapp-sea-cache-"));
  const file = path.join(dir, "vllm-app.yaml");
  writeFileSync(file, SAMPLE_APP);
  try {
    for (const format of ["yaml", "json"])
      if ((await captured(["render", "--dry-run", "-o", format, "-f", file])) === undefined)
        throw new Error("the warm-up's render failed");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The top-level help as the program prints it to a pipe (src/static-help.ts), and `--version`. */
export async function fixedTexts(): Promise<{ help: string; version: string }> {
  // bin/build-binary.mjs gives the build no terminal: commander prints the help as to a pipe
  if (process.stdout.isTTY) throw new Error("the binary's help is printed to a pipe at build time");
  const help = await captured(["--help"]);
  const version = await captured(["--version"]);
  if (help === undefined || version === undefined) throw new Error("--help or --version failed at build time");
  return { help, version };
}
