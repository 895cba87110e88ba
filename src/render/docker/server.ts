/**
 * The server container's own flags: the GPUs (NVIDIA's --gpus, or ROCm's devices), /dev/shm, the
 * published port, the host's caches, what a Kubernetes-only setting becomes locally, and the labels
 * status, delete and redeploy find the container by. Pure.
 */
import type { AppConfig } from "../../config/schema.js";
import { dockerSize } from "../../config/units.js";
import { servedModelName, sourceUri, type ModelSource } from "../../models/source.js";
import type { GpuRequest, Sizing } from "../resources.js";
import type { Finding } from "../../errors.js";
import type { Bind } from "./artifacts.js";

/** The host address the port is published on: loopback only. */
const DOCKER_BIND = "127.0.0.1";

/**
 * The GPU count becomes devices 0..N-1; `--gpus` (`override`) replaces it ("0" or "none": no GPUs).
 * ROCm takes the kernel driver's devices, not the NVIDIA runtime's --gpus; a device list narrows what
 * vLLM sees.
 */
export function gpuFlags(gpu: GpuRequest, override: string | undefined): string[] {
  const devices = Array.from({ length: gpu.count }, (_, i) => i).join(",");
  const gpus = override === undefined ? devices : override === "0" || override === "none" ? "" : override;
  if (gpus === "") return [];
  if (gpu.type?.vendor === "amd") {
    const flags = ["--device", "/dev/kfd", "--device", "/dev/dri", "--group-add", "video"];
    if (gpus !== "all" && override !== undefined) flags.push("-e", `HIP_VISIBLE_DEVICES=${gpus}`);
    return flags;
  }
  return gpus === "all" ? ["--gpus", "all"] : ["--gpus", `"device=${gpus}"`];
}

/** /dev/shm (auto: the host's IPC namespace), the port on loopback, the host's caches. */
export function hostFlags(app: AppConfig, sizing: Sizing, caches: readonly Bind[]): string[] {
  return [
    ...(sizing.shmAuto ? ["--ipc=host"] : ["--shm-size", dockerSize(sizing.shm)]),
    "-p",
    `${DOCKER_BIND}:${app.port}:${app.port}`,
    ...caches.flatMap((c) => ["-v", `${c.host}:${c.container}`]),
  ];
}

/** Settings that mean something on Kubernetes only: what the local container does instead. */
export function kubernetesOnlyNotes(app: AppConfig, gpu: GpuRequest): Finding[] {
  const notes: Finding[] = [];
  if (gpu.partition)
    notes.push({
      path: ["resources", "gpu", "partition"],
      severity: "note",
      message: "MIG partitions are a Kubernetes scheduling concept; Docker gets whole devices",
    });
  if (app.service_account)
    notes.push({
      path: ["service_account"],
      severity: "note",
      message: `${app.service_account} is a Kubernetes identity: the local container uses the credentials you pass it (secrets)`,
    });
  return notes;
}

/** The labels vllmapp finds the server by: the app, the spec's hash, the port, the model, its own on_shutdown. */
export function serverLabels(app: AppConfig, src: ModelSource, hash: string, onShutdown?: string[]): string[] {
  const labels = [
    "--label",
    `vllmapp.app=${app.name}`,
    "--label",
    `vllmapp.hash=${hash}`,
    "--label",
    `vllmapp.port=${app.port}`,
    "--label",
    `vllmapp.model-id=${servedModelName(app, src)}`,
    "--label",
    `vllmapp.model-uri=${sourceUri(src)}`,
  ];
  // delete and redeploy run the container's own on_shutdown, whatever the file says by then
  if (onShutdown) labels.push("--label", `vllmapp.on-shutdown=${JSON.stringify(onShutdown)}`);
  return labels;
}
