/**
 * Parallelism arithmetic for one pod: vLLM starts tensor × pipeline × data-parallel-local workers, one
 * per GPU, and refuses a world size that does not match the devices it sees. Pure: numbers in, the
 * tensor-parallel size to add (or the problem, with the numbers) out. The `parallelism:` block and the
 * extra_args flags both come down to `PodParallelism`.
 */

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

export type ParallelismPlan =
  | { ok: true; tensor: number; pipeline: number; dataLocal: number; /** the tensor size was derived, not given */ derivedTensor: boolean }
  | { ok: false; message: string; hint: string };

/**
 * The tensor-parallel size a pod runs: as given, or GPUs ÷ (pipeline × data-parallel-per-pod). A product
 * that is not the pod's GPU count, or a tensor size larger than it, is a problem naming the numbers.
 */
export function planParallelism(p: PodParallelism): ParallelismPlan {
  const pipeline = p.pipeline ?? 1;
  const dataLocal = p.dataLocal ?? p.data ?? 1;
  const product = (t: number) => `tensor ${t} × pipeline ${pipeline} × data-parallel-per-pod ${dataLocal} = ${t * pipeline * dataLocal}`;
  for (const [name, v] of [["tensor", p.tensor], ["pipeline", p.pipeline], ["data-parallel", p.data], ["data-parallel-local", p.dataLocal]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) return { ok: false, message: `the ${name} size must be a whole number of at least 1, got ${v}`, hint: "write a positive integer" };
  }
  if (p.data !== undefined && p.dataLocal !== undefined && p.dataLocal > p.data) {
    return { ok: false, message: `--data-parallel-size-local ${p.dataLocal} is larger than --data-parallel-size ${p.data}`, hint: "the ranks on one pod are part of all ranks: local ≤ total" };
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
    return { ok: false, message: `--tensor-parallel-size ${p.tensor} is larger than the ${p.gpus} GPU${p.gpus === 1 ? "" : "s"} the pod asks for (resources.gpu); vLLM refuses to start`, hint: `ask for ${p.tensor * pipeline * dataLocal} GPUs, or set --tensor-parallel-size ${Math.max(1, Math.floor(p.gpus / (pipeline * dataLocal)))}` };
  }
  if (p.tensor * pipeline * dataLocal !== p.gpus) {
    const fit = p.gpus % (pipeline * dataLocal) === 0 ? p.gpus / (pipeline * dataLocal) : undefined;
    return {
      ok: false,
      message: `${product(p.tensor)} workers, but the pod asks for ${p.gpus} GPU${p.gpus === 1 ? "" : "s"} (resources.gpu); vLLM needs one GPU per worker`,
      hint: fit ? `set --tensor-parallel-size ${fit} (${p.gpus} ÷ (${pipeline} × ${dataLocal})), or ask for ${p.tensor * pipeline * dataLocal} GPUs` : `ask for ${p.tensor * pipeline * dataLocal} GPUs`,
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
const SHORT: Record<string, keyof typeof FLAGS> = { "-tp": "--tensor-parallel-size", "-pp": "--pipeline-parallel-size", "-dp": "--data-parallel-size", "-dpl": "--data-parallel-size-local" };

/** The parallelism flags of a `vllm serve` argv (`-tp 4`, `--tensor_parallel_size=4`, …), the last one winning as in argparse. */
export function parallelismFlags(args: readonly string[]): { tensor?: number; pipeline?: number; data?: number; dataLocal?: number } {
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
