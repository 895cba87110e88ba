/** GPU, CPU, memory and /dev/shm sizing for one replica (the `resources` field). Pure. */
import type { AppConfig } from "../config/schema.js";
import { findGpuType, type GpuType } from "../config/gpus.js";
import { quantityString, quantityValue } from "../config/units.js";

export interface GpuRequest {
  /** devices (or MIG slices) per replica */
  count: number;
  type?: GpuType;
  partition?: string;
  /** extended resource requested */
  resource: string;
}

export function gpuRequest(app: AppConfig): GpuRequest {
  const g = app.resources?.gpu;
  if (g === undefined) return { count: 0, resource: "nvidia.com/gpu" };
  const type = g.type === undefined ? undefined : findGpuType(g.type);
  if (g.partition) return { count: g.count, type, partition: g.partition, resource: `nvidia.com/mig-${g.partition}` };
  return { count: g.count, type, resource: type?.resource ?? "nvidia.com/gpu" };
}

const GiB = 2 ** 30;

function gib(n: number): string {
  return `${n}Gi`;
}

export interface Sizing {
  requests: Record<string, string>;
  limits: Record<string, string>;
  /** /dev/shm size, or undefined for Docker's --ipc=host */
  shm: string;
  shmAuto: boolean;
}

/**
 * Defaults when resources are partly given (documented in README "Sizing"):
 * CPU 4 per GPU (at least 2), memory 16Gi per GPU (at least 8Gi); shm 1Gi without GPUs, 2Gi for one,
 * 16Gi for more. A single memory value is the request and the limit; the memory-backed /dev/shm
 * counts against the limit, so its size is added to the limit.
 */
export function sizeResources(app: AppConfig, gpu: GpuRequest): Sizing {
  const r = app.resources ?? { shm: "auto" as const };
  const n = gpu.count;
  const shmAuto = r.shm === "auto";
  const shm = shmAuto ? (n === 0 ? "1Gi" : n === 1 ? "2Gi" : "16Gi") : quantityString(r.shm as string | number);
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  const [cpuReq, cpuLim] = Array.isArray(r.cpu) ? r.cpu : [r.cpu ?? Math.max(2, 4 * n), undefined];
  requests.cpu = quantityString(cpuReq);
  if (cpuLim !== undefined) limits.cpu = quantityString(cpuLim);
  if (Array.isArray(r.memory)) {
    requests.memory = quantityString(r.memory[0]);
    limits.memory = quantityString(r.memory[1]);
  } else {
    const mem = r.memory ?? gib(Math.max(8, 16 * n));
    requests.memory = quantityString(mem);
    const total = quantityValue(mem) + quantityValue(shm);
    limits.memory = total % GiB === 0 ? gib(total / GiB) : String(Math.ceil(total));
  }
  if (r.disk !== undefined) {
    requests["ephemeral-storage"] = quantityString(r.disk);
    limits["ephemeral-storage"] = quantityString(r.disk);
  }
  if (n > 0) {
    requests[gpu.resource] = String(n);
    limits[gpu.resource] = String(n);
  }
  return { requests, limits, shm, shmAuto };
}
