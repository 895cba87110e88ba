/**
 * A strategic merge of a pod template patch into the generated pod template, as kubectl does for
 * the lists of a PodSpec: containers, volumes, env, ports … are merged by their key; other lists
 * are replaced. `$patch: delete` on a list item removes it. Pure.
 */
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** list field name → merge key (from the Kubernetes API's patchMergeKey tags) */
const MERGE_KEYS: Record<string, string> = {
  containers: "name",
  initContainers: "name",
  ephemeralContainers: "name",
  volumes: "name",
  env: "name",
  volumeMounts: "mountPath",
  volumeDevices: "devicePath",
  ports: "containerPort",
  imagePullSecrets: "name",
  hostAliases: "ip",
  topologySpreadConstraints: "topologyKey",
  resourceClaims: "name",
  tolerations: "",
};

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function strategicMerge<T>(base: T, patch: unknown): T {
  return mergeValue(base as Json, patch as Json, undefined) as T;
}

function mergeValue(base: Json | undefined, patch: Json, field: string | undefined): Json {
  if (isObject(patch) && isObject(base)) {
    const out: Record<string, Json> = { ...base };
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete out[k];
      else out[k] = mergeValue(base[k], v, k);
    }
    return out;
  }
  if (Array.isArray(patch) && Array.isArray(base) && field && MERGE_KEYS[field]) {
    const key = MERGE_KEYS[field]!;
    const out = [...base];
    for (const item of patch) {
      if (!isObject(item) || !(key in item)) {
        out.push(item);
        continue;
      }
      const idx = out.findIndex((b) => isObject(b) && b[key] === item[key]);
      if (item["$patch"] === "delete") {
        if (idx >= 0) out.splice(idx, 1);
        continue;
      }
      if (idx >= 0) out[idx] = mergeValue(out[idx], item, undefined);
      else out.push(item);
    }
    return out;
  }
  if (Array.isArray(patch) && Array.isArray(base) && field === "tolerations") {
    // no merge key upstream: append what is not there yet
    const seen = new Set(base.map((b) => JSON.stringify(b)));
    return [...base, ...patch.filter((p) => !seen.has(JSON.stringify(p)))];
  }
  return patch;
}
