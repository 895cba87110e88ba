/**
 * bench --local, the pure parts (src/local/bench.ts): the `docker run` of the benchmark container, and
 * how a run that did not end well reads. The run itself is the integration tests' (real-vllm-bench).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { BenchOutput, planLevels, WRAPPER } from "../../../src/bench/bench.ts";
import { AppFailedError, DockerError, InterruptedError, ReadinessTimeoutError } from "../../../src/errors.ts";
import { benchRunArgv, localBenchFailure, type BenchRun } from "../../../src/local/bench.ts";
import type { BenchRequest } from "../../../src/target.ts";
import { ROOT } from "../../support/cli.ts";

const req: BenchRequest = {
  concurrency: [1, 4],
  requestRates: [],
  numPrompts: 8,
  inputLen: 64,
  outputLen: 32,
  percentiles: [50, 90, 99],
  slo: {},
  seed: 0,
  timeoutSeconds: 90,
  keep: false,
};
const recorded = () =>
  readFileSync(path.join(ROOT, "test", "fixtures", "vllm-0.32", "bench-wrapper.cri.log"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => l.replace(/^\S+ (stdout|stderr) [FP] /, ""));

test("the benchmark container: next to the server (its volumes read-only, the host network), values never on the command line", () => {
  const argv = benchRunArgv({
    app: "tiny",
    name: "vllmapp-bench-tiny-x",
    serverId: "abc123",
    image: "vllm/vllm-openai:v0.19.0",
    mounts: ["-v", "/tmp/t:/tokenizer:ro"],
    envNames: ["HF_TOKEN", "AWS_SECRET_ACCESS_KEY"],
    fromHub: true,
    config: '{"levels":[]}',
  });
  assert.deepEqual(argv, [
    "run",
    "--rm",
    "--name",
    "vllmapp-bench-tiny-x",
    "--label",
    "vllmapp.bench=tiny",
    "--network",
    "host",
    "--volumes-from",
    "abc123:ro",
    "-v",
    "/tmp/t:/tokenizer:ro",
    "-e",
    "HF_TOKEN",
    "-e",
    "AWS_SECRET_ACCESS_KEY",
    "-e",
    "OPENAI_API_KEY",
    "-e",
    "PYTHONUNBUFFERED=1",
    "-e",
    "HF_HUB_OFFLINE=1",
    "--entrypoint",
    "python3",
    "vllm/vllm-openai:v0.19.0",
    "-c",
    WRAPPER,
    '{"levels":[]}',
  ]);
  const folder = benchRunArgv({
    app: "tiny",
    name: "n",
    serverId: "abc123",
    image: "img",
    mounts: [],
    envNames: [],
    fromHub: false,
    config: "{}",
  });
  assert.ok(!folder.includes("HF_HUB_OFFLINE=1"), "a model folder: the Hub is not involved");
});

test("how a local benchmark run that did not end well reads: Ctrl-C, out of time, no docker, a failed level", () => {
  const levels = planLevels(req);
  const run = (o: Partial<BenchRun>): BenchRun => ({ exitCode: 0, notInstalled: false, stopped: undefined, ...o });
  const fresh = new BenchOutput(levels, req);
  const interrupted = localBenchFailure("tiny", levels, fresh, run({ stopped: "interrupted" }), 90);
  assert.ok(interrupted instanceof InterruptedError);
  assert.equal(interrupted.message, "interrupted: the benchmark of tiny was stopped (its container removed)");
  const late = localBenchFailure("tiny", levels, fresh, run({ stopped: "timeout", exitCode: 137 }), 90);
  assert.ok(late instanceof ReadinessTimeoutError);
  assert.equal(late.message, "the benchmark of tiny did not finish within 90s (at starting vllm bench serve)");
  assert.equal(late.hint, "fewer prompts (--num-prompts) or levels, or a longer --timeout");
  const missing = localBenchFailure("tiny", levels, fresh, run({ notInstalled: true, exitCode: undefined }), 90);
  assert.ok(missing instanceof DockerError);
  assert.equal(missing.message, "the docker command is not installed");

  const failed = new BenchOutput(levels, req);
  for (const l of [
    '@@vllmapp-bench begin {"levels": 2}',
    '@@vllmapp-bench level {"index": 0, "label": "concurrency 1"}',
    "OSError: vllmapp-test/missing is not a local folder",
    '@@vllmapp-bench failed {"index": 0, "exitCode": 1}',
  ])
    failed.feed(l);
  const error = localBenchFailure("tiny", levels, failed, run({ exitCode: 1 }), 90);
  assert.ok(error instanceof AppFailedError);
  assert.equal(
    error.message,
    "the benchmark of tiny failed at concurrency 1 (vllm bench serve exited with code 1)\n  last output lines:\n    OSError: vllmapp-test/missing is not a local folder",
  );
  assert.equal(error.hint, "the server's side: vllmapp logs --local tiny");

  const done = new BenchOutput(levels, req);
  for (const line of recorded()) done.feed(line);
  assert.equal(localBenchFailure("tiny", levels, done, run({}), 90), undefined);
  assert.match(
    localBenchFailure("tiny", levels, done, run({ exitCode: 2 }), 90)?.message ?? "",
    /^the benchmark of tiny failed \(vllm bench serve exited with code 2\)\n/,
  );
});
