/**
 * The single executable's main script (npm run build:binary, bin/build-binary.mjs): small, so that a run
 * starts at Node's own cost. `vllmapp`, `--help` and `-h` to a pipe, and `--version`, print a text fixed
 * at build time (assets help.txt and version.txt) and load nothing else. Any other command compiles the
 * program (src/sea.ts, the asset vllmapp.cjs) with the V8 code cache made at build time (src/sea-cache.ts,
 * the asset vllmapp.cjs.cache): the functions a render ran there are not compiled again. A cache V8
 * rejects (another node binary, or V8 flags) only costs the compile.
 */
import { wantsStaticHelp } from "./static-help.js";

/** The program's exports (src/sea.ts). */
export interface Program {
  start(argv: string[]): void;
  warmUp(): Promise<void>;
  fixedTexts(): Promise<{ help: string; version: string }>;
}

/** The program's asset, and the name it has in stack traces. */
export const PROGRAM_ASSET = "vllmapp.cjs";
export const CACHE_ASSET = "vllmapp.cjs.cache";
const FILENAME = "/vllmapp-single-executable/vllmapp.cjs";

/**
 * Compiles the program's CommonJS bundle (with `cachedData` when given) and runs its module code. The
 * wrapper is the same at build time and at run time: V8 takes a cache only for the source it was made of.
 * The bundle requires built-in modules only (everything else is bundled, or a vendor asset).
 */
export function compileProgram(
  source: string,
  cachedData?: Uint8Array,
): { script: import("node:vm").Script; program: Program } {
  const vm = process.getBuiltinModule("node:vm");
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: FILENAME,
    cachedData,
  });
  const module = { exports: {} as Program };
  const requireBuiltin = (id: string): unknown => {
    const m = process.getBuiltinModule(id) as unknown;
    if (m === undefined) throw new Error(`the single executable bundles every module, and has no ${id}`);
    return m;
  };
  (script.runInThisContext() as (...args: unknown[]) => void).call(
    module.exports,
    module.exports,
    requireBuiltin,
    module,
    FILENAME,
    "/vllmapp-single-executable",
  );
  return { script, program: module.exports };
}

/** What the fixed texts answer: the asset to print, if argv asks for one. */
function fixedText(argv: readonly string[]): string | undefined {
  if (wantsStaticHelp(argv)) return "help.txt";
  if (argv.length === 3 && (argv[2] === "--version" || argv[2] === "-V")) return "version.txt";
  return undefined;
}

function launch(): void {
  const sea = process.getBuiltinModule("node:sea");
  const text = fixedText(process.argv);
  if (text !== undefined) {
    process.stdout.write(sea.getAsset(text, "utf8"));
    return;
  }
  // the raw assets (no copy): the source is decoded once, the cache read in place
  const source = new TextDecoder().decode(new Uint8Array(sea.getRawAsset(PROGRAM_ASSET)));
  const { program } = compileProgram(source, new Uint8Array(sea.getRawAsset(CACHE_ASSET)));
  // the main script of a single executable gets the binary's path as argv[1] already (as node gets the script's)
  program.start(process.argv);
}

if (process.getBuiltinModule("node:sea").isSea()) launch();
