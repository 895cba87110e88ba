/**
 * Faults in the middle of deploy, on the test bed's real control plane: the kube-apiserver restarted
 * while deploy waits (the watch resumes), 429 and 503 answers (retried), the API server gone during the
 * apply (the error says what was applied; a re-run finishes), Ctrl-C in each phase, two deploys of one
 * app at once (one wins, the other says why) and a lock left by a deploy that died.
 * The faults other than the restart come from a proxy in front of the API server (fault-proxy.ts).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { hostname } from "node:os";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { startCli as startCliIn, workdir } from "../support/cli.ts";
import { tbEnv } from "../support/testbed.ts";
import { restartProcess } from "../testbed/lib.mjs";
import { startFaultProxy, type FaultProxy, type Seen } from "./fault-proxy.ts";
import { cliIn, kubectl, kubectlJson, stderrShows, withNamespaceFreed } from "./kubernetes-support.ts";

let ns: string;
let cleanup: () => Promise<void>;
let proxy: FaultProxy;
let proxyDir: string;

before(async () => {
  ({ ns, cleanup } = await withNamespaceFreed("vk-faults"));
  proxyDir = workdir();
  proxy = await startFaultProxy(proxyDir);
});

after(async () => {
  await proxy.close();
  await cleanup();
});

/** An app of its own on a kwok node; `readyDelay` keeps its replica starting that long. */
function app(name: string, { readyDelay, description }: { readyDelay?: string; description?: string } = {}) {
  const dir = workdir({
    "vllm-app.yaml": `name: ${name}\nmodel_path: /models/tiny\nresources: {cpu: "1", memory: 1Gi}\n${description ? `description: ${description}\n` : ""}${
      readyDelay ? `pod_template:\n  metadata:\n    annotations: {vllmapp-testbed/ready-delay: "${readyDelay}"}\n` : ""
    }`,
  });
  return { dir, cli: cliIn(dir) };
}

/** The CLI in the background through the fault proxy (or straight to the API server). */
function startVia(
  args: string[],
  dir: string,
  { viaProxy = true, env = {} }: { viaProxy?: boolean; env?: Record<string, string> } = {},
) {
  return startCliIn(args, { cwd: dir, env: { ...(viaProxy ? { KUBECONFIG: proxy.kubeconfig } : {}), ...env } });
}

const isDeploymentApply = (name: string, dryRun: boolean) => (r: Seen) =>
  r.method === "PATCH" && r.path.endsWith(`/deployments/${name}`) && r.query.has("dryRun") === dryRun;

async function exists(kind: string, name: string): Promise<boolean> {
  return (await kubectl(["-n", ns, "get", kind, name], { allowFail: true })).code === 0;
}

test("the API server restarted while deploy waits: the watch resumes, deploy reports Ready, and a second deploy changes nothing", async () => {
  const a = app("steady", { readyDelay: "20s" });
  const run = startVia(["deploy", "-n", ns], a.dir, { viaProxy: false });
  await stderrShows(run, /steady: 0\/1 ready/);
  const restarted = await restartProcess(tbEnv("VLLMAPP_TESTBED_DIR"), "kube-apiserver", { signal: "SIGTERM" });
  assert.ok(restarted.downSeconds > 0);
  const r = await run;
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(
    r.stderr,
    /^warning: cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ \(context "vllmapp-testbed"\): connection (refused|reset); retrying for up to 60 s$/m,
  );
  assert.match(r.stderr, /^the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ answers again \(after \d+\.\d s\)$/m);
  assert.match(r.stderr, /steady: 1\/1 ready/);
  assert.match(r.stdout, /^ {2}ready +1\/1$/m);
  const dep = await kubectlJson(["-n", ns, "get", "deployment", "steady"]);
  assert.equal(dep.status.readyReplicas, 1);

  const again = a.cli(["deploy", "-n", ns]);
  assert.equal(again.code, 0, again.stderr);
  const actions = again.stdout.split("\n").filter((l) => /^ {2}(created|configured|unchanged|pruned) /.test(l));
  assert.ok(actions.length >= 3, again.stdout);
  assert.deepEqual(
    actions.filter((l) => !/^ {2}unchanged /.test(l)),
    [],
    again.stdout,
  );
});

test("429 and 503 answers are retried with backoff, and the deploy goes through", async () => {
  const a = app("patient-api");
  const answered = new Map<string, number>();
  proxy.rule = (r) => {
    const key = `${r.method} ${r.path} ${r.query.get("dryRun") ?? ""}`;
    const n = (answered.get(key) ?? 0) + 1;
    answered.set(key, n);
    if (r.method === "PATCH" && r.path.endsWith("/deployments/patient-api") && !r.query.has("dryRun") && n <= 2)
      return { status: 429, retryAfter: 1 };
    if (r.method === "GET" && r.path.endsWith("/secrets/patient-api-api-key") && n === 1) return { status: 503 };
    return "pass";
  };
  proxy.seen.length = 0;
  try {
    const r = await startVia(["deploy", "-n", ns, "--no-wait"], a.dir);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /created +Deployment\/patient-api/);
    // the apply of the Deployment was sent three times: twice throttled, then applied
    assert.equal(proxy.seen.filter(isDeploymentApply("patient-api", false)).length, 3);
    assert.ok(await exists("deployment", "patient-api"));
  } finally {
    proxy.rule = () => "pass";
  }
});

test("watches broken, then answered 503 while the server comes back: the wait rides it out and reports Ready", async () => {
  const a = app("comeback", { readyDelay: "8s" });
  const run = startVia(["deploy", "-n", ns], a.dir);
  await stderrShows(run, /comeback: 0\/1 ready/);
  let busyUntil = Date.now() + 3000;
  proxy.rule = (r) => (r.query.get("watch") === "true" && Date.now() < busyUntil ? { status: 503 } : "pass");
  proxy.down();
  await proxy.up();
  const r = await run;
  busyUntil = 0;
  proxy.rule = () => "pass";
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stderr, /^warning: .*; retrying for up to 60 s$/m);
  assert.match(r.stderr, /^the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ answers again \(after \d+\.\d s\)$/m);
  assert.match(r.stdout, /^ {2}ready +1\/1$/m);
  // the proxy did answer 503 to watches
  assert.ok(proxy.seen.some((x) => x.query.get("watch") === "true"));
});

test("the API server gone in the middle of the apply: exit 3 naming what was applied and what was not; a re-run finishes the deploy", async () => {
  const a = app("cutoff");
  proxy.rule = (r) => (isDeploymentApply("cutoff", false)(r) ? "hold" : "pass");
  const run = startVia(["deploy", "-n", ns, "--no-wait"], a.dir, { env: { VLLMAPP_API_OUTAGE_SECONDS: "2" } });
  await proxy.held(isDeploymentApply("cutoff", false));
  // the Service, applied alongside the Deployment, has its answer by then
  await new Promise((res) => setTimeout(res, 500));
  proxy.down();
  const r = await run;
  await proxy.up();
  proxy.rule = () => "pass";
  assert.equal(r.exitCode, 3, r.stderr);
  assert.match(r.stderr, /^warning: cannot reach the Kubernetes API at .*; retrying for up to 2 s$/m);
  assert.match(
    r.stderr,
    /^error: cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ \(context "vllmapp-testbed"\): connection (refused|reset); it stopped answering \d+ s ago$/m,
  );
  assert.match(
    r.stderr,
    /^ {2}the apply stopped part-way: applied Secret\/cutoff-api-key, Service\/cutoff, NetworkPolicy\/cutoff; not applied Deployment\/cutoff$/m,
  );
  assert.match(r.stderr, /^ {2}hint: run the same vllmapp deploy again once the API server answers/m);
  assert.equal(await exists("deployment", "cutoff"), false);
  // its lock could not be released; the re-run on this machine sees its holder is gone
  const again = a.cli(["deploy", "-n", ns, "--no-wait"]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /created +Deployment\/cutoff/);
  assert.match(again.stdout, /unchanged +Service\/cutoff/);
});

for (const phase of ["preflight", "validation", "apply"] as const) {
  test(`Ctrl-C during the ${phase}: exit 130 saying what was applied; a re-run deploys`, async () => {
    const name = `intr-${phase.slice(0, 5)}`;
    const a = app(name);
    const match =
      phase === "preflight"
        ? (r: Seen) => r.method === "GET"
        : phase === "validation"
          ? (r: Seen) => r.method === "PATCH" && r.query.get("dryRun") === "All"
          : isDeploymentApply(name, false);
    let holding = true;
    proxy.rule = (r) => (holding && match(r) ? "hold" : "pass");
    const run = startVia(["deploy", "-n", ns], a.dir);
    await proxy.held(match);
    run.kill("SIGINT");
    if (phase === "apply") {
      // the apply is finished, not cut: the held write goes through a moment later
      await new Promise((res) => setTimeout(res, 300));
      holding = false;
      proxy.releaseAll();
    }
    const r = await run;
    holding = false;
    proxy.releaseAll();
    proxy.rule = () => "pass";
    assert.equal(r.exitCode, 130, r.stderr);
    if (phase === "apply") {
      assert.match(
        r.stderr,
        new RegExp(
          `^error: interrupted: ${name} was applied in full \\(create Secret/${name}-api-key, create Service/${name}, create Deployment/${name}, create NetworkPolicy/${name}\\); stopped before waiting for it \\(vllmapp status ${name}\\)$`,
          "m",
        ),
      );
      assert.ok(await exists("deployment", name));
    } else {
      const what =
        phase === "preflight"
          ? "during the preflight checks"
          : "while the API server validated the objects \\(a dry run\\)";
      assert.match(r.stderr, new RegExp(`^error: interrupted ${what}: nothing of the apps was applied$`, "m"));
      assert.equal(await exists("deployment", name), false);
      assert.equal(await exists("secret", `${name}-api-key`), false);
    }
    // the lock went with it
    assert.equal(await exists("lease", `vllmapp-deploy-${name}`), false, r.stderr);
    const again = a.cli(["deploy", "-n", ns]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^ {2}ready +1\/1$/m);
  });
}

test("two deploys of one app at once: the second stops before writing anything and names the first; the lock goes with the first", async () => {
  const a = app("shared", { readyDelay: "12s" });
  const first = startVia(["deploy", "-n", ns], a.dir, { viaProxy: false });
  await stderrShows(first, /shared: waiting for the rollout/);
  const before = await kubectlJson(["-n", ns, "get", "deployment", "shared"]);
  writeFileSync(
    path.join(a.dir, "vllm-app.yaml"),
    `name: shared\nmodel_path: /models/tiny\nresources: {cpu: "1", memory: 1Gi}\ndescription: the second one\n`,
  );
  const second = a.cli(["deploy", "-n", ns]);
  assert.equal(second.code, 3, second.stderr);
  assert.match(
    second.stderr,
    new RegExp(
      `^error: another deploy of shared in namespace ${ns} is in progress: \\S+@${hostname()} \\(vllmapp pid ${first.pid}\\), for \\d+ s; nothing was applied$`,
      "m",
    ),
  );
  assert.match(
    second.stderr,
    /^ {2}hint: wait until it is done \(vllmapp status shared\)\. If it was killed on another machine, its lock \(Lease vllmapp-deploy-shared\) expires in \d+ s unless renewed/m,
  );
  const during = await kubectlJson(["-n", ns, "get", "deployment", "shared"]);
  assert.equal(during.metadata.generation, before.metadata.generation);
  const r = await first;
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(await exists("lease", "vllmapp-deploy-shared"), false);
  // now the second one goes through
  const later = a.cli(["deploy", "-n", ns, "--no-wait"]);
  assert.equal(later.code, 0, later.stderr);
  assert.match(later.stdout, /configured +Deployment\/shared/);
});

test("a lock held elsewhere and renewed is respected; one that expired is taken over", async () => {
  const a = app("locked");
  const lease = (renewedSecondsAgo: number) =>
    JSON.stringify({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "vllmapp-deploy-locked", namespace: ns },
      spec: {
        holderIdentity: "ci@build-agent-7 (vllmapp pid 4242)",
        leaseDurationSeconds: 30,
        acquireTime: new Date(Date.now() - 60_000).toISOString().replace("Z", "000Z"),
        renewTime: new Date(Date.now() - renewedSecondsAgo * 1000).toISOString().replace("Z", "000Z"),
      },
    });
  await kubectl(["apply", "-f", "-"], { input: lease(2) });
  const refused = a.cli(["deploy", "-n", ns, "--no-wait"]);
  assert.equal(refused.code, 3, refused.stderr);
  assert.match(
    refused.stderr,
    /^error: another deploy of locked in namespace .* is in progress: ci@build-agent-7 \(vllmapp pid 4242\), for 6\d s; nothing was applied$/m,
  );
  assert.equal(await exists("deployment", "locked"), false);
  await kubectl(["apply", "-f", "-"], { input: lease(45) });
  const taken = a.cli(["deploy", "-n", ns, "--no-wait"]);
  assert.equal(taken.code, 0, taken.stderr);
  assert.ok(await exists("deployment", "locked"));
  assert.equal(await exists("lease", "vllmapp-deploy-locked"), false);
});
