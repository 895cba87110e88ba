/**
 * Named rules over a validated app, for what the schema cannot say: quantities that parse but are not
 * what was meant (`memory: 16` is 16 bytes), and requests larger than their limits. Errors stop the
 * load; warnings are printed. Pure.
 */
import type { Finding } from "../errors.js";
import type { AppConfig } from "./schema.js";
import { findGpuType } from "./gpus.js";
import { byteQuantityProblem, quantityValue } from "./units.js";

type Quantity = string | number;

/** Every byte quantity of the app, with its field path. */
function byteQuantities(app: AppConfig): { path: (string | number)[]; value: Quantity }[] {
  const out: { path: (string | number)[]; value: Quantity }[] = [];
  const r = app.resources;
  if (r?.memory !== undefined) {
    if (Array.isArray(r.memory)) r.memory.forEach((v, i) => out.push({ path: ["resources", "memory", i], value: v }));
    else out.push({ path: ["resources", "memory"], value: r.memory });
  }
  if (r?.shm !== undefined && r.shm !== "auto") out.push({ path: ["resources", "shm"], value: r.shm });
  if (r?.disk !== undefined) out.push({ path: ["resources", "disk"], value: r.disk });
  if (app.cache) out.push({ path: ["cache", "size"], value: app.cache.size });
  return out;
}

function requestOverLimit(field: "cpu" | "memory", pair: readonly [Quantity, Quantity]): Finding | undefined {
  const [req, lim] = pair;
  if (quantityValue(req) <= quantityValue(lim)) return undefined;
  return {
    path: ["resources", field],
    severity: "error",
    message: `the ${field} request ${req} is larger than its limit ${lim}; Kubernetes rejects such a pod`,
    hint: `write [request, limit] with request ≤ limit, e.g. [${lim}, ${req}]`,
  };
}

/**
 * `A100` is the 40 GB card (the name NVIDIA's labels and the clouds give both memory sizes): said once,
 * so a model sized for 80 GB is not scheduled on 40 GB nodes by surprise. Written out (`A100 40G`), no note.
 */
function a100Note(app: AppConfig): Finding | undefined {
  // read as unknown: a "TYPE:COUNT" string, or {type, count} (as written, or as the schema hands it out)
  const gpu: unknown = app.resources?.gpu;
  const typed =
    typeof gpu === "string"
      ? gpu.replace(/:\s*\d+\s*$/, "")
      : typeof gpu === "object" && gpu !== null
        ? (gpu as { type?: unknown }).type
        : undefined;
  if (typeof typed !== "string" || typed.trim().toUpperCase() !== "A100" || findGpuType(typed)?.name !== "A100")
    return undefined;
  return {
    path: ["resources", "gpu"],
    severity: "note",
    message: "A100 is the 40 GB card (nodes labelled NVIDIA-A100-SXM4-40GB or NVIDIA-A100-PCIE-40GB)",
    hint: 'for the 80 GB one write A100_80G (or "A100 80G"); write "A100 40G" to say 40 GB without this note',
  };
}

export function appRules(app: AppConfig): Finding[] {
  const out: Finding[] = [];
  for (const { path, value } of byteQuantities(app)) {
    const p = byteQuantityProblem(value);
    if (p) out.push({ path, ...p });
  }
  const r = app.resources;
  for (const field of ["cpu", "memory"] as const) {
    const v = r?.[field];
    if (Array.isArray(v)) {
      const f = requestOverLimit(field, v as [Quantity, Quantity]);
      if (f) out.push(f);
    }
  }
  const a100 = a100Note(app);
  if (a100) out.push(a100);
  if (app.scaling?.wake && !Array.isArray(app.scaling.replicas)) {
    out.push({
      path: ["scaling", "wake"],
      severity: "warning",
      message: "scaling.wake applies to autoscaling (replicas: [min, max]); with a fixed replica count it is ignored",
    });
  }
  return out;
}
