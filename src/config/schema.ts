/**
 * vllm-app.yaml as one zod schema (SPEC §2). Field names follow Flyte 2's VLLMAppEnvironment.
 * Pure: no IO. Cross-field rules live in `superRefine` so every problem is reported at once.
 */
import { z } from "zod";
import { GPU_TYPE_NAMES, MIG_PROFILE_RE, findGpuType, suggestGpuType } from "./gpus.js";
import { isQuantity, parseDuration } from "./units.js";

export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const HF_REPO = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*(@[A-Za-z0-9._\/-]+)?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const duration = z
  .union([z.number(), z.string()])
  .refine((v) => parseDuration(v) !== undefined, {
    message: 'not a duration; write seconds (300) or a string like "90s", "5m", "1h30m"',
  })
  .describe('seconds (300) or a duration string ("5m", "1h30m")');

const quantity = z
  .union([z.number(), z.string()])
  .refine(isQuantity, { message: 'not a Kubernetes quantity; write e.g. "16Gi", "500Mi", "4" or "500m"' });

const gpuObject = z.strictObject({
  type: z.string().optional().describe("GPU type, e.g. L4, A100 80G, H100"),
  count: z.number().int().min(0).default(1).describe("number of GPUs (or MIG slices) per replica"),
  partition: z.string().optional().describe('MIG profile, e.g. "1g.10gb"'),
});

const gpu = z
  .union([
    z.number().int().min(0),
    z.string().describe('"TYPE:N", e.g. "L4:1", "H100:8"'),
    gpuObject,
  ])
  .describe('GPU count (int), "TYPE:N" (e.g. "L4:1", "A100 80G:8") or {type, count, partition}');

export const resourcesSchema = z.strictObject({
  cpu: z.union([quantity, z.tuple([quantity, quantity])]).optional().describe("CPU: value, or [request, limit]"),
  memory: z.union([quantity, z.tuple([quantity, quantity])]).optional().describe("memory: value, or [request, limit]"),
  gpu: gpu.optional(),
  disk: quantity.optional().describe("ephemeral storage"),
  shm: z.union([z.literal("auto"), quantity]).default("auto").describe('/dev/shm size, or "auto" (from the GPU count)'),
});

const replicas = z.union([
  z.number().int().min(0),
  z.tuple([z.number().int().min(0), z.number().int().min(1)]),
]);

export const scalingSchema = z.strictObject({
  replicas: replicas.default(1).describe("a fixed count, or [min, max] for autoscaling"),
  metric: z
    .union([
      z.strictObject({ concurrency: z.number().positive().describe("target in-flight requests per replica") }),
      z.strictObject({ request_rate: z.number().positive().describe("target requests per second per replica") }),
    ])
    .optional(),
  scaledown_after: duration.optional().describe("idle time before scaling down"),
  prometheus_url: z
    .string()
    .url()
    .optional()
    .describe("Prometheus that scrapes vLLM's metrics (for the KEDA autoscaler)"),
});

const secretShort = z.string().regex(ENV_NAME, "a secret's short form is an environment variable name, e.g. HF_TOKEN");
const secretLong = z.strictObject({
  env_var: z.string().regex(ENV_NAME, "not an environment variable name").optional(),
  secret: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "not a Kubernetes Secret name").optional(),
  key: z.string().optional(),
  mount: z.string().startsWith("/", "mount must be an absolute path").optional(),
});
export const secretSchema = z.union([secretShort, secretLong]);

export const runOutputSchema = z.strictObject({
  run_name: z.string().min(1).optional().describe("the run (a Job name, or an MLflow run id / name)"),
  task_name: z.string().min(1).optional().describe("the newest succeeded run of this task / experiment"),
  output: z.string().min(1).default("model").describe("which output of the run"),
  type: z.enum(["file", "directory", "string"]).default("directory"),
});

const modelPath = z.union([
  z.string().min(1),
  z.strictObject({ run_output: runOutputSchema }),
]);

const runsSchema = z.union([
  z.strictObject({ backend: z.literal("kubernetes"), namespace: z.string().optional() }),
  z.strictObject({ backend: z.literal("mlflow"), tracking_uri: z.string().url() }),
]);

const argvList = z.array(z.string());

export const appConfigSchema = z
  .strictObject({
    name: z.string().max(63, "at most 63 characters").regex(DNS1123_LABEL, "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit"),
    description: z.string().max(255).optional(),
    type: z.literal("vLLM").default("vLLM"),
    model_hf_path: z.string().optional().describe("Hugging Face repo org/name, optional @revision"),
    model_path: modelPath.optional().describe("s3://, gs://, az:// URI, pvc://CLAIM/path, an absolute path, models:/NAME/VERSION, or {run_output: …}"),
    model_id: z.string().min(1).optional().describe("the model name clients send (--served-model-name)"),
    stream_model: z.boolean().default(true),
    image: z.string().min(1).default("auto"),
    port: z.number().int().min(1, "port must be 1–65535").max(65535, "port must be 1–65535").default(8000),
    extra_args: z.union([z.string(), argvList]).optional().describe("extra `vllm serve` flags"),
    command: z.union([z.string(), argvList]).optional().describe("full override of the container command"),
    args: z.unknown().optional(),
    env_vars: z.record(z.string().regex(ENV_NAME, "not an environment variable name"), z.union([z.string(), z.number(), z.boolean()])).optional(),
    secrets: z.array(secretSchema).optional(),
    resources: resourcesSchema.optional(),
    scaling: scalingSchema.optional(),
    requires_auth: z.boolean().default(true),
    domain: z
      .strictObject({
        subdomain: z.string().regex(DNS1123_LABEL, "must be a DNS-1123 label").optional(),
        custom_domain: z.string().optional(),
        base_domain: z.string().optional().describe("the domain a subdomain is taken under"),
        ingress_class: z.string().optional(),
        tls_secret: z.string().optional(),
      })
      .optional(),
    links: z.array(z.strictObject({ path: z.string(), title: z.string(), is_relative: z.boolean().default(true) })).optional(),
    include: z.array(z.string().min(1)).optional(),
    parameters: z
      .array(
        z.strictObject({
          name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, "a parameter name is letters, digits, '_' and '-'"),
          value: z.union([z.string(), z.number(), z.boolean()]),
          env_var: z.string().regex(ENV_NAME, "not an environment variable name").optional(),
        }),
      )
      .optional(),
    cluster_pool: z.string().default("default"),
    interruptible: z.boolean().default(false),
    pod_template: z.union([z.string().min(1), z.strictObject({ metadata: z.record(z.string(), z.unknown()).optional(), spec: z.record(z.string(), z.unknown()).optional() })]).optional(),
    depends_on: z.array(z.string().min(1)).optional(),
    on_startup: argvList.min(1).optional(),
    on_shutdown: argvList.min(1).optional(),
    namespace: z.string().regex(DNS1123_LABEL, "must be a DNS-1123 label").optional(),
    startup_timeout: duration.default("30m"),
    cache: z
      .strictObject({
        size: quantity.default("100Gi"),
        storage_class: z.string().optional(),
        access_mode: z.enum(["ReadWriteOnce", "ReadWriteMany", "ReadWriteOncePod"]).default("ReadWriteOnce"),
      })
      .optional(),
    runs: runsSchema.optional().describe("where run outputs are looked up"),
    node_labels: z
      .strictObject({
        gpu_product: z.string().default("nvidia.com/gpu.product"),
        pool: z.string().default("vllmapp.dev/pool"),
      })
      .optional(),
  })
  .superRefine((app, ctx) => {
    if (app.args !== undefined) {
      ctx.addIssue({ code: "custom", path: ["args"], message: '"args" is not a field; use extra_args for extra `vllm serve` flags' });
    }
    const sources = [app.model_hf_path, app.model_path].filter((s) => s !== undefined).length;
    if (sources === 0) {
      ctx.addIssue({ code: "custom", path: [], message: "no model source; set exactly one of model_hf_path or model_path" });
    } else if (sources === 2) {
      ctx.addIssue({ code: "custom", path: ["model_path"], message: "both model_hf_path and model_path are set; keep exactly one" });
    }
    if (app.model_hf_path !== undefined && !HF_REPO.test(app.model_hf_path)) {
      ctx.addIssue({ code: "custom", path: ["model_hf_path"], message: `"${app.model_hf_path}" is not a Hugging Face repo id; write org/name, optionally @revision (e.g. Qwen/Qwen3-0.6B)` });
    }
    if (typeof app.model_path === "object" && app.model_path.run_output) {
      const ro = app.model_path.run_output;
      if ((ro.run_name === undefined) === (ro.task_name === undefined)) {
        ctx.addIssue({ code: "custom", path: ["model_path", "run_output"], message: "set exactly one of run_name or task_name" });
      }
    }
    const gpu = app.resources?.gpu;
    if (typeof gpu === "string") {
      const m = /^(.+?)(?::(\d+))?$/.exec(gpu.trim());
      if (!m || !findGpuType(m[1]!)) {
        const guess = suggestGpuType(m?.[1] ?? gpu);
        ctx.addIssue({ code: "custom", path: ["resources", "gpu"], message: `unknown GPU type "${m?.[1] ?? gpu}"${guess ? `; did you mean "${guess}"?` : ""} Known: ${GPU_TYPE_NAMES.join(", ")}`, params: { hint: `write "TYPE:COUNT", e.g. "${guess ?? "L4"}:1"` } });
      }
    } else if (typeof gpu === "object") {
      const t = gpu.type === undefined ? undefined : findGpuType(gpu.type);
      if (gpu.type !== undefined && !t) {
        const guess = suggestGpuType(gpu.type);
        ctx.addIssue({ code: "custom", path: ["resources", "gpu", "type"], message: `unknown GPU type "${gpu.type}"${guess ? `; did you mean "${guess}"?` : ""} Known: ${GPU_TYPE_NAMES.join(", ")}` });
      }
      if (gpu.partition !== undefined) {
        if (!MIG_PROFILE_RE.test(gpu.partition)) {
          ctx.addIssue({ code: "custom", path: ["resources", "gpu", "partition"], message: `"${gpu.partition}" is not a MIG profile; write e.g. "1g.10gb"` });
        } else if (t?.mig && !t.mig.includes(gpu.partition)) {
          ctx.addIssue({ code: "custom", path: ["resources", "gpu", "partition"], message: `${t.name} has no MIG profile "${gpu.partition}"; it has ${t.mig.join(", ")}` });
        } else if (t && !t.mig) {
          ctx.addIssue({ code: "custom", path: ["resources", "gpu", "partition"], message: `${t.name} does not support MIG` });
        }
      }
    }
    const reps = app.scaling?.replicas;
    if (Array.isArray(reps) && reps[0] > reps[1]) {
      ctx.addIssue({ code: "custom", path: ["scaling", "replicas"], message: `min ${reps[0]} is greater than max ${reps[1]}; write [min, max] with min ≤ max` });
    }
    if (app.domain && app.domain.subdomain === undefined && app.domain.custom_domain === undefined) {
      ctx.addIssue({ code: "custom", path: ["domain"], message: "set subdomain and/or custom_domain" });
    }
    if (app.domain?.subdomain !== undefined && app.domain.custom_domain === undefined && app.domain.base_domain === undefined) {
      ctx.addIssue({ code: "custom", path: ["domain", "base_domain"], message: "a subdomain needs base_domain (the domain it is taken under), or set custom_domain" });
    }
    const seenParams = new Set<string>();
    app.parameters?.forEach((p, i) => {
      if (seenParams.has(p.name)) ctx.addIssue({ code: "custom", path: ["parameters", i, "name"], message: `parameter "${p.name}" is defined twice` });
      seenParams.add(p.name);
    });
    app.secrets?.forEach((s, i) => {
      if (typeof s === "object" && s.env_var === undefined && s.mount === undefined) {
        ctx.addIssue({ code: "custom", path: ["secrets", i], message: "a secret needs env_var (to set an environment variable) or mount (to mount it as a file)" });
      }
      if (typeof s === "object" && s.mount !== undefined && s.key === undefined && s.env_var === undefined) {
        ctx.addIssue({ code: "custom", path: ["secrets", i, "key"], message: "a mounted secret needs key (the file name in the Secret)" });
      }
    });
    if (app.command !== undefined && app.extra_args !== undefined) {
      ctx.addIssue({ code: "custom", path: ["extra_args"], message: "command replaces the whole container command, so extra_args would be ignored; put the flags in command or drop command" });
    }
  });

export type AppConfigInput = z.input<typeof appConfigSchema>;
export type AppConfig = z.output<typeof appConfigSchema>;
export type RunOutputRef = z.output<typeof runOutputSchema>;
export type SecretRef = z.output<typeof secretSchema>;

/** The field names, for "did you mean" on misspelt keys. */
export const APP_FIELDS = Object.keys(appConfigSchema.shape ?? {});
