/**
 * Golden tests: each folder under cases/ holds a vllm-app.yaml (and an optional `args` file); the CLI's
 * `render --dry-run -o json` and `-o yaml` output must match expected.json / expected.yaml byte for byte.
 * UPDATE_GOLDEN=1 rewrites them; review the diff like code.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { runCli, ROOT } from "../helpers.ts";

const CASES = path.join(ROOT, "test", "golden", "cases");
const HOME = "/home/dev"; // docker renders mount the user's HF cache

for (const name of readdirSync(CASES).sort()) {
  const dir = path.join(CASES, name);
  const extra = existsSync(path.join(dir, "args")) ? readFileSync(path.join(dir, "args"), "utf8").trim().split(/\s+/) : [];
  for (const format of ["json", "yaml"] as const) {
    test(`${name}: render --dry-run -o ${format}`, () => {
      const r = runCli(["render", "--dry-run", "-o", format, ...extra], { cwd: dir, env: { HOME } });
      assert.equal(r.code, 0, r.stderr);
      const file = path.join(dir, `expected.${format}`);
      if (process.env.UPDATE_GOLDEN) writeFileSync(file, r.stdout);
      assert.equal(r.stdout, readFileSync(file, "utf8"));
      const again = runCli(["render", "--dry-run", "-o", format, ...extra], { cwd: dir, env: { HOME } });
      assert.equal(again.stdout, r.stdout, "same input, same bytes");
    });
  }
}
