/** The server's environment: plain values for both targets, and Kubernetes secret references and mounts. Pure. */
import type { V1EnvVar, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import type { AppConfig } from "../config/schema.js";
import type { ModelSource } from "../models/source.js";
import { apiKeyRef, CACHE_MOUNT } from "./labels.js";

function paramEnvName(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
}

/**
 * The environment that is not secret, for both targets, in order: env_vars; for an S3-compatible
 * store (AWS_ENDPOINT_URL set) the Run:ai streamer's path-style addressing and no EC2 metadata lookups,
 * unless env_vars sets them; then parameters.
 */
export function plainEnvOf(app: AppConfig, src: ModelSource, params: ReadonlyMap<string, string>): [string, string][] {
  const env: [string, string][] = Object.entries(app.env_vars ?? {}).map(([k, v]) => [k, String(v)]);
  if (src.kind === "s3" && app.env_vars?.AWS_ENDPOINT_URL !== undefined) {
    if (app.env_vars.RUNAI_STREAMER_S3_USE_VIRTUAL_ADDRESSING === undefined)
      env.push(["RUNAI_STREAMER_S3_USE_VIRTUAL_ADDRESSING", "0"]);
    if (app.env_vars.AWS_EC2_METADATA_DISABLED === undefined) env.push(["AWS_EC2_METADATA_DISABLED", "true"]);
  }
  for (const p of app.parameters ?? [])
    env.push([p.env_var ?? paramEnvName(p.name), params.get(p.name) ?? String(p.value)]);
  return env;
}

export interface SecretMount {
  volume: V1Volume;
  mount: V1VolumeMount;
}

/** The Kubernetes container environment (secrets by reference) and the secrets mounted as files. */
export function kubernetesEnvOf(
  app: AppConfig,
  src: ModelSource,
  params: ReadonlyMap<string, string>,
): { env: V1EnvVar[]; secretMounts: SecretMount[] } {
  const env: V1EnvVar[] = [];
  const add = (e: V1EnvVar) => {
    const i = env.findIndex((x) => x.name === e.name);
    if (i >= 0) env[i] = e;
    else env.push(e);
  };
  if (src.kind === "hf" || app.cache) add({ name: "HF_HOME", value: `${CACHE_MOUNT}/huggingface` });
  // with a cache PVC, vLLM's torch.compile / CUDA graph / model-inspection cache lives on it too, so the
  // next pod (a restart, a rollout, another replica) starts warm; env_vars.VLLM_CACHE_ROOT wins
  if (app.cache) add({ name: "VLLM_CACHE_ROOT", value: `${CACHE_MOUNT}/vllm` });
  for (const [name, value] of plainEnvOf(app, src, params)) add({ name, value });
  const secretMounts: SecretMount[] = [];
  for (const s of app.secrets ?? []) {
    if (typeof s === "string") {
      add({ name: s, valueFrom: { secretKeyRef: { name: `${app.name}-secrets`, key: s } } });
    } else if (s.mount) {
      const secret = s.secret ?? `${app.name}-secrets`;
      const key = s.key ?? s.env_var!;
      const vol = `secret-${secret}-${key}`
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, "-")
        .slice(0, 63)
        .replace(/-+$/, "");
      secretMounts.push({
        volume: { name: vol, secret: { secretName: secret, items: [{ key, path: key }] } },
        mount: { name: vol, mountPath: `${s.mount.replace(/\/+$/, "")}/${key}`, subPath: key, readOnly: true },
      });
    } else {
      add({
        name: s.env_var!,
        valueFrom: { secretKeyRef: { name: s.secret ?? `${app.name}-secrets`, key: s.key ?? s.env_var! } },
      });
    }
  }
  const key = apiKeyRef(app);
  if (key) add({ name: "VLLM_API_KEY", valueFrom: { secretKeyRef: { name: key.secret, key: key.key } } });
  return { env, secretMounts };
}
