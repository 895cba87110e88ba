/**
 * Build time, run by the node binary the single executable embeds (bin/build-binary.mjs; linux-arm64's
 * under qemu-user): `node sea-cache.mjs PROGRAM OUTDIR` compiles the program bundle as the binary does
 * (src/sea-launch.ts), runs its warm-up (src/sea.ts), then writes OUTDIR/vllmapp.cjs.cache (the V8 code
 * cache, made after the warm-up: it holds the functions the warm-up compiled), then help.txt and version.txt
 * (after the cache is made: what only they run stays out of it).
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { CACHE_ASSET, compileProgram } from "./sea-launch.js";

const [programFile, outDir] = process.argv.slice(2);
if (!programFile || !outDir) throw new Error("usage: sea-cache PROGRAM OUTDIR");
const { script, program } = compileProgram(readFileSync(programFile, "utf8"));
await program.warmUp();
writeFileSync(path.join(outDir, CACHE_ASSET), script.createCachedData());
const { help, version } = await program.fixedTexts();
writeFileSync(path.join(outDir, "help.txt"), help);
writeFileSync(path.join(outDir, "version.txt"), version);
