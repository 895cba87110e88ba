/**
 * Why an app does not become ready, said by deploy (exit 6 as soon as it is clear, exit 5 at the
 * timeout, 130 on Ctrl-C) and by status: more GPUs than any node has, a GPU type no node has, an
 * untolerated spot taint, an image that cannot be pulled, a crash loop with its last log lines, an OOM kill.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { ROOT, workdir } from "../support/cli.ts";
import {
  cliIn,
  podLogs,
  podsOf,
  startCli,
  stderrShows,
  waitUntil,
  withNamespaceFreed,
  kubectlJson,
} from "./kubernetes-support.ts";

let ns: string;
let cleanup: () => Promise<void>;

before(async () => {
  ({ ns, cleanup } = await withNamespaceFreed("vk-fail"));
});
after(() => cleanup());

/** A one-app folder; deploy waits up to 30 minutes, so an exit before that is the diagnosis, not the timeout. */
function app(name: string, body: string) {
  const dir = workdir({ "vllm-app.yaml": `name: ${name}\nmodel_path: /models/m\n${body}` });
  return { dir, cli: cliIn(dir), deploy: () => cliIn(dir)(["deploy", "-n", ns, "--timeout", "30m"]) };
}

test("more GPUs than any node has: exit 6 with the scheduler's reason, long before the timeout", () => {
  const a = app("toobig", `resources: {gpu: "L4:16"}\n`);
  const r = a.deploy();
  assert.equal(r.code, 6, r.stderr);
  assert.match(
    r.stderr,
    /^error: toobig failed: cannot be scheduled: it asks for 16 nvidia\.com\/gpu per replica, and the most any matching node has is 8 \(scheduler: 0\/5 nodes are available: .*Insufficient nvidia\.com\/gpu.*\)$/m,
  );
  assert.match(r.stderr, /^ {2}hint: lower resources\.gpu/m);
  const s = a.cli(["status", "-n", ns, "--json"]);
  assert.equal(s.code, 0, s.stderr);
  const st = JSON.parse(s.stdout).apps[0];
  assert.equal(st.ready, false);
  assert.deepEqual(st.replicas, { ready: 0, desired: 1 });
  assert.match(st.reason, /^cannot be scheduled: it asks for 16 nvidia\.com\/gpu per replica/);
});

test("a GPU type no node has, and a type only tainted spot nodes have, are said so", () => {
  const h200 = app("h200", `resources: {gpu: "H200:1"}\n`).deploy();
  assert.equal(h200.code, 6, h200.stderr);
  assert.match(
    h200.stderr,
    /^error: h200 failed: cannot be scheduled: no node has GPU type NVIDIA-H200 or [^(]+\(nvidia\.com\/gpu\.product\)/m,
  );
  assert.match(h200.stderr, /^ {2}hint: pick a GPU type and pool the cluster has \(resources\.gpu, cluster_pool\)$/m);
  const spot = app("h100", `resources: {gpu: "H100:1"}\n`).deploy();
  assert.equal(spot.code, 6, spot.stderr);
  assert.match(
    spot.stderr,
    /^error: h100 failed: cannot be scheduled: the nodes that fit \(kwok-h100-spot-0\) are tainted cloud\.google\.com\/gke-spot=true:NoSchedule, which the pod does not tolerate/m,
  );
  assert.match(spot.stderr, /^ {2}hint: set interruptible: true to run on spot nodes$/m);
  const ok = app("h100", `resources: {gpu: "H100:1"}\ninterruptible: true\n`).deploy();
  assert.equal(ok.code, 0, ok.stderr);
});

test("an image that cannot be pulled is diagnosed with the runtime's message", () => {
  const r = app("noimage", `image: vllmapp.invalid/vllm-openai:v0.19.0\nresources: {gpu: 0}\n`).deploy();
  assert.equal(r.code, 6, r.stderr);
  assert.match(
    r.stderr,
    /^error: noimage failed: cannot pull image vllmapp\.invalid\/vllm-openai:v0\.19\.0: (ErrImagePull|ImagePullBackOff) \(.*vllmapp\.invalid.*\)$/m,
  );
  assert.match(r.stderr, /^ {2}hint: check the image name and tag/m);
});

test("a crash loop is diagnosed with the last lines of the crashed container's log", async () => {
  const a = app(
    "crashy",
    `resources: {gpu: 0}\npod_template:\n  metadata:\n    annotations: {vllmapp-testbed/simulate: crashloop}\n`,
  );
  // applied without waiting, so the crashed container's log can be served before deploy waits and diagnoses
  const applied = a.cli(["deploy", "-n", ns, "--no-wait"]);
  assert.equal(applied.code, 0, applied.stderr);
  const pod = await waitUntil(
    "the crashy pod",
    async () => (await podsOf(ns, "crashy"))[0]?.metadata.name as string | undefined,
  );
  const fixtures = path.join(ROOT, "test/fixtures/testbed");
  await podLogs(ns, pod, path.join(fixtures, "vllm-container.log"), path.join(fixtures, "vllm-crash.log"));
  const r = a.deploy();
  assert.equal(r.code, 6, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `^error: crashy failed: container vllm of ${pod} keeps crashing \\(exit code 1, Error; \\d+ restarts\\)\\n  last log lines of ${pod}:\\n(    .*\\n)+`,
      "m",
    ),
  );
  assert.match(r.stderr, /^ {4}.*RuntimeError: Engine core initialization failed\. See root cause above\./m);
  assert.match(r.stderr, /^ {2}hint: see why: vllmapp logs crashy --previous$/m);
  const prev = a.cli(["logs", "-n", ns, "--previous", "--tail", "1"]);
  assert.equal(prev.code, 0, prev.stderr);
  assert.match(prev.stdout, new RegExp(`^\\[${pod}\\] .*RuntimeError: Engine core initialization failed`));
});

test("an OOM kill names the memory limit", async () => {
  const r = app(
    "oomy",
    `resources: {gpu: 0, memory: 24Gi}\npod_template:\n  metadata:\n    annotations: {vllmapp-testbed/simulate: oom}\n`,
  ).deploy();
  assert.equal(r.code, 6, r.stderr);
  const limit = (await kubectlJson(["-n", ns, "get", "deployment", "oomy"])).spec.template.spec.containers[0].resources
    .limits.memory;
  assert.match(
    r.stderr,
    new RegExp(
      `^error: oomy failed: container vllm of oomy-[a-z0-9]+-[a-z0-9]+ was OOM-killed: it used more than its memory limit \\(${limit}\\)$`,
      "m",
    ),
  );
  assert.match(r.stderr, /^ {2}hint: raise resources\.memory/m);
});

test("a replica that does not get ready in time: exit 5 with where it stands", () => {
  const r = app(
    "slow",
    `resources: {gpu: 0}\npod_template:\n  metadata:\n    annotations: {vllmapp-testbed/ready-delay: "10m"}\n`,
  ).cli(["deploy", "-n", ns, "--timeout", "3s"]);
  assert.equal(r.code, 5, r.stderr);
  // where its start stands: kwok runs no server, so the replica is still "starting"
  assert.match(
    r.stderr,
    /^error: slow is not ready after 3s: 0\/1 ready; slow-[a-z0-9]+-[a-z0-9]+: starting \(\d+ s\)$/m,
  );
});

test("Ctrl-C stops waiting (exit 130) and leaves the cluster as applied", async () => {
  const a = app(
    "patient",
    `resources: {gpu: 0}\npod_template:\n  metadata:\n    annotations: {vllmapp-testbed/ready-delay: "10m"}\n`,
  );
  const run = startCli(["deploy", "-n", ns, "--timeout", "30m"], a.dir);
  await stderrShows(run, /patient: 0\/1 ready — /);
  run.kill("SIGINT");
  const r = await run;
  assert.equal(r.exitCode, 130, r.stderr);
  assert.match(
    r.stderr,
    /^error: interrupted: stopped waiting for patient; what was applied stays \(vllmapp status patient\)$/m,
  );
  assert.equal((await kubectlJson(["-n", ns, "get", "deployment", "patient"])).metadata.name, "patient");
});
