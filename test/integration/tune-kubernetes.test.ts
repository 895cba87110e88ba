/**
 * `vllmapp tune` on Kubernetes against the REAL vLLM (the test bed's CPU build) on the test bed's REAL
 * node, serving the tiny model from the Hub replay, in a namespace that enforces Pod Security
 * "restricted", the image pulled from the test bed's registry (VLLM_IMAGE_REGISTRY). Each trial is the
 * app deployed beside itself as `<app>-tune` and measured by `vllm bench serve` in a Job, one trial at a
 * time (the node has 2 cores). The results file's winner has the best goodput of its trials and a diff
 * is printed; Ctrl-C during the second trial's benchmark removes that trial (server and Job) and keeps
 * the first; the same command then resumes, measures the second trial again and picks the same winner
 * as the first search. Nothing of the trials is left in the namespace, after each search and after the
 * Ctrl-C. (The numbers mean nothing on two shared cores; the mechanics do.)
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { BIN, workdir } from "../support/cli.ts";
import { kubectl, kubectlJson, tbEnv, waitUntil, withNamespace } from "../support/testbed.ts";

let ns: string;
let cleanup: () => Promise<void>;
before(async () => {
  ({ ns, cleanup } = await withNamespace("tunek", { restricted: true }));
});
after(() => cleanup?.());

/** Real-node sizing: the node has 2 CPUs, so vllmapp's default of 4 CPUs per GPU cannot be scheduled there. */
const RESOURCES = `resources: {gpu: "A10G:1", cpu: ["250m", "2"], memory: ["1Gi", "6Gi"]}`;

const env = () => ({ CI: "1", NO_COLOR: "1", HF_ENDPOINT: tbEnv("HF_ENDPOINT") });

async function cli(args: string[], cwd: string) {
  const r = await execa(process.execPath, [BIN, ...args], {
    cwd,
    env: env(),
    reject: false,
    stdin: "ignore",
    timeout: 1_500_000,
  });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** What is in the namespace besides what Kubernetes puts in every one. */
async function leftovers(): Promise<string[]> {
  const r = await kubectl([
    "-n",
    ns,
    "get",
    "deployments,replicasets,services,jobs,pods,secrets,configmaps,leases,persistentvolumeclaims,networkpolicies,poddisruptionbudgets",
    "-o",
    "name",
  ]);
  return r.stdout.split("\n").filter((l) => l && l !== "configmap/kube-root-ca.crt");
}

// Five real vLLM starts on the real node (the first search's two trials, the cut-off one, the resumed one, and
// the second search's baseline): 836 s at load 14 on two cores, over the suite's default limit of 600 s.
test(
  "tune on the real node: the winner has the best goodput, a diff; Ctrl-C removes the trial in flight; the resumed search picks the same winner; nothing is left",
  { timeout: 2_400_000 },
  async () => {
    const name = "tk";
    const yaml = `# the tiny model from the Hub replay, on the real node
name: ${name}
model_id: tiny
model_hf_path: ${tbEnv("VLLM_TINY_MODEL_HF")}
image: ${tbEnv("VLLM_IMAGE_REGISTRY")}
${RESOURCES}
startup_timeout: 6m
env_vars:
  HF_ENDPOINT: ${tbEnv("POD_HF_ENDPOINT")}
extra_args: [--max-model-len, "512"]  # the context
`;
    const dir = workdir({ "vllm-app.yaml": yaml });
    const search = [
      "tune",
      "-n",
      ns,
      "--slo",
      "ttft_p95=20s,itl_p95=5s",
      "--workload",
      "32:16",
      "--request-rate",
      "1,2",
      "--num-prompts",
      "8",
      "--repeat",
      "1",
      "--budget",
      "2",
      "--seed",
      "3",
      "--timeout",
      "12m",
    ];
    const first = await cli([...search, "--results", "first.json"], dir);
    assert.equal(first.code, 0, first.stderr);
    const r = JSON.parse(readFileSync(path.join(dir, "first.json"), "utf8"));
    assert.equal(r.target, "kubernetes");
    const pruned = Object.fromEntries(r.candidates.filter((c: any) => c.pruned).map((c: any) => [c.id, c.pruned]));
    assert.match(pruned["tensor_parallel=2"], /needs 2 GPUs; the app has 1/);
    // two trials ran on the real node, in the search order, each measured by vllm bench serve in a Job
    assert.deepEqual(
      r.trials.map((t: any) => t.id),
      ["baseline", "max_num_seqs=16"],
    );
    for (const t of r.trials) {
      assert.equal(t.status, "ok", `${t.id}: ${t.error}`);
      assert.deepEqual(
        t.runs[0].map((l: any) => l.requestRate),
        [1, 2],
      );
      for (const l of t.runs[0]) assert.equal(l.requests.completed, 8, `${t.id} at ${l.requestRate} req/s`);
      assert.ok(t.runs[0][0].ttftMs.p95 > 0);
    }
    assert.ok(r.trials[1].serveArgs.join(" ").includes("--max-num-seqs 16"), "the trial ran with its flag");
    assert.match(first.stderr, new RegExp(`^bench ${name}-tune: .*vllm bench serve in Job ${name}-tune-bench-`, "m"));
    assert.match(r.vllm.served, /^\d+\.\d+\.\d+/, "the trial server's own /version, through the API server");
    // the winner: the best goodput of the trials, its change printed as a diff
    const best = Math.max(...r.trials.map((t: any) => t.goodput));
    assert.ok(r.winner, "a winner");
    assert.equal(r.trials.find((t: any) => t.id === r.winner.id).goodput, best);
    assert.equal(r.winner.goodput, best);
    assert.match(first.stdout, new RegExp(`^Winner +${r.winner.id.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: `, "m"));
    if (r.winner.id !== "baseline") assert.equal(first.stdout.includes(r.winner.diff.trimEnd()), true);
    assert.equal(readFileSync(path.join(dir, "vllm-app.yaml"), "utf8"), yaml);
    assert.deepEqual(await leftovers(), []);

    // the same search into another results file, Ctrl-C while the second trial's benchmark Job runs
    const child = execa(process.execPath, [BIN, ...search, "--results", "second.json"], {
      cwd: dir,
      env: env(),
      reject: false,
      stdin: "ignore",
      timeout: 1_200_000,
    });
    await waitUntil(
      "the second trial's benchmark Job",
      async () =>
        existsSync(path.join(dir, "second.json")) &&
        (await kubectlJson<{ items: unknown[] }>(["-n", ns, "get", "jobs", "-l", `vllmapp.dev/bench=${name}-tune`]))
          .items.length > 0,
      900_000,
      1000,
    );
    child.kill("SIGINT");
    const stopped = await child;
    assert.equal(stopped.exitCode, 130, String(stopped.stderr));
    assert.match(
      String(stopped.stderr),
      new RegExp(
        `^error: interrupted during trial max_num_seqs=16: ${name}-tune was deleted, with its benchmark Jobs \\(its pods stop in the background\\); the trial measured before it is in second\\.json \\(the same command resumes\\)$`,
        "m",
      ),
    );
    assert.deepEqual(
      JSON.parse(readFileSync(path.join(dir, "second.json"), "utf8")).trials.map((t: any) => t.id),
      ["baseline"],
    );
    // the deletes were sent before the exit; the cluster may still be finishing them
    await waitUntil("nothing of the interrupted trial", async () => (await leftovers()).length === 0, 60_000, 1000);

    // the same command resumes: the second trial measured again, the same winner as the first search
    const resumed = await cli([...search, "--results", "second.json", "--write"], dir);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming .*second\.json: 1 trial already measured/);
    const r2 = JSON.parse(readFileSync(path.join(dir, "second.json"), "utf8"));
    assert.deepEqual(
      r2.trials.map((t: any) => t.id),
      r.trials.map((t: any) => t.id),
    );
    assert.equal(
      r2.winner.id,
      r.winner.id,
      `first: ${JSON.stringify(r.trials.map((t: any) => [t.id, t.goodput]))}, second: ${JSON.stringify(r2.trials.map((t: any) => [t.id, t.goodput]))}`,
    );
    // --write: the winner's change in the file, its comments kept
    const written = readFileSync(path.join(dir, "vllm-app.yaml"), "utf8");
    assert.match(written, /^# the tiny model from the Hub replay, on the real node$/m);
    if (r.winner.id !== "baseline") assert.notEqual(written, yaml);
    assert.deepEqual(await leftovers(), []);
  },
);
