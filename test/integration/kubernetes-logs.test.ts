/**
 * logs through the API server: every replica prefixed by its pod, --tail, --replica, NDJSON with --json,
 * a 100,000-line log streamed whole, --follow picking up a replica started later, and the app named by
 * argument or by the file.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { workdir } from "../support/cli.ts";
import { cliIn, kubectl, podLogs, podsOf, startCli, waitUntil, withNamespaceFreed } from "./kubernetes-support.ts";

const APP = "talker";
let ns: string;
let cleanup: () => Promise<void>;
let dir: string;
let cli: ReturnType<typeof cliIn>;
let pods: string[];

before(async () => {
  ({ ns, cleanup } = await withNamespaceFreed("vk-logs"));
  dir = workdir({
    "vllm-app.yaml": `name: ${APP}\nmodel_path: /models/m\nresources: {gpu: 0}\nscaling: {replicas: 2}\n`,
  });
  cli = cliIn(dir);
  const r = cli(["deploy", "-n", ns]);
  assert.equal(r.code, 0, r.stderr);
  pods = (await podsOf(ns, APP)).map((p) => p.metadata.name).sort();
});
after(() => cleanup());

test("every replica's lines, each prefixed by its pod, replica after replica", () => {
  const r = cli(["logs", "-n", ns, "--tail", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    pods
      .map(
        (p) =>
          `[${p}] (APIServer pid=1) INFO:     Waiting for application startup.\n[${p}] (APIServer pid=1) INFO:     Application startup complete.\n`,
      )
      .join(""),
  );
});

test("--replica picks one; --json gives NDJSON; an unknown replica is a usage error", () => {
  const one = cli(["logs", APP, "-n", ns, "--replica", pods[1]!, "--tail", "1", "--json"]);
  assert.equal(one.code, 0, one.stderr);
  assert.deepEqual(
    one.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l)),
    [{ replica: pods[1], line: "(APIServer pid=1) INFO:     Application startup complete." }],
  );
  const none = cli(["logs", "-n", ns, "--replica", "talker-nope"]);
  assert.equal(none.code, 2);
  assert.equal(none.stderr, `error: no replica named talker-nope\n  hint: replicas: ${pods.join(", ")}\n`);
});

test("--timestamps prefixes the runtime's timestamp; a --since that is not a duration is a usage error", () => {
  const ts = cli(["logs", "-n", ns, "--replica", pods[0]!, "--tail", "1", "--timestamps"]);
  assert.equal(ts.code, 0, ts.stderr);
  assert.match(
    ts.stdout,
    new RegExp(
      `^\\[${pods[0]}\\] \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z \\(APIServer pid=1\\) INFO: +Application startup complete\\.\\n$`,
    ),
  );
  const bad = cli(["logs", "-n", ns, "--since", "ten minutes"]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, "error: --since ten minutes: not a duration\n  hint: write e.g. 30s, 10m, 2h\n");
});

test("without APP and without a file, logs says so (exit 2)", () => {
  const r = cliIn(workdir())(["logs", "-n", ns]);
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr,
    "error: no app given, and vllm-app.yaml does not exist\n  hint: name the app (vllmapp logs APP), or point --file at its vllm-app.yaml\n",
  );
});

test("a 100,000-line log streams through whole", async () => {
  const file = path.join(dir, "big.log");
  const lines = Array.from(
    { length: 100_000 },
    (_, i) => `2026-01-01T00:00:00.000000000Z stdout F (APIServer pid=1) INFO request ${i} done in ${i % 97} ms`,
  );
  writeFileSync(file, `${lines.join("\n")}\n`);
  await podLogs(ns, pods[0]!, file);
  const r = await startCli(["logs", "-n", ns, "--replica", pods[0]!], dir);
  assert.equal(r.exitCode, 0, r.stderr);
  const out = r.stdout.split("\n");
  assert.equal(out.length, 100_000);
  assert.equal(out[0], `[${pods[0]}] (APIServer pid=1) INFO request 0 done in 0 ms`);
  assert.equal(out[99_999], `[${pods[0]}] (APIServer pid=1) INFO request 99999 done in 89 ms`);
});

test("--follow picks up a replica started later; Ctrl-C ends it (exit 130)", async () => {
  const run = startCli(["logs", "-n", ns, "-f", "--tail", "1"], dir);
  let out = "";
  run.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  await waitUntil("the running replicas' lines", async () => pods.every((p) => out.includes(`[${p}] `)));
  await kubectl(["-n", ns, "scale", `deployment/${APP}`, "--replicas=3"]);
  const later = await waitUntil("a third replica", async () =>
    (await podsOf(ns, APP)).map((p) => p.metadata.name).find((n) => !pods.includes(n)),
  );
  await waitUntil("the new replica's lines", async () =>
    out.includes(
      `[${later}] (APIServer pid=1) INFO 01-01 00:00:00 [api_server.py:1896] vLLM API server version 0.19.0`,
    ),
  );
  run.kill("SIGINT");
  const r = await run;
  assert.equal(r.exitCode, 130, r.stderr);
  assert.equal(r.stderr, "error: interrupted: stopped streaming logs");
});
