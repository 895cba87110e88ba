/**
 * The `--json` shapes both targets share (src/target.ts): the key lists in test/support/cli.ts are checked
 * against the types by the compiler, against the README here, and against real output here (Docker's
 * client dry run, which touches no engine) and in the integration tests (both targets).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { deployLocal } from "../../src/local/deploy.ts";
import { logLine } from "../../src/target.ts";
import { Ui } from "../../src/ui/output.ts";
import { JSON_KEYS, ROOT } from "../support/cli.ts";
import { planYaml } from "../support/plan.ts";

const keys = (o: object) => Object.keys(o).sort();

test('deploy --local --dry-run=client: the shared DeployResult, dryRun "client" as on Kubernetes, Docker\'s commands under docker', async () => {
  const p = await planYaml("name: qwen3\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources:\n  gpu: L4:1\n", {
    target: "docker",
  });
  assert.deepEqual(p.errors, []);
  const r = await deployLocal(
    p,
    { dryRun: "client", wait: true, createNamespace: false, createSecrets: false, forceConflicts: false },
    new Ui({ quiet: true }),
  );
  const json = JSON.parse(JSON.stringify(r));
  assert.deepEqual(keys(json), JSON_KEYS.deployResult);
  assert.equal(json.dryRun, "client");
  assert.deepEqual(keys(json.apps[0]), JSON_KEYS.deployedApp);
  assert.deepEqual(
    { ...json.apps[0], docker: undefined, model: undefined },
    {
      name: "qwen3",
      namespace: null,
      container: "vllmapp-qwen3",
      image: "vllm/vllm-openai:v0.34.0",
      changes: [],
      endpoint: "http://127.0.0.1:8000",
      ready: false,
      replicas: null,
      startup: null,
      timeline: null,
      requiresApiKey: true,
      objects: null,
      docker: undefined,
      model: undefined,
    },
  );
  assert.deepEqual(json.apps[0].docker.argv.slice(0, 5), ["docker", "run", "-d", "--name", "vllmapp-qwen3"]);
});

test("log lines: the same keys on both targets; --timestamps splits the runtime's timestamp into time", () => {
  assert.deepEqual(logLine("qwen3-abc", "INFO started", false), { replica: "qwen3-abc", line: "INFO started" });
  assert.deepEqual(keys(logLine("r", "x", false)), JSON_KEYS.logLine);
  const stamped = logLine("r", "2025-01-02T03:04:05.000000000Z INFO started", true);
  assert.deepEqual(stamped, { replica: "r", time: "2025-01-02T03:04:05.000000000Z", line: "INFO started" });
  assert.deepEqual(keys(stamped), JSON_KEYS.logLineWithTime);
});

test("the README documents every key of every --json shape", () => {
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
  const section = readme.slice(
    readme.indexOf("## JSON output"),
    readme.indexOf("\n## ", readme.indexOf("## JSON output") + 3),
  );
  assert.ok(section.length > 100, 'README has a "## JSON output" section');
  for (const [shape, list] of Object.entries(JSON_KEYS))
    for (const k of list) assert.match(section, new RegExp(`\\b${k}\\b`), `${shape}.${k}`);
});
