/**
 * The one place that decides where the models a pod reads land, and how they get there: the served
 * model, the speculative draft and each LoRA adapter. A PVC source is mounted read-only; an object-store
 * source is copied into the cache volume by an init step made from the model-download template (the
 * served model only when vLLM does not stream it); a Hugging Face source is vLLM's own download. Pure.
 */
import type { V1Container, V1EnvVar } from "@kubernetes/client-node";
import type { AppConfig } from "../../config/schema.js";
import { isObjectStore, type ModelSource } from "../../models/source.js";
import { CACHE_MOUNT, PVC_MOUNT } from "../labels.js";
import { ADAPTER_MOUNT } from "../lora.js";
import { DOWNLOAD_FILTER, rcloneSource } from "../model-copy.js";
import type { ServeResult } from "../serve.js";
import { DRAFT_PVC_MOUNT } from "../speculative.js";
import { clone, dnsLabel, INIT_RESOURCES } from "./common.js";
import type { PodBuilder } from "./pod.js";

type ObjectStoreSource = Extract<ModelSource, { kind: "s3" | "gs" | "az" }>;

/** A claim mounted read-only into the server. */
interface Mounted {
  volume: string;
  claim: string;
  mountPath: string;
}

/** An object-store copy before the server starts. */
interface Copied {
  step: string;
  from: ObjectStoreSource;
  to: string;
  /** rclone's flags besides the source's and the progress output */
  flags: string[];
  /** the served model's copy: the template may name its step, and it leaves out the server's cache root */
  served: boolean;
}

export interface Artifacts {
  mounts: Mounted[];
  copies: Copied[];
}

export function artifactsOf(app: AppConfig, src: ModelSource, serve: ServeResult): Artifacts {
  const out: Artifacts = { mounts: [], copies: [] };
  if (src.kind === "pvc") out.mounts.push({ volume: "model", claim: src.claim, mountPath: PVC_MOUNT });
  else if (isObjectStore(src) && !app.stream_model) {
    out.copies.push({
      step: "model-download",
      from: src,
      to: `${CACHE_MOUNT}/models/${app.name}`,
      flags: [...DOWNLOAD_FILTER, "--transfers=16", "--checkers=16"],
      served: true,
    });
  }
  const draft = serve.speculative?.draft;
  if (draft?.kind === "pvc") out.mounts.push({ volume: "draft-model", claim: draft.claim, mountPath: DRAFT_PVC_MOUNT });
  else if (draft && isObjectStore(draft)) {
    out.copies.push({
      step: "draft-download",
      from: draft,
      to: serve.speculative!.draftPath!,
      flags: [...DOWNLOAD_FILTER, "--transfers=16"],
      served: false,
    });
  }
  for (const a of serve.lora?.adapters ?? []) {
    if (a.source.kind === "pvc")
      out.mounts.push({
        volume: dnsLabel(`lora-${a.name}`),
        claim: a.source.claim,
        mountPath: `${ADAPTER_MOUNT}/${a.name}`,
      });
    else if (isObjectStore(a.source))
      out.copies.push({
        step: `adapter-${a.name}`,
        from: a.source,
        to: a.path,
        flags: ["--transfers=8"],
        served: false,
      });
  }
  return out;
}

/** The claims, as volumes of the pod and read-only mounts of the server. */
export function mountArtifacts(pod: PodBuilder, artifacts: Artifacts): void {
  for (const m of artifacts.mounts) {
    pod.addVolume({ name: m.volume, persistentVolumeClaim: { claimName: m.claim, readOnly: true } });
    pod.addMount({ name: m.volume, mountPath: m.mountPath, readOnly: true });
  }
}

/**
 * What an rclone copy step reads of the server's environment: object-store credentials and endpoints
 * (rclone's env auth: AWS_*, GOOGLE_*, AZURE_*), its own RCLONE_* settings, proxies and CA bundles.
 * Nothing else (HF_TOKEN, the API key, an app's own secrets) reaches it.
 */
const COPY_ENV =
  /^(AWS_|GOOGLE_|GCS_|CLOUDSDK_|AZURE_|RCLONE_|SSL_CERT_|REQUESTS_CA_BUNDLE$|CURL_CA_BUNDLE$|(HTTPS?|NO)_PROXY$|(https?|no)_proxy$)/;

/**
 * The copies, as init steps: the model-download template (a container spec) with rclone's arguments,
 * what rclone reads of the server's environment (COPY_ENV; AWS_ENDPOINT_URL as rclone's endpoint), and
 * the cache volume.
 */
export function copySteps(
  app: AppConfig,
  template: Record<string, unknown>,
  env: readonly V1EnvVar[],
  artifacts: Artifacts,
): V1Container[] {
  return artifacts.copies.map((copy) => {
    const dl = clone(template) as Partial<V1Container>;
    if (copy.served) dl.name ??= copy.step;
    dl.args = ["copy", ...rcloneSource(copy.from), copy.to, ...copy.flags, "--stats=30s", "--stats-one-line", "-v"];
    const dlEnv: V1EnvVar[] = env.filter((e) => COPY_ENV.test(e.name));
    if (copy.from.kind === "s3" && app.env_vars?.AWS_ENDPOINT_URL !== undefined)
      dlEnv.push({ name: "RCLONE_S3_ENDPOINT", value: String(app.env_vars.AWS_ENDPOINT_URL) });
    if (dlEnv.length) dl.env = dlEnv;
    dl.volumeMounts = [{ name: "cache", mountPath: CACHE_MOUNT }];
    dl.resources ??= { ...INIT_RESOURCES };
    return { ...dl, name: copy.served ? dl.name! : dnsLabel(copy.step) };
  });
}
