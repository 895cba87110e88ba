/**
 * Golden tests: each folder under cases/ holds a vllm-app.yaml (and an optional `args` file of render
 * flags); `render --dry-run -o json` and `-o yaml` must match expected.json / expected.yaml byte for
 * byte. They run the renderer in-process on the TypeScript source (flags parsed by the render command's
 * own definition and schema), so they never pass against a stale build; one case also runs through the
 * built CLI, which must print the same bytes. UPDATE_GOLDEN=1 rewrites them; review the diff like code.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { plan } from "../../src/app/plan.ts";
import { nodePlanIo } from "../../src/app/node-io.ts";
import { renderCommand, renderOptionsSchema } from "../../src/commands/render.ts";
import { parseOptions } from "../../src/commands/options.ts";
import { formatJson, formatYaml } from "../../src/render/format.ts";
import { runCli, ROOT } from "../support/cli.ts";

const CASES = path.join(ROOT, "test", "golden", "cases");
const HOME = "/home/dev"; // docker renders mount the user's HF cache

/** The render flags of a case, parsed as `vllmapp render` parses them. */
function renderOptions(args: readonly string[]) {
  const cmd = renderCommand().exitOverride();
  let raw: Record<string, unknown> = {};
  cmd.action((opts: Record<string, unknown>) => void (raw = opts));
  cmd.parse([...args], { from: "user" });
  return parseOptions(renderOptionsSchema, raw);
}

/** What `render --dry-run -o FORMAT` prints for a case, rendered in-process. */
async function renderCase(dir: string, extra: readonly string[], format: "json" | "yaml"): Promise<string> {
  const opts = renderOptions(["--dry-run", "-o", format, "-f", path.join(dir, "vllm-app.yaml"), ...extra]);
  const p = await plan({ file: opts.file, target: opts.target, namespace: opts.namespace, params: opts.params, dockerGpus: opts.gpus, kubeMinor: opts.kubeMinor }, nodePlanIo({ templates: opts.templates, hostHome: HOME }));
  assert.deepEqual(p.errors, []);
  const apps = p.apps.map((a) => a.rendered);
  return format === "json" ? formatJson(apps) : formatYaml(apps);
}

const argsOf = (dir: string) => (existsSync(path.join(dir, "args")) ? readFileSync(path.join(dir, "args"), "utf8").trim().split(/\s+/) : []);

for (const name of readdirSync(CASES).sort()) {
  const dir = path.join(CASES, name);
  for (const format of ["json", "yaml"] as const) {
    test(`${name}: render --dry-run -o ${format}`, async () => {
      const out = await renderCase(dir, argsOf(dir), format);
      const file = path.join(dir, `expected.${format}`);
      if (process.env.UPDATE_GOLDEN) writeFileSync(file, out);
      assert.equal(out, readFileSync(file, "utf8"));
      assert.equal(await renderCase(dir, argsOf(dir), format), out, "same input, same bytes");
    });
  }
}

test("the built CLI prints the same bytes as the in-process render (cwd-relative file, as users run it)", () => {
  for (const name of ["everything", "docker-qwen3"]) {
    const dir = path.join(CASES, name);
    const r = runCli(["render", "--dry-run", "-o", "json", ...argsOf(dir)], { cwd: dir, env: { HOME } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, readFileSync(path.join(dir, "expected.json"), "utf8"), name);
  }
});
