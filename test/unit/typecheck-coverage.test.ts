/**
 * `npm run typecheck` checks every JavaScript file under test/ (issue #26): tsconfig.json has checkJs on, its
 * include reaches each .mjs/.js/.cjs there (the test bed, the benchmarks, the checks and lint scripts), and
 * no file opts out with @ts-nocheck or silences a line with @ts-ignore (@ts-expect-error, which fails once
 * the error is gone, is the way to say a line is wrong on purpose).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { ROOT } from "../support/cli.ts";

function program() {
  const file = path.join(ROOT, "tsconfig.json");
  const read = ts.readConfigFile(file, (f) => ts.sys.readFile(f));
  assert.equal(read.error, undefined);
  return ts.parseJsonConfigFileContent(read.config, ts.sys, ROOT, undefined, file);
}

/** Files under `dir` (relative to the repository) whose name ends with one of `exts`. */
function filesUnder(dir: string, exts: string[]): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && exts.some((x) => e.name.endsWith(x)))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)))
    .filter((f) => !f.split(path.sep).includes("node_modules"))
    .sort();
}

test("tsconfig.json type-checks JavaScript (allowJs and checkJs on)", () => {
  const { options, errors } = program();
  assert.deepEqual(errors, []);
  assert.equal(options.allowJs, true);
  assert.equal(options.checkJs, true);
});

test("every .mjs/.js/.cjs under test/ is in the program tsc checks", () => {
  const js = filesUnder("test", [".mjs", ".js", ".cjs"]);
  assert.ok(js.length >= 28, `only ${js.length} JavaScript files under test/: is the walk right?`);
  const checked = new Set(program().fileNames.map((f) => path.relative(ROOT, f)));
  assert.deepEqual(
    js.filter((f) => !checked.has(f)),
    [],
  );
});

test("no file under src/ or test/ opts out of the type check (@ts-nocheck) or silences a line (@ts-ignore)", () => {
  const files = [...filesUnder("src", [".ts"]), ...filesUnder("test", [".ts", ".mjs", ".js", ".cjs"])];
  // this file names both words, in prose
  const self = path.relative(ROOT, new URL(import.meta.url).pathname);
  const offenders = files
    .filter((f) => f !== self)
    .filter((f) => /@ts-(nocheck|ignore)\b/.test(readFileSync(path.join(ROOT, f), "utf8")));
  assert.deepEqual(offenders, []);
});
