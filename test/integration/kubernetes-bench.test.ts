/**
 * `vllmapp bench` on Kubernetes, against the test bed's API server: not deployed and not ready are
 * one-line errors; a ready app gets a Job of its own image next to it, with the API key by secretKeyRef,
 * whose log is read back into levels. kwok runs no container, so the Job's pod serves the REAL output
 * the wrapper printed in the real vLLM image (test/fixtures/vllm-0.32/bench-wrapper.cri.log) as its log:
 * the test bed's default ClusterLogs gets an entry for containers named `bench` while this file runs.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { ROOT, workdir } from "../support/cli.ts";
import { cliIn, kubectl, kubectlJson, withNamespaceFreed } from "./kubernetes-support.ts";

const FIXTURE = path.join(ROOT, "test", "fixtures", "vllm-0.32", "bench-wrapper.cri.log");
const DEFAULT_LOGS = "vllmapp-testbed-default";
let ns: string;
let cleanup: () => Promise<void>;
let cli: ReturnType<typeof cliIn>;

async function benchEntryIndex(): Promise<number> {
  const cl = await kubectlJson(["get", "clusterlogs", DEFAULT_LOGS]);
  return (cl.spec.logs as any[]).findIndex((l) => l.logsFile === FIXTURE);
}

before(async () => {
  ({ ns, cleanup } = await withNamespaceFreed("vk-bench"));
  cli = cliIn(
    workdir({
      "vllm-app.yaml": `name: fast\nmodel_path: /models/tiny\nmodel_id: tiny\nresources: {cpu: "1", memory: 2Gi}\nenv_vars: {HF_ENDPOINT: "http://hub.internal"}\n---\nname: slow\nmodel_path: /models/tiny\nresources: {cpu: "1", memory: 2Gi}\npod_template:\n  metadata:\n    annotations: {vllmapp-testbed/ready-delay: "5m"}\n`,
    }),
  );
  if ((await benchEntryIndex()) < 0) {
    await kubectl([
      "patch",
      "clusterlogs",
      DEFAULT_LOGS,
      "--type=json",
      "-p",
      JSON.stringify([
        { op: "add", path: "/spec/logs/0", value: { containers: ["bench"], logsFile: FIXTURE, follow: false } },
      ]),
    ]);
  }
});

after(async () => {
  const i = await benchEntryIndex().catch(() => -1);
  if (i >= 0)
    await kubectl(
      [
        "patch",
        "clusterlogs",
        DEFAULT_LOGS,
        "--type=json",
        "-p",
        JSON.stringify([{ op: "remove", path: `/spec/logs/${i}` }]),
      ],
      { allowFail: true },
    );
  await cleanup();
});

test("an app that is not deployed, or not ready, is a one-line error (exit 2, exit 6); nothing is created", async () => {
  const none = cli(["bench", "fast", "-n", ns]);
  assert.equal(none.code, 2, none.stderr);
  assert.match(none.stderr, new RegExp(`^error: app fast is not deployed in namespace ${ns}$`, "m"));
  const d = cli(["deploy", "-n", ns, "--app", "slow", "--no-wait"]);
  assert.equal(d.code, 0, d.stderr);
  const slow = cli(["bench", "slow", "-n", ns]);
  assert.equal(slow.code, 6, slow.stderr);
  assert.match(slow.stderr, new RegExp(`^error: app slow is not ready \\(0/1 ready\\): `, "m"));
  assert.equal((await kubectl(["-n", ns, "get", "jobs", "-o", "name"])).stdout.trim(), "");
});

test("a ready app: a Job of the server's own image, the API key by secretKeyRef, the results read back from its log", async () => {
  const d = cli(["deploy", "-n", ns, "--app", "fast"]);
  assert.equal(d.code, 0, d.stderr);
  const r = cli([
    "bench",
    "fast",
    "-n",
    ns,
    "--json",
    "--keep",
    "--concurrency",
    "1,4",
    "--num-prompts",
    "8",
    "--input-len",
    "64",
    "--output-len",
    "32",
    "--slo",
    "ttft=500ms,itl=50ms",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.equal(result.target, "kubernetes");
  assert.equal(result.namespace, ns);
  assert.equal(result.endpoint, `http://fast.${ns}.svc.cluster.local:8000`);
  assert.deepEqual(
    result.levels.map((l: any) => l.concurrency),
    [1, 4],
  );
  for (const l of result.levels) {
    assert.deepEqual(l.requests, { completed: 8, failed: 0 });
    assert.ok(l.ttftMs.p99 > 0 && l.itlMs.p50 >= 0 && l.throughput.outputTokensPerSecond > 0);
    assert.ok(l.goodput && l.server);
  }
  const jobName = /^Job (\S+)$/.exec(result.tool.ranIn)![1]!;
  const job = await kubectlJson(["-n", ns, "get", "job", jobName]);
  const server = (await kubectlJson(["-n", ns, "get", "deployment", "fast"])).spec.template.spec.containers[0];
  const c = job.spec.template.spec.containers[0];
  assert.equal(c.image, server.image, "the server's own image");
  assert.deepEqual(c.env.find((e: any) => e.name === "OPENAI_API_KEY").valueFrom, {
    secretKeyRef: { name: "fast-api-key", key: "VLLM_API_KEY" },
  });
  assert.equal(c.env.find((e: any) => e.name === "HF_ENDPOINT").value, "http://hub.internal");
  assert.equal(job.spec.template.metadata.labels["vllmapp.dev/app"], undefined, "not a replica for the Service");
  const args: string[] = JSON.parse(c.command[3]).levels[0].args;
  assert.deepEqual(args.slice(args.indexOf("--base-url"), args.indexOf("--base-url") + 2), [
    "--base-url",
    `http://fast.${ns}.svc.cluster.local:8000`,
  ]);
  assert.deepEqual(args.slice(args.indexOf("--tokenizer"), args.indexOf("--tokenizer") + 2), [
    "--tokenizer",
    "/models/tiny",
  ]);
  const status = cli(["status", "fast", "-n", ns, "--json"]);
  assert.equal(JSON.parse(status.stdout).apps[0].replicas.desired, 1, "the Job's pod is no replica");
});

test("without --keep the Job is deleted once its results are read", async () => {
  const r = cli([
    "bench",
    "fast",
    "-n",
    ns,
    "--concurrency",
    "1,4",
    "--num-prompts",
    "8",
    "--input-len",
    "64",
    "--output-len",
    "32",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^CONC +OK\/FAIL +REQ\/S/m);
  const jobs = await kubectlJson(["-n", ns, "get", "jobs"]);
  assert.equal(jobs.items.filter((j: any) => !j.metadata.deletionTimestamp).length, 1, "only the --keep one is left");
});
