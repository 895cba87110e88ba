/**
 * Named rules over a validated app, for what the schema cannot say: quantities that parse but are not
 * what was meant (`memory: 16` is 16 bytes), and requests larger than their limits. Errors stop the
 * load; warnings are printed. Pure.
 */
import type { Finding } from "../errors.js";
import type { AppConfig } from "./schema.js";
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
  if (app.scaling?.wake && !Array.isArray(app.scaling.replicas)) {
    out.push({ path: ["scaling", "wake"], severity: "warning", message: "scaling.wake applies to autoscaling (replicas: [min, max]); with a fixed replica count it is ignored" });
  }
  return out;
}
