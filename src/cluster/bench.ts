/**
 * `vllmapp bench` on Kubernetes: a Job next to the server (same namespace) runs the wrapper of
 * src/bench/bench.ts from the image the server runs, against the app's Service, with the server's
 * environment (the API key as OPENAI_API_KEY, by secretKeyRef) and a tokenizer: the model's own repo or
 * folder, or its tokenizer files copied from the object store by an init container. The results are
 * read back from the Job's log. The server's /metrics are scraped from each ready replica's pod IP.
 */
import { randomBytes } from "node:crypto";
import type { V1PodSpec, V1Volume } from "@kubernetes/client-node";
import {
  BenchOutput,
  countersFor,
  COPIED_TOKENIZER,
  describeLevel,
  feedWithProgress,
  planLevels,
  renderBenchJob,
  TOKENIZER_FILES,
  wrapperConfig,
  type BenchJobSpec,
  type TokenizerSource,
} from "../bench/bench.js";
import { formatDuration } from "../config/units.js";
import { AppFailedError, InterruptedError, ReadinessTimeoutError, UsageError } from "../errors.js";
import { listenForInterrupt, stopListeningForInterrupt } from "../interrupt.js";
import { isObjectStore, parseModelPath } from "../models/source.js";
import { ANNOTATION_MODEL_ID, ANNOTATION_MODEL_URI, FIELD_MANAGER, LABEL_APP } from "../render/labels.js";
import { rcloneSource } from "../render/model-copy.js";
import { podSecurityLevelOf } from "../render/security.js";
import type { BenchRequest, BenchResult } from "../target.js";
import type { Ui } from "../ui/output.js";
import type { KubeApi } from "./api.js";
import { API_KEY } from "./apply.js";
import { diagnosePods, type KEvent } from "./diagnose.js";
import { ApiError } from "./errors.js";
import type { Container, Deployment, Pod, PodSpec, Service, Wire } from "./k8s-types.js";
import { serviceUrl } from "./read.js";
import { appStatus } from "./status.js";

const RCLONE_IMAGE = "rclone/rclone:1.71.1";
/** Server settings the benchmark must not take over: where the server keeps its caches. */
const NOT_COPIED = new Set([API_KEY, "HF_HOME", "VLLM_CACHE_ROOT", "HF_HUB_CACHE", "TRANSFORMERS_CACHE"]);

/**
 * A pod spec or a volume read back, for the pure code typed with client-node's models (the Pod Security
 * verdict, the Job's volumes): the two differ only in the Date fields of an ephemeral volume's claim
 * template, strings on the wire, which that code neither reads nor changes.
 */
function asModel<T>(wire: Wire<T>): T {
  return wire as unknown as T;
}

/**
 * A Job name from the app, the time and a nonce: `<app>-bench-<yymmddhhmmss>-<nonce>`, at most 63
 * characters. The nonce keeps two runs started in the same second apart.
 */
export function benchJobName(app: string, at: Date, nonce: string): string {
  const stamp = `${at.toISOString().replace(/[-:T]/g, "").slice(2, 14)}-${nonce}`;
  return `${app.slice(0, 63 - 7 - stamp.length).replace(/-+$/, "")}-bench-${stamp}`;
}

/** How the Job gets the tokenizer, from the live Deployment: its model argument, its volumes, its model URI. Pure. */
export function tokenizerFor(dep: Deployment, container: Container | undefined): TokenizerSource {
  const modelArg = container?.args?.[0] ?? "";
  const uri = dep.metadata.annotations?.[ANNOTATION_MODEL_URI] ?? modelArg;
  const source = parseModelPath(uri, { backend: "kubernetes" });
  if ("kind" in source && isObjectStore(source)) {
    const download = (dep.spec?.template?.spec?.initContainers ?? []).find((c) => c.name === "model-download");
    const env = (container?.env ?? []).filter((e) => /^(AWS_|GOOGLE_|AZURE_|RCLONE_)/.test(e.name));
    const endpoint = env.find((e) => e.name === "AWS_ENDPOINT_URL" && typeof e.value === "string");
    if (source.kind === "s3" && endpoint && !env.some((e) => e.name === "RCLONE_S3_ENDPOINT"))
      env.push({ name: "RCLONE_S3_ENDPOINT", value: endpoint.value });
    return {
      kind: "copy",
      image: download?.image ?? RCLONE_IMAGE,
      args: ["copy", ...rcloneSource(source), COPIED_TOKENIZER, ...TOKENIZER_FILES, "--max-depth", "1"],
      env,
    };
  }
  if (modelArg.startsWith("/")) {
    // a folder on a volume the server mounts (a PVC): the Job mounts the same, read-only
    const mount = [...(container?.volumeMounts ?? [])]
      .sort((a, b) => b.mountPath.length - a.mountPath.length)
      .find((m) => modelArg === m.mountPath || modelArg.startsWith(`${m.mountPath.replace(/\/$/, "")}/`));
    const volume = mount && (dep.spec?.template?.spec?.volumes ?? []).find((v) => v.name === mount.name);
    if (volume && !volume.emptyDir) {
      const ro = volume.persistentVolumeClaim
        ? { ...volume, persistentVolumeClaim: { ...volume.persistentVolumeClaim, readOnly: true } }
        : volume;
      return {
        kind: "mount",
        tokenizer: modelArg,
        volume: asModel<V1Volume>(ro),
        mount: {
          name: mount.name,
          mountPath: mount.mountPath,
          ...(mount.subPath ? { subPath: mount.subPath } : {}),
          readOnly: true,
        },
      };
    }
  }
  // a Hugging Face repo (the tokenizer's files come from the Hub, with the server's HF_TOKEN/HF_ENDPOINT), or a path in the image
  return { kind: "as-is", tokenizer: modelArg };
}

/** The Job for a deployed app, from its live Deployment, Service and ready pods. Pure. */
export function benchJobSpec(
  dep: Deployment,
  svc: Service,
  pods: readonly Pod[],
  req: BenchRequest,
  name: string,
): { spec: BenchJobSpec; baseUrl: string; model: string; image: string } {
  const app = dep.metadata.labels?.[LABEL_APP] ?? dep.metadata.name;
  const namespace = dep.metadata.namespace!;
  const container =
    (dep.spec?.template?.spec?.containers ?? []).find((c) => c.name === "vllm") ??
    dep.spec?.template?.spec?.containers?.[0];
  const baseUrl = serviceUrl(svc, namespace);
  const model = req.model ?? dep.metadata.annotations?.[ANNOTATION_MODEL_ID] ?? container?.args?.[0] ?? app;
  const env = (container?.env ?? []).filter((e) => !NOT_COPIED.has(e.name));
  const key = (container?.env ?? []).find((e) => e.name === API_KEY);
  if (key?.valueFrom) env.push({ name: "OPENAI_API_KEY", valueFrom: key.valueFrom });
  else if (key?.value !== undefined) env.push({ name: "OPENAI_API_KEY", value: key.value });
  // a Deployment's containers have an image (the API server requires one)
  const image = container?.image ?? "";
  const tokenizer = tokenizerFor(dep, container);
  const tokenizerPath = tokenizer.kind === "copy" ? COPIED_TOKENIZER : tokenizer.tokenizer;
  const port = (container?.ports ?? []).find((p) => p.name === "http")?.containerPort ?? svc.spec?.ports?.[0]?.port;
  const metrics = pods.flatMap((p) => {
    const ip = p.status?.podIP;
    return ip ? [`http://${ip.includes(":") ? `[${ip}]` : ip}:${port}/metrics`] : [];
  });
  const config = wrapperConfig(
    { baseUrl, model, tokenizer: tokenizerPath },
    req,
    planLevels(req),
    metrics.length ? metrics : [`${baseUrl}/metrics`],
    countersFor(image),
  );
  // the same Pod Security level as the server's pod (restricted, or root for an image that needs it)
  const profile =
    dep.spec?.template?.spec && podSecurityLevelOf(asModel<V1PodSpec>(dep.spec.template.spec)).level === "restricted"
      ? "restricted"
      : "baseline";
  // in the server's node pool (on a cluster with GPU node pools, not a hop away on another pool's node)
  const pod: Partial<PodSpec> = dep.spec?.template?.spec ?? {};
  const placement = {
    ...(pod.nodeSelector ? { nodeSelector: pod.nodeSelector } : {}),
    ...(pod.affinity?.nodeAffinity ? { affinity: { nodeAffinity: pod.affinity.nodeAffinity } } : {}),
    ...(pod.tolerations ? { tolerations: pod.tolerations } : {}),
  };
  return {
    spec: {
      app,
      namespace,
      name,
      image,
      env,
      tokenizer,
      config,
      profile,
      ...(Object.keys(placement).length ? { placement } : {}),
    },
    baseUrl,
    model,
    image,
  };
}

const isReady = (p: Pod) => (p.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

/** The live objects a benchmark Job is made from; a user's error when the app is not deployed, or not ready. */
async function readBenchTarget(
  api: KubeApi,
  app: string,
  namespace: string,
): Promise<{ dep: Deployment; svc: Service; ready: Pod[] }> {
  const status = await appStatus(api, app, namespace);
  if (!status.deployed)
    throw new UsageError(
      `app ${app} is not deployed in namespace ${namespace}`,
      `deploy it first: vllmapp deploy (vllmapp list -n ${namespace} shows what runs there)`,
    );
  if (!status.ready)
    throw new AppFailedError(
      `app ${app} is not ready (${status.replicas?.ready ?? 0}/${status.replicas?.desired ?? 0} ready): ${status.reason ?? "rollout in progress"}`,
      status.hint ?? `wait until it is: vllmapp status ${app}`,
    );
  const ns = `/api/v1/namespaces/${namespace}`;
  const [dep, svc, pods] = await Promise.all([
    api.get<Deployment>(`/apis/apps/v1/namespaces/${namespace}/deployments/${app}`, `read Deployment ${app}`),
    api.get<Service>(`${ns}/services/${app}`, `read Service ${app}`),
    api.request<{ items: Pod[] }>("GET", `${ns}/pods`, {
      query: { labelSelector: `${LABEL_APP}=${app}` },
      what: `list the pods of ${app}`,
    }),
  ]);
  if (!dep || !svc)
    throw new UsageError(
      `app ${app} has no ${dep ? "Service" : "Deployment"} in namespace ${namespace}`,
      "deploy it again: vllmapp deploy",
    );
  return { dep, svc, ready: pods.items.filter(isReady) };
}

/** The benchmark Job of one run. */
interface BenchJob {
  app: string;
  namespace: string;
  name: string;
}

/** What ended a run early: its deadline or Ctrl-C, as one abort signal. */
interface RunStop {
  signal: AbortSignal;
  /** which of the two stopped it (the later, if both) */
  readonly why: "timeout" | "interrupted" | undefined;
  /** clears the deadline and stops listening for Ctrl-C */
  dispose(): void;
}

function stopOnTimeoutOrInterrupt(timeoutSeconds: number): RunStop {
  const ac = new AbortController();
  let why: RunStop["why"];
  const stop = (w: NonNullable<RunStop["why"]>) => {
    why = w;
    ac.abort();
  };
  const timer = setTimeout(() => stop("timeout"), timeoutSeconds * 1000);
  const onInterrupt = () => stop("interrupted");
  listenForInterrupt(onInterrupt);
  return {
    signal: ac.signal,
    get why() {
      return why;
    },
    dispose() {
      clearTimeout(timer);
      stopListeningForInterrupt(onInterrupt);
    },
  };
}

/**
 * Waits for the Job's pod, reads its bench container's log into `out` until the wrapper's end (a log
 * that is followed stays open a moment longer), then the container's exit code; undefined when the run
 * was stopped first.
 */
async function followJob(
  api: KubeApi,
  job: BenchJob,
  out: BenchOutput,
  stop: RunStop,
  interactive: boolean,
  progress: (what: string) => void,
): Promise<number | undefined> {
  const pod = await waitForPod(api, job.namespace, job.name, stop.signal, progress).catch((e) => {
    if (stop.why) return undefined;
    throw e;
  });
  const reading = new AbortController();
  stop.signal.addEventListener("abort", () => reading.abort());
  const feed = feedWithProgress(out, interactive, progress);
  if (pod)
    await api.lines(
      `/api/v1/namespaces/${job.namespace}/pods/${pod.name}/log`,
      {
        query: { container: "bench", follow: pod.running },
        signal: reading.signal,
        what: `read the log of ${pod.name}`,
      },
      (line) => {
        feed(line);
        if (out.ended || out.failed) reading.abort();
      },
    );
  return stop.why || !pod ? undefined : await exitCodeOf(api, job.namespace, pod.name, stop.signal);
}

/**
 * A run that did not end well, as the error to throw: stopped by Ctrl-C (the Job goes on), out of time,
 * or failed (its exit code and the log's last lines); undefined when it ended well. Pure.
 */
export function benchFailure(
  job: BenchJob,
  out: BenchOutput,
  why: RunStop["why"],
  exit: number | undefined,
  timeoutSeconds: number,
): Error | undefined {
  const { app, namespace, name } = job;
  const leftHint = `the Job stays for an hour for a look: kubectl logs -n ${namespace} job/${name}`;
  if (why === "interrupted")
    return new InterruptedError(
      `interrupted: stopped reading the benchmark of ${app}; Job ${name} goes on (kubectl delete job -n ${namespace} ${name})`,
    );
  if (why === "timeout")
    return new ReadinessTimeoutError(
      `the benchmark of ${app} did not finish within ${formatDuration(timeoutSeconds)} (at ${out.describe()})`,
      leftHint,
    );
  if (exit === 0 && out.ended) return undefined;
  const tail = out.tail.length ? `\n  last log lines:\n${out.tail.map((l) => `    ${l}`).join("\n")}` : "";
  const what = out.ended ? "" : !out.levels.length && !out.current ? "; it printed no results" : "";
  return new AppFailedError(
    `the benchmark of ${app} failed (Job ${name}, exit code ${exit ?? "?"})${what}${tail}`,
    leftHint,
  );
}

/** Deletes the Job and its pod (one gone already is fine). */
async function deleteJob(api: KubeApi, job: BenchJob): Promise<void> {
  await api
    .request("DELETE", `/apis/batch/v1/namespaces/${job.namespace}/jobs/${job.name}`, {
      query: { propagationPolicy: "Background" },
      what: `delete the benchmark Job ${job.name}`,
    })
    .catch((e) => {
      if (!(e instanceof ApiError && e.status === 404)) throw e;
    });
}

export async function benchCluster(
  api: KubeApi,
  app: string,
  namespace: string,
  req: BenchRequest,
  ui: Ui,
): Promise<BenchResult> {
  const { dep, svc, ready } = await readBenchTarget(api, app, namespace);
  const levels = planLevels(req);
  const job: BenchJob = { app, namespace, name: benchJobName(app, new Date(), randomBytes(3).toString("hex")) };
  const { spec, baseUrl, model, image } = benchJobSpec(dep, svc, ready, req, job.name);
  await api.request("POST", `/apis/batch/v1/namespaces/${namespace}/jobs`, {
    query: { fieldManager: FIELD_MANAGER },
    body: renderBenchJob(spec),
    what: `create the benchmark Job ${job.name}`,
  });
  const spin = await ui.spinner(
    `bench ${app}: ${levels.map(describeLevel).join(", ")} against ${baseUrl} (vllm bench serve in Job ${job.name})`,
  );
  const out = new BenchOutput(levels, req, countersFor(image));
  const stop = stopOnTimeoutOrInterrupt(req.timeoutSeconds);
  try {
    const exit = await followJob(api, job, out, stop, ui.interactive, (what) => spin.update(`bench ${app}: ${what}`));
    spin.stop();
    const failure = benchFailure(job, out, stop.why, exit, req.timeoutSeconds);
    if (failure) throw failure;
    for (const w of out.warnings) ui.warn(w);
    ui.success(`bench ${app}: ${out.levels.length} level${out.levels.length === 1 ? "" : "s"} done`);
    if (!req.keep) await deleteJob(api, job);
  } finally {
    stop.dispose();
    spin.stop();
  }
  return {
    app,
    namespace,
    target: "kubernetes",
    endpoint: baseUrl,
    model,
    image,
    tool: { name: "vllm bench serve", ranIn: `Job ${job.name}` },
    workload: {
      dataset: "random",
      inputLen: req.inputLen,
      outputLen: req.outputLen,
      seed: req.seed,
      percentiles: req.percentiles,
      slo: req.slo,
    },
    levels: out.levels,
  };
}

/** Wait until the Job's pod has its bench container running or done; a pod that cannot start is an error. */
async function waitForPod(
  api: KubeApi,
  namespace: string,
  job: string,
  signal: AbortSignal,
  progress: (why: string) => void,
): Promise<{ name: string; running: boolean }> {
  const ac = new AbortController();
  signal.addEventListener("abort", () => ac.abort());
  let found: { name: string; running: boolean } | undefined;
  let failure: Error | undefined;
  const events: KEvent[] = [];
  await api.watch<Pod>(
    `/api/v1/namespaces/${namespace}/pods`,
    { labelSelector: `batch.kubernetes.io/job-name=${job}` },
    ac.signal,
    `watch the pod of Job ${job}`,
    (e) => {
      if (e.type === "DELETED") return;
      const pod = e.object;
      const bench = (pod.status?.containerStatuses ?? []).find((s) => s.name === "bench");
      if (bench?.state?.running || bench?.state?.terminated) {
        found = { name: pod.metadata.name, running: Boolean(bench.state.running) };
        ac.abort();
        return;
      }
      const d = diagnosePods([pod], events);
      if (d?.fatal) {
        failure = new AppFailedError(`the benchmark Job ${job} cannot run: ${d.reason}`, d.hint);
        ac.abort();
        return;
      }
      progress(d ? d.reason : `waiting for the pod of Job ${job}`);
    },
  );
  if (failure) throw failure;
  if (!found) throw new InterruptedError("interrupted");
  return found;
}

/** The bench container's exit code, once the pod says it terminated (the log can end a moment before). */
async function exitCodeOf(
  api: KubeApi,
  namespace: string,
  pod: string,
  signal: AbortSignal,
): Promise<number | undefined> {
  for (let i = 0; i < 60 && !signal.aborted; i++) {
    const p = await api.get<Pod>(`/api/v1/namespaces/${namespace}/pods/${pod}`, `read pod ${pod}`);
    const s = (p?.status?.containerStatuses ?? []).find((c) => c.name === "bench");
    if (s?.state?.terminated) return s.state.terminated.exitCode;
    await new Promise((r) => setTimeout(r, 500));
  }
  return undefined;
}
