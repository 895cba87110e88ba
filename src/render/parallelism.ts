/**
 * Parallelism: the one place where tensor × pipeline × data parallel sizes, the number of nodes and the
 * GPUs per pod are worked out and checked (README "`parallelism:` and multi-node serving"), and the vLLM flags they become.
 * vLLM's native multi-node mode (no Ray): every pod of a LeaderWorkerSet group runs the same `vllm serve`
 * with `--nnodes N --node-rank $(LWS_WORKER_INDEX) --master-addr $(LWS_LEADER_ADDRESS)`, and the workers
 * add `--headless`; vLLM infers each node's data-parallel ranks from its node rank.
 * Without `parallelism:`, sizes written in extra_args (`-tp`, `-pp`, `-dp`, `-dpl`) are honoured and
 * checked the same way (checkPodParallelism): the tensor size is GPUs ÷ (pipeline × data-parallel-per-pod)
 * unless given. With `parallelism:`, every parallel flag in extra_args is an error pointing there. Pure.
 */
import type { AppConfig } from "../config/schema.js";
import { errorOf } from "./findings.js";
import type { GpuRequest } from "./resources.js";
import type { Finding } from "../errors.js";
import type { TargetKind } from "./types.js";

/** vLLM's default `--master-port`; the workers' wait-for-leader step dials it. */
export const MASTER_PORT = 29501;

/** The flags `parallelism:` owns: written in extra_args they are errors pointing to it. */
export const PARALLEL_FLAGS: Record<string, string> = {
  "--tensor-parallel-size": "parallelism.tensor",
  "--pipeline-parallel-size": "parallelism.pipeline",
  "--data-parallel-size": "parallelism.data",
  "--data-parallel-size-local": "parallelism.data_local",
  "--enable-expert-parallel": "parallelism.expert",
  "--distributed-executor-backend": "parallelism.backend",
  "--nnodes": "parallelism.nodes",
  "--node-rank": "parallelism.nodes",
  "--master-addr": "parallelism.nodes",
  "--master-port": "parallelism.nodes",
  "--headless": "parallelism.nodes",
  "--data-parallel-address": "parallelism.nodes",
  "--data-parallel-rpc-port": "parallelism.nodes",
  "--data-parallel-start-rank": "parallelism.nodes",
  "--data-parallel-rank": "parallelism.nodes",
};

/** The sizes of one pod that extra_args may still give when the app has no parallelism: block. */
const POD_SIZE_FLAGS = new Set([
  "--tensor-parallel-size",
  "--pipeline-parallel-size",
  "--data-parallel-size",
  "--data-parallel-size-local",
]);

/** extra_args gave the sizes (they stay in the argv): only a derived tensor size is added. */
function handWrittenPlan(gpu: GpuRequest, extraArgs: readonly string[]): { plan: ParallelPlan; problems: Finding[] } {
  const given = parallelismFlags(extraArgs);
  const gpus = gpu.partition ? 1 : gpu.count;
  const plan: ParallelPlan = {
    tensor: given.tensor ?? 1,
    pipeline: given.pipeline ?? 1,
    data: given.data ?? 1,
    expert: false,
    nodes: 1,
    backend: "mp",
    gpusPerPod: gpus,
    args: [],
    workerArgs: [],
  };
  if (gpus === 0) return { plan, problems: [] };
  const par = checkPodParallelism({ gpus, ...given });
  if (!par.ok) return { plan, problems: [errorOf(["extra_args"], par.message, par.hint)] };
  plan.tensor = par.tensor;
  if (par.derivedTensor && par.tensor > 1) plan.args = ["--tensor-parallel-size", String(par.tensor)];
  return { plan, problems: [] };
}

export interface ParallelPlan {
  tensor: number;
  pipeline: number;
  data: number;
  /** data-parallel ranks per pod (data > 1 only) */
  dataLocal?: number;
  expert: boolean;
  nodes: number;
  backend: "mp" | "ray";
  gpusPerPod: number;
  /** flags every pod gets (the leader's, and the workers' before --headless) */
  args: string[];
  /** nodes > 1: what a worker adds */
  workerArgs: string[];
}

/** How many decimal digits the largest group index has (LWS pod names append -<group>-<rank>). */
function digits(n: number): number {
  return String(Math.max(0, n)).length;
}

/** The longest app name whose LWS objects stay within Kubernetes' 63-character names and label values. */
export function maxMultiNodeNameLength(maxGroups: number): number {
  // worker StatefulSet <app>-lws-<group>; its pods' controller-revision-hash label is <sts>-<10 chars>
  return 63 - "-lws".length - 1 - digits(maxGroups - 1) - 1 - 10;
}

export function leaderWorkerSetName(app: string): string {
  return `${app}-lws`;
}

/**
 * Work out the parallel sizes from `parallelism:` (or, without it, today's default: tensor parallel over
 * the pod's GPUs), check TP × PP × DP against GPUs per pod × nodes, and render the flags.
 * `flagsSet`: the canonical names of the flags extra_args sets (owned ones are errors here).
 */
export function planParallelism(
  app: AppConfig,
  gpu: GpuRequest,
  target: TargetKind,
  flagsSet: ReadonlySet<string>,
  extraArgs: readonly string[] = [],
): { plan: ParallelPlan; problems: Finding[] } {
  // one pod's sizes written by hand in extra_args, with no parallelism: block: honoured and checked
  const handWritten = !app.parallelism && [...flagsSet].some((f) => POD_SIZE_FLAGS.has(f));
  const owned = ownedFlagProblems(flagsSet, handWritten);
  if (handWritten) {
    const hand = handWrittenPlan(gpu, extraArgs);
    return { plan: hand.plan, problems: [...owned, ...hand.problems] };
  }
  const sizes = sizesOf(app.parallelism ?? {}, gpu);
  const problems = [...owned, ...sizeProblems(app, gpu, sizes), ...multiNodeProblems(app, target, sizes)];
  if (sizes.expert && sizes.tensor * sizes.pipeline * sizes.data === 1)
    problems.push({
      path: ["parallelism", "expert"],
      severity: "warning",
      message: "expert: true with one GPU in all has nothing to spread the experts over",
    });
  return {
    plan: {
      ...sizes,
      args: parallelArgs(sizes, app.parallelism?.backend !== undefined),
      workerArgs: sizes.nodes > 1 ? ["--headless"] : [],
    },
    problems,
  };
}

/** The flags `parallelism:` owns, written in extra_args: errors pointing to its field (one pod's sizes are allowed without the block). */
function ownedFlagProblems(flagsSet: ReadonlySet<string>, handWritten: boolean): Finding[] {
  const problems: Finding[] = [];
  for (const flag of flagsSet) {
    const field = PARALLEL_FLAGS[flag];
    if (!field || (handWritten && POD_SIZE_FLAGS.has(flag))) continue;
    problems.push(
      errorOf(
        ["extra_args"],
        `${flag} is set by vllmapp from ${field}; remove it from extra_args`,
        `write it as parallelism: {${field.split(".")[1]}: …} in vllm-app.yaml`,
      ),
    );
  }
  return problems;
}

type Sizes = Omit<ParallelPlan, "args" | "workerArgs">;

/**
 * The sizes `parallelism:` asks for, the rest derived: nodes as written, else from tensor × pipeline ×
 * data, else from data ÷ data_local, else one; tensor fills the GPUs of all nodes; data_local spreads data
 * over the nodes. Unchecked: sizeProblems says whether they add up.
 */
function sizesOf(p: NonNullable<AppConfig["parallelism"]>, gpu: GpuRequest): Sizes {
  const gpus = gpu.partition ? 1 : gpu.count;
  const pipeline = p.pipeline ?? 1;
  const data = p.data ?? 1;
  const perPod = Math.max(1, gpus);
  let nodes: number;
  if (typeof p.nodes === "number") nodes = p.nodes;
  else if (gpus === 0) nodes = 1;
  else if (p.tensor !== undefined) nodes = Math.max(1, Math.ceil((p.tensor * pipeline * data) / perPod));
  else if (p.data_local !== undefined && data > 1) nodes = Math.max(1, Math.ceil(data / p.data_local));
  else nodes = 1;
  const tensor = p.tensor ?? Math.max(1, Math.floor((perPod * nodes) / (pipeline * data)));
  const dataLocal = data > 1 ? (p.data_local ?? Math.max(1, Math.floor(data / nodes))) : undefined;
  return {
    tensor,
    pipeline,
    data,
    ...(dataLocal !== undefined ? { dataLocal } : {}),
    expert: p.expert ?? false,
    nodes,
    backend: p.backend ?? "mp",
    gpusPerPod: gpus,
  };
}

/** TP × PP × DP against the GPUs the app asks for (per pod × nodes), data against data_local × nodes, and a MIG slice, which is one device. */
function sizeProblems(app: AppConfig, gpu: GpuRequest, s: Sizes): Finding[] {
  const { tensor, pipeline, data, dataLocal, nodes, gpusPerPod: gpus } = s;
  const problems: Finding[] = [];
  const world = tensor * pipeline * data;
  const sizes = `tensor ${tensor} × pipeline ${pipeline} × data ${data} = ${world} GPU${world === 1 ? "" : "s"}`;
  const have = `${gpus} GPU${gpus === 1 ? "" : "s"} per pod (resources.gpu) × ${nodes} node${nodes === 1 ? "" : "s"} = ${gpus * nodes}`;
  if (app.parallelism && gpus === 0 && (world > 1 || nodes > 1)) {
    problems.push(
      errorOf(
        ["resources", "gpu"],
        `parallelism asks for ${sizes} on ${nodes} node${nodes === 1 ? "" : "s"}, but the app requests no GPUs`,
        'set resources.gpu, e.g. "H100:8" (GPUs per pod = per node)',
      ),
    );
  } else if (app.parallelism && gpus > 0 && world !== gpus * nodes) {
    const fits = world % gpus === 0 ? ` (or nodes: ${world / gpus})` : "";
    problems.push(
      errorOf(
        ["parallelism"],
        `parallelism does not add up: ${sizes}, but the app has ${have}`,
        `make tensor × pipeline × data equal GPUs per pod × nodes${fits}`,
      ),
    );
  } else if (gpus > 0 && dataLocal !== undefined && dataLocal * nodes !== data) {
    problems.push(
      errorOf(
        ["parallelism", "data_local"],
        `parallelism does not add up: data ${data} is not data_local ${dataLocal} per pod × ${nodes} node${nodes === 1 ? "" : "s"} = ${dataLocal * nodes}`,
        `set data_local: ${data % nodes === 0 ? data / nodes : "data ÷ nodes"}`,
      ),
    );
  }
  if (gpu.partition && world > 1)
    problems.push(
      errorOf(
        ["parallelism"],
        `a MIG slice (${gpu.partition}) is one device: it cannot be split ${sizes}`,
        "use whole GPUs for tensor, pipeline or data parallelism",
      ),
    );
  return problems;
}

/** nodes > 1 needs Kubernetes (a LeaderWorkerSet), vLLM's native multi-node mode (not Ray), and a name short enough for the LWS's pods. */
function multiNodeProblems(app: AppConfig, target: TargetKind, s: Sizes): Finding[] {
  if (s.nodes <= 1) return [];
  const problems: Finding[] = [];
  if (target === "docker")
    problems.push(
      errorOf(
        ["parallelism", "nodes"],
        `nodes: ${s.nodes} needs Kubernetes with LeaderWorkerSet: one Docker host runs one pod`,
        "deploy it to Kubernetes, or set parallelism so that it fits one machine (nodes: 1)",
      ),
    );
  if (s.backend === "ray")
    problems.push(
      errorOf(
        ["parallelism", "backend"],
        "backend: ray across nodes is not supported: vllmapp runs vLLM's native multi-node mode",
        "use backend: mp (the default)",
      ),
    );
  const reps = app.scaling?.replicas ?? 1;
  const limit = maxMultiNodeNameLength(Array.isArray(reps) ? reps[1] : reps);
  if (app.name.length > limit)
    problems.push(
      errorOf(
        ["name"],
        `name "${app.name}" is ${app.name.length} characters; with nodes > 1 it may have at most ${limit}: the LeaderWorkerSet's pods are <name>-lws-<group>-<rank> and their revision label <name>-lws-<group>-<10 characters> must stay within 63`,
        "shorten name",
      ),
    );
  return problems;
}

/** The flags every pod gets; `backendWritten`: parallelism.backend was set (one node: passed on as written). */
function parallelArgs(s: Sizes, backendWritten: boolean): string[] {
  const args: string[] = [];
  if (s.tensor > 1) args.push("--tensor-parallel-size", String(s.tensor));
  if (s.pipeline > 1) args.push("--pipeline-parallel-size", String(s.pipeline));
  if (s.data > 1) args.push("--data-parallel-size", String(s.data));
  if (s.data > 1 && s.nodes > 1 && s.dataLocal !== undefined)
    args.push("--data-parallel-size-local", String(s.dataLocal));
  if (s.expert) args.push("--enable-expert-parallel");
  if (s.nodes > 1) {
    // $(VAR) is expanded by the kubelet from the env the LeaderWorkerSet webhook injects
    args.push(
      "--distributed-executor-backend",
      "mp",
      "--nnodes",
      String(s.nodes),
      "--node-rank",
      "$(LWS_WORKER_INDEX)",
      "--master-addr",
      "$(LWS_LEADER_ADDRESS)",
      "--master-port",
      String(MASTER_PORT),
    );
  } else if (backendWritten) {
    args.push("--distributed-executor-backend", s.backend);
  }
  return args;
}

export interface PodParallelism {
  /** GPUs the pod asks for (whole devices) */
  gpus: number;
  tensor?: number;
  pipeline?: number;
  /** --data-parallel-size: data-parallel ranks in all (on one pod, all of them are local) */
  data?: number;
  /** --data-parallel-size-local: data-parallel ranks on this pod */
  dataLocal?: number;
}

export type PodParallelismCheck =
  | {
      ok: true;
      tensor: number;
      pipeline: number;
      dataLocal: number;
      /** the tensor size was derived, not given */ derivedTensor: boolean;
    }
  | { ok: false; message: string; hint: string };

/**
 * The tensor-parallel size a pod runs: as given, or GPUs ÷ (pipeline × data-parallel-per-pod). A product
 * that is not the pod's GPU count, or a tensor size larger than it, is a problem naming the numbers.
 */
export function checkPodParallelism(p: PodParallelism): PodParallelismCheck {
  const pipeline = p.pipeline ?? 1;
  const dataLocal = p.dataLocal ?? p.data ?? 1;
  const product = (t: number) =>
    `tensor ${t} × pipeline ${pipeline} × data-parallel-per-pod ${dataLocal} = ${t * pipeline * dataLocal}`;
  for (const [name, v] of [
    ["tensor", p.tensor],
    ["pipeline", p.pipeline],
    ["data-parallel", p.data],
    ["data-parallel-local", p.dataLocal],
  ] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1))
      return {
        ok: false,
        message: `the ${name} size must be a whole number of at least 1, got ${v}`,
        hint: "write a positive integer",
      };
  }
  if (p.data !== undefined && p.dataLocal !== undefined && p.dataLocal > p.data) {
    return {
      ok: false,
      message: `--data-parallel-size-local ${p.dataLocal} is larger than --data-parallel-size ${p.data}`,
      hint: "the ranks on one pod are part of all ranks: local ≤ total",
    };
  }
  if (p.tensor === undefined) {
    const per = pipeline * dataLocal;
    if (per > p.gpus || p.gpus % per !== 0) {
      return {
        ok: false,
        message: `${p.gpus} GPU${p.gpus === 1 ? "" : "s"} cannot be split into pipeline ${pipeline} × data-parallel-per-pod ${dataLocal} = ${per} equal tensor-parallel groups`,
        hint: `ask for a multiple of ${per} GPUs (e.g. ${Math.max(per, Math.ceil(p.gpus / per) * per)}), or change --pipeline-parallel-size / --data-parallel-size`,
      };
    }
    return { ok: true, tensor: p.gpus / per, pipeline, dataLocal, derivedTensor: true };
  }
  if (p.tensor > p.gpus) {
    return {
      ok: false,
      message: `--tensor-parallel-size ${p.tensor} is larger than the ${p.gpus} GPU${p.gpus === 1 ? "" : "s"} the pod asks for (resources.gpu); vLLM refuses to start`,
      hint: `ask for ${p.tensor * pipeline * dataLocal} GPUs, or set --tensor-parallel-size ${Math.max(1, Math.floor(p.gpus / (pipeline * dataLocal)))}`,
    };
  }
  if (p.tensor * pipeline * dataLocal !== p.gpus) {
    const fit = p.gpus % (pipeline * dataLocal) === 0 ? p.gpus / (pipeline * dataLocal) : undefined;
    return {
      ok: false,
      message: `${product(p.tensor)} workers, but the pod asks for ${p.gpus} GPU${p.gpus === 1 ? "" : "s"} (resources.gpu); vLLM needs one GPU per worker`,
      hint: fit
        ? `set --tensor-parallel-size ${fit} (${p.gpus} ÷ (${pipeline} × ${dataLocal})), or ask for ${p.tensor * pipeline * dataLocal} GPUs`
        : `ask for ${p.tensor * pipeline * dataLocal} GPUs`,
    };
  }
  return { ok: true, tensor: p.tensor, pipeline, dataLocal, derivedTensor: false };
}

const FLAGS = {
  "--tensor-parallel-size": "tensor",
  "--pipeline-parallel-size": "pipeline",
  "--data-parallel-size": "data",
  "--data-parallel-size-local": "dataLocal",
} as const;
const SHORT: Record<string, keyof typeof FLAGS> = {
  "-tp": "--tensor-parallel-size",
  "-pp": "--pipeline-parallel-size",
  "-dp": "--data-parallel-size",
  "-dpl": "--data-parallel-size-local",
};

/** The parallelism flags of a `vllm serve` argv (`-tp 4`, `--tensor_parallel_size=4`, …), the last one winning as in argparse. */
export function parallelismFlags(args: readonly string[]): {
  tensor?: number;
  pipeline?: number;
  data?: number;
  dataLocal?: number;
} {
  const out: { tensor?: number; pipeline?: number; data?: number; dataLocal?: number } = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith("-")) continue;
    const eq = a.indexOf("=");
    let opt = eq > 0 ? a.slice(0, eq) : a;
    if (opt.startsWith("--")) opt = `--${opt.slice(2).replace(/_/g, "-")}`;
    const name = SHORT[opt] ?? (opt in FLAGS ? (opt as keyof typeof FLAGS) : undefined);
    if (!name) continue;
    const raw = eq > 0 ? a.slice(eq + 1) : args[i + 1];
    if (raw === undefined || !/^\d+$/.test(raw)) continue;
    out[FLAGS[name]] = Number(raw);
  }
  return out;
}
