/**
 * Files vllmapp ships beside its code (templates/…): read from the package folder, or, in the single
 * executable (bin/build-binary.mjs), from the assets embedded in it under the same relative path.
 */
import { readFileSync } from "node:fs";
import path from "node:path";

/** Defined (true) by bin/build-binary.mjs. */
declare const VLLMAPP_SEA: boolean | undefined;

export const IN_SINGLE_EXECUTABLE = typeof VLLMAPP_SEA !== "undefined" && VLLMAPP_SEA;

/** `rel` (e.g. "templates/vllm/catalogs/index.json") as text; `full` is its path in the package folder. */
export function readPackageFile(rel: string, full: () => string): string {
  if (IN_SINGLE_EXECUTABLE) {
    const sea = process.getBuiltinModule("node:sea");
    if (sea.isSea()) return sea.getAsset(rel, "utf8");
    // building the binary's code cache (src/sea-cache.ts warms the render path up): the package folder
    // bin/build-binary.mjs names, whose files are the assets it embeds
    const root = process.env.VLLMAPP_SEA_BUILD_ROOT;
    if (root) return readFileSync(path.join(root, rel), "utf8");
    return sea.getAsset(rel, "utf8");
  }
  return readFileSync(full(), "utf8");
}
