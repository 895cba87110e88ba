/**
 * vllmapp tune on Kubernetes, without a cluster: a trial's benchmark Jobs are removed with it (their
 * deletes sent before the server's, their pods waited for after), the trial server's /version is read
 * through the API server's service proxy, the benchmark Job runs in the server's node pool, and Ctrl-C during a trial removes that trial and stops the
 * search with the trials measured before it in the results file, which the same command resumes. The
 * real cluster: test/integration/tune-kubernetes.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { nodePlanIo } from "../../../src/app/node-io.ts";
import { renderBenchJob } from "../../../src/bench/bench.ts";
import { benchJobSpec } from "../../../src/cluster/bench.ts";
import { InterruptedError } from "../../../src/errors.ts";
import type { BenchLevel, BenchRequest, BenchResult, DeployResult, Session } from "../../../src/target.ts";
import { trialCluster } from "../../../src/tune/kubernetes.ts";
import { trialSecrets, tune, type TuneRequest } from "../../../src/tune/run.ts";
import { parseTuneSlo } from "../../../src/tune/score.ts";
import { Ui } from "../../../src/ui/output.ts";
import { workdir } from "../../support/cli.ts";

const stats = (v: number) => ({ mean: v, median: v, p50: v, p90: v, p95: v, p99: v });

function level(rate: number): BenchLevel {
  return {
    concurrency: null,
    requestRate: rate,
    numPrompts: 8,
    durationSeconds: 8 / rate,
    requests: { completed: 8, failed: 0 },
    throughput: { requestsPerSecond: rate, outputTokensPerSecond: rate * 16, totalTokensPerSecond: rate * 48 },
    ttftMs: stats(100),
    tpotMs: stats(20),
    itlMs: stats(20),
    e2elMs: stats(400),
    goodput: { requestsPerSecond: rate, fraction: 1 },
    server: null,
  };
}

/** Ctrl-C as bin/vllmapp.js delivers it to the commands. */
const ctrlC = () => (process.emit as (event: string) => boolean)("vllmapp:interrupt");

/** A Kubernetes target whose trials all serve well; `interruptAt` presses Ctrl-C in that call (as the real bench then throws). */
function standIn(
  calls: string[],
  interruptAt?: string,
): { session: Session; cluster: NonNullable<Parameters<typeof tune>[1]["cluster"]> } {
  let trials = 0;
  const session: Session = {
    defaultNamespace: "team",
    async deploy(p): Promise<DeployResult> {
      const name = p.apps[0]!.loaded.config.name;
      calls.push(`deploy ${name}`);
      trials++;
      if (interruptAt === `deploy ${trials}`) ctrlC();
      return {
        dryRun: null,
        prerequisites: [],
        apps: [
          {
            name,
            namespace: "team",
            container: null,
            model: p.apps[0]!.rendered.model,
            image: "i",
            changes: [],
            endpoint: `http://${name}.team.svc:8000`,
            ready: true,
            replicas: null,
            startup: null,
            timeline: null,
            requiresApiKey: true,
            objects: null,
            docker: null,
          },
        ],
      };
    },
    async bench(ref, req: BenchRequest): Promise<BenchResult> {
      calls.push(`bench ${ref.name}`);
      if (interruptAt === `bench ${trials}`) {
        ctrlC();
        throw new InterruptedError(`interrupted: stopped reading the benchmark of ${ref.name}; Job x goes on`);
      }
      return {
        app: ref.name,
        namespace: "team",
        target: "kubernetes",
        endpoint: "",
        model: "tiny",
        image: "i",
        tool: { name: "vllm bench serve", ranIn: "Job x" },
        workload: {
          dataset: "random",
          inputLen: req.inputLen,
          outputLen: req.outputLen,
          seed: req.seed,
          percentiles: req.percentiles,
          slo: req.slo,
        },
        levels: req.requestRates.map(level),
      };
    },
    async delete(apps, req) {
      calls.push(`delete ${apps[0]!.name}${req.purgeCache ? " and its cache" : ""}${req.wait ? "" : " (no wait)"}`);
      return { apps: [] } as never;
    },
    status: async () => ({}) as never,
    logs: async () => undefined,
    list: async () => ({}) as never,
  };
  const cluster = {
    namespaceOf: (ref: { name: string; fileNamespace?: string }) => ref.fileNamespace ?? "team",
    async removeBenchJobs(name: string, namespace: string, wait: boolean) {
      calls.push(`remove bench Jobs of ${name} in ${namespace}${wait ? ", wait for their pods" : ""}`);
      return [];
    },
    async serverVersion(name: string, namespace: string) {
      calls.push(`version of ${name} in ${namespace}`);
      return "0.32.0";
    },
  };
  return { session, cluster };
}

function search(file: string, dir: string, o: Partial<TuneRequest> = {}): TuneRequest {
  return {
    file,
    target: "kubernetes",
    params: new Map(),
    set: [],
    workload: { inputLen: 32, outputLen: 16 },
    requestRates: [1, 2],
    slo: parseTuneSlo("ttft_p95=500ms", 0.9),
    sloText: "ttft_p95=500ms",
    seed: 3,
    repeat: 1,
    budget: { trials: 2 },
    resultsFile: path.join(dir, "r.json"),
    fresh: false,
    benchTimeoutSeconds: 60,
    write: false,
    offline: true,
    connection: {},
    ...o,
  };
}

const APP = 'name: tiny\nmodel_path: /models/tiny\nimage: vllm-cpu:0.32.0\nextra_args: [--max-model-len, "512"]\n';

test("a trial on Kubernetes: its benchmark Jobs are removed with it, its /version read through the API server", async () => {
  const dir = workdir({ "vllm-app.yaml": APP });
  const calls: string[] = [];
  const { session, cluster } = standIn(calls);
  const out = await tune(
    search(path.join(dir, "vllm-app.yaml"), dir),
    {
      io: nodePlanIo({}),
      session,
      cluster,
      freePort: async () => 0,
      serverVersion: async () => assert.fail("the Service URL is not reachable from here"),
      now: Date.now,
    },
    new Ui({ quiet: true }),
  );
  assert.deepEqual(calls.slice(0, 6), [
    "deploy tiny-tune",
    "version of tiny-tune in team",
    "bench tiny-tune",
    "remove bench Jobs of tiny-tune in team",
    "delete tiny-tune",
    "remove bench Jobs of tiny-tune in team, wait for their pods",
  ]);
  assert.equal(calls.filter((c) => c.startsWith("deploy")).length, 2);
  assert.equal(out.results.vllm.served, "0.32.0");
  assert.equal(out.results.target, "kubernetes");
});

test("Ctrl-C during a trial's benchmark: the trial is removed, the search stops with exit 130, the trials before it stay and the same command resumes", async () => {
  const dir = workdir({ "vllm-app.yaml": APP });
  const file = path.join(dir, "vllm-app.yaml");
  const calls: string[] = [];
  const { session, cluster } = standIn(calls, "bench 2");
  const ui = new Ui({ quiet: true });
  await assert.rejects(
    tune(
      search(file, dir),
      { io: nodePlanIo({}), session, cluster, freePort: async () => 0, serverVersion: async () => null, now: Date.now },
      ui,
    ),
    (e: unknown) =>
      e instanceof InterruptedError &&
      e.exitCode === 130 &&
      e.message ===
        `interrupted during trial max_num_seqs=16: tiny-tune was deleted, with its benchmark Jobs (its pods stop in the background); the trial measured before it is in ${path.join(dir, "r.json")} (the same command resumes)`,
  );
  assert.deepEqual(calls.slice(-3), [
    "bench tiny-tune",
    "remove bench Jobs of tiny-tune in team",
    "delete tiny-tune (no wait)",
  ]);
  assert.deepEqual(
    JSON.parse(readFileSync(path.join(dir, "r.json"), "utf8")).trials.map((t: { id: string }) => t.id),
    ["baseline"],
  );
  assert.equal(process.listenerCount("vllmapp:interrupt"), 0, "tune stopped listening for Ctrl-C");

  // the same command again: only the interrupted trial runs
  calls.length = 0;
  const again = standIn(calls);
  const out = await tune(
    search(file, dir),
    {
      io: nodePlanIo({}),
      session: again.session,
      cluster: again.cluster,
      freePort: async () => 0,
      serverVersion: async () => null,
      now: Date.now,
    },
    ui,
  );
  assert.deepEqual(
    calls.filter((c) => c.startsWith("deploy")),
    ["deploy tiny-tune"],
  );
  assert.deepEqual(
    out.results.trials.map((t) => t.id),
    ["baseline", "max_num_seqs=16"],
  );
  assert.ok(out.results.winner);
});

test("Ctrl-C as a trial's server became ready: no benchmark is started, the trial is removed", async () => {
  const dir = workdir({ "vllm-app.yaml": APP });
  const calls: string[] = [];
  const { session, cluster } = standIn(calls, "deploy 1");
  await assert.rejects(
    tune(
      search(path.join(dir, "vllm-app.yaml"), dir),
      { io: nodePlanIo({}), session, cluster, freePort: async () => 0, serverVersion: async () => null, now: Date.now },
      new Ui({ quiet: true }),
    ),
    /^InterruptedError: interrupted during trial baseline: tiny-tune was deleted, with its benchmark Jobs \(its pods stop in the background\); no trial was measured before it \(the same command resumes\)$/,
  );
  assert.deepEqual(calls, ["deploy tiny-tune", "remove bench Jobs of tiny-tune in team", "delete tiny-tune (no wait)"]);
});

test("trialCluster: the benchmark Jobs of the trial are deleted by their label, their pods waited for; /version through the service proxy", async () => {
  const requests: string[] = [];
  let podLists = 0;
  const api = {
    async request(method: string, p: string, opts: { query?: Record<string, string> }) {
      requests.push(`${method} ${p}${opts.query ? ` ${new URLSearchParams(opts.query)}` : ""}`);
      if (p.endsWith("/jobs")) return { items: [{ metadata: { name: "tiny-tune-bench-1" } }] };
      if (p.endsWith("/pods"))
        return { items: podLists++ < 1 ? [{ metadata: { name: "tiny-tune-bench-1-abcde" } }] : [] };
      if (p.endsWith("/proxy/version")) return { version: "0.32.0" };
      return {};
    },
  };
  const c = trialCluster(api as never);
  assert.deepEqual(await c.removeBenchJobs("tiny-tune", "team", true), ["tiny-tune-bench-1"]);
  assert.deepEqual(requests, [
    "GET /apis/batch/v1/namespaces/team/jobs labelSelector=vllmapp.dev%2Fbench%3Dtiny-tune",
    "DELETE /apis/batch/v1/namespaces/team/jobs/tiny-tune-bench-1 propagationPolicy=Background",
    "GET /api/v1/namespaces/team/pods labelSelector=vllmapp.dev%2Fbench%3Dtiny-tune",
    "GET /api/v1/namespaces/team/pods labelSelector=vllmapp.dev%2Fbench%3Dtiny-tune",
  ]);
  assert.equal(await c.serverVersion("tiny-tune", "team"), "0.32.0");
  assert.equal(requests.at(-1), "GET /api/v1/namespaces/team/services/tiny-tune:http/proxy/version");
});

test("the trials share the app's model cache between them, and remove it when the search ends; they read the app's own Secret", async () => {
  const dir = workdir({
    "vllm-app.yaml": `${APP}cache: {size: 10Gi}\nsecrets: [HF_TOKEN, {env_var: S3_KEY, key: s3}, {env_var: OTHER, secret: shared}]\n`,
  });
  const calls: string[] = [];
  const { session, cluster } = standIn(calls);
  const seen: string[][] = [];
  const deploy = session.deploy;
  session.deploy = async (p, r, u) => {
    seen.push(
      p.apps[0]!.rendered.objects!.flatMap((o: any) => o.spec?.template?.spec?.containers?.[0]?.env ?? [])
        .filter((e: any) => e.valueFrom?.secretKeyRef)
        .map((e: any) => `${e.name}=${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`),
    );
    return deploy(p, r, u);
  };
  await tune(
    search(path.join(dir, "vllm-app.yaml"), dir),
    { io: nodePlanIo({}), session, cluster, freePort: async () => 0, serverVersion: async () => null, now: Date.now },
    new Ui({ quiet: true }),
  );
  assert.deepEqual(
    calls.filter((c) => c.startsWith("delete")),
    ["delete tiny-tune", "delete tiny-tune", "delete tiny-tune and its cache"],
  );
  assert.deepEqual(seen[0], [
    "HF_TOKEN=tiny-secrets/HF_TOKEN",
    "S3_KEY=tiny-secrets/s3",
    "OTHER=shared/OTHER",
    "VLLM_API_KEY=tiny-tune-api-key/VLLM_API_KEY",
  ]);
  assert.deepEqual(trialSecrets({ name: "a" } as never), []);

  // Ctrl-C: the cache goes with the interrupted trial
  calls.length = 0;
  const stopped = standIn(calls, "bench 1");
  await assert.rejects(
    tune(
      search(path.join(dir, "vllm-app.yaml"), dir, { resultsFile: path.join(dir, "r2.json") }),
      {
        io: nodePlanIo({}),
        session: stopped.session,
        cluster: stopped.cluster,
        freePort: async () => 0,
        serverVersion: async () => null,
        now: Date.now,
      },
      new Ui({ quiet: true }),
    ),
    InterruptedError,
  );
  assert.deepEqual(
    calls.filter((c) => c.startsWith("delete")),
    ["delete tiny-tune and its cache (no wait)"],
  );
});

test("the benchmark Job runs in the server's node pool: its nodeSelector, node affinity and tolerations", () => {
  const nodeAffinity = {
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: [
        { matchExpressions: [{ key: "nvidia.com/gpu.product", operator: "In", values: ["NVIDIA-A10G"] }] },
      ],
    },
  };
  const tolerations = [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }];
  const dep = {
    metadata: { name: "tiny-tune", namespace: "team", labels: { "vllmapp.dev/app": "tiny-tune" }, annotations: {} },
    spec: {
      template: {
        spec: {
          nodeSelector: { pool: "gpu" },
          affinity: { nodeAffinity, podAntiAffinity: { x: 1 } },
          tolerations,
          containers: [
            {
              name: "vllm",
              image: "vllm:1",
              args: ["vllmapp-test/tiny"],
              ports: [{ name: "http", containerPort: 8000 }],
            },
          ],
        },
      },
    },
  };
  const svc = { metadata: { name: "tiny-tune", namespace: "team" }, spec: { ports: [{ name: "http", port: 8000 }] } };
  const req: BenchRequest = {
    concurrency: [1],
    requestRates: [],
    inputLen: 8,
    outputLen: 8,
    percentiles: [50],
    slo: {},
    seed: 0,
    timeoutSeconds: 60,
    keep: false,
  };
  const job = renderBenchJob(benchJobSpec(dep as never, svc as never, [], req, "tiny-tune-bench-1").spec) as any;
  const pod = job.spec.template.spec;
  assert.deepEqual(pod.nodeSelector, { pool: "gpu" });
  assert.deepEqual(pod.affinity, { nodeAffinity }, "the node affinity only, not the server's pod anti-affinity");
  assert.deepEqual(pod.tolerations, tolerations);
  assert.ok(!("nvidia.com/gpu" in (pod.containers[0].resources.requests ?? {})), "no GPU for the client");
  const plain = renderBenchJob(
    benchJobSpec(
      { ...dep, spec: { template: { spec: { containers: dep.spec.template.spec.containers } } } } as never,
      svc as never,
      [],
      req,
      "j",
    ).spec,
  ) as any;
  assert.ok(
    !("affinity" in plain.spec.template.spec) &&
      !("nodeSelector" in plain.spec.template.spec) &&
      !("tolerations" in plain.spec.template.spec),
  );
});
