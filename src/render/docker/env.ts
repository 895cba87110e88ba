/**
 * What the app's containers are given with `-e`: the plain environment (every step gets it), the app's
 * secrets by name (their values come from the docker process's environment) and the API key (the
 * server only). A secret mounted as a file has no Docker form here: a warning. Pure.
 */
import type { AppConfig } from "../../config/schema.js";
import type { ModelSource } from "../../models/source.js";
import { plainEnvOf } from "../env.js";
import { apiKeyRef } from "../labels.js";
import type { LoraPlan } from "../lora.js";
import type { Finding } from "../../errors.js";

export interface DockerEnv {
  /** `-e NAME=value` pairs: env_vars, the source's settings, parameters, LoRA's, the vLLM cache root */
  plain: string[];
  /** `-e NAME` pairs of the app's secrets (what the one-off steps get besides `plain`) */
  secrets: string[];
  /** `-e VLLM_API_KEY` when the app requires an API key (the server only) */
  apiKey: string[];
  /** the names whose values come from the docker process's environment: the secrets, then VLLM_API_KEY */
  fromHost: string[];
  /** where the key lives on Kubernetes, when the app requires one */
  key?: ReturnType<typeof apiKeyRef>;
  problems: Finding[];
}

/** The names a one-off step takes from the host: the secrets, never the API key. */
export function stepFromHost(env: DockerEnv): string[] {
  return env.fromHost.filter((n) => n !== "VLLM_API_KEY");
}

/** `vllmCacheRoot`: vLLM's cache in the container, when vllmapp mounts one (env_vars.VLLM_CACHE_ROOT unset). */
export function dockerEnvOf(
  app: AppConfig,
  src: ModelSource,
  params: ReadonlyMap<string, string>,
  lora: LoraPlan | undefined,
  vllmCacheRoot: string | undefined,
): DockerEnv {
  const env: DockerEnv = { plain: [], secrets: [], apiKey: [], fromHost: [], problems: [] };
  for (const [name, value] of [...plainEnvOf(app, src, params), ...(lora?.env ?? [])])
    env.plain.push("-e", `${name}=${value}`);
  if (vllmCacheRoot) env.plain.push("-e", `VLLM_CACHE_ROOT=${vllmCacheRoot}`);
  for (const s of app.secrets ?? []) {
    if (typeof s !== "string" && s.mount) {
      env.problems.push({
        path: ["secrets"],
        severity: "warning",
        message: `secret ${s.secret ?? `${app.name}-secrets`}/${s.key ?? s.env_var} is mounted as a file on Kubernetes only; the local container does not get it`,
        hint: `for Docker, add a bind mount through command or pass it as an env_var secret`,
      });
      continue;
    }
    const name = typeof s === "string" ? s : s.env_var!;
    env.secrets.push("-e", name);
    env.fromHost.push(name);
  }
  env.key = apiKeyRef(app);
  if (env.key) {
    env.apiKey.push("-e", "VLLM_API_KEY");
    env.fromHost.push("VLLM_API_KEY");
    if (!env.key.generated) env.problems.push(keyFromHostNote(env.key));
  }
  return env;
}

/** requires_auth names a Secret the user manages: locally the key comes from VLLM_API_KEY in their environment. */
function keyFromHostNote(key: { secret: string; key: string }): Finding {
  return {
    path: ["requires_auth"],
    severity: "note",
    message: `the local container takes its API key from VLLM_API_KEY in your environment (on Kubernetes it reads Secret ${key.secret}, key ${key.key})`,
    hint: `export VLLM_API_KEY before \`vllmapp deploy --local\`, e.g. from the cluster: kubectl get secret ${key.secret} -o jsonpath='{.data.${key.key}}' | base64 -d`,
  };
}
