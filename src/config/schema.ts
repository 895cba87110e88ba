/**
 * vllm-app.yaml as one zod schema (README "vllm-app.yaml"). Field names follow Flyte 2's VLLMAppEnvironment.
 * Pure: no IO. The cross-field rules are named functions (FIELD_RULES), run by one `superRefine` so every
 * problem is reported at once.
 * zod/mini (not classic zod): a tenth of the size, which is most of `render`'s start-up.
 */
import * as z from "zod/mini";
import { describeValue, issueMessage } from "./messages.js";

// zod/mini loads no messages by default; ours say what was expected and what was found (messages.ts).
z.config({ localeError: (iss) => issueMessage(iss) });
import {
  DEFAULT_POOL_LABEL,
  GPU_TYPE_NAMES,
  LABEL_SCHEMES,
  MIG_PROFILE_RE,
  findGpuType,
  parseGpuString,
  suggestGpuType,
  type GpuSpec,
} from "./gpus.js";
import { isQuantity, parseDuration, quantityFix, quantityValue } from "./units.js";
import { LABEL_KEY, LABEL_KEY_MSG, LABEL_VALUE, LABEL_VALUE_MSG } from "./labels.js";
import { monitoringSchema } from "./monitoring.js";
import { routeSchema } from "./route.js";

export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const HF_REPO = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*(@[A-Za-z0-9._/-]+)?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const duration = z.union([z.number(), z.string()]).check(
  z.refine((v) => parseDuration(v) !== undefined, {
    message: 'not a duration; write seconds (300) or a string like "90s", "5m", "1h30m"',
  }),
  z.describe('seconds (300) or a duration string ("5m", "1h30m")'),
);

export const quantity = z.union([z.number(), z.string()]).check(
  z.superRefine((v, ctx) => {
    if (isQuantity(v)) return;
    const fix = quantityFix(v);
    ctx.addIssue({
      code: "custom",
      input: v,
      message: `${JSON.stringify(v)} is not a Kubernetes quantity${fix ? `; did you mean "${fix}"?` : ""}`,
      params: {
        hint: fix
          ? `write "${fix}" (Kubernetes units: Ki, Mi, Gi, Ti for bytes; m for milli-CPUs)`
          : 'write e.g. "16Gi", "500Mi", "4" or "500m"',
      },
    });
  }),
);

/** Helpers that read like classic zod, for zod/mini. */
/** Pod Security Standards levels (render/security.ts renders each). */
export const SECURITY_PROFILES = ["restricted", "baseline", "privileged"] as const;

const opt = z.optional;
const def = z._default;
const doc = <T extends z.ZodMiniType>(schema: T, description: string): T => schema.check(z.describe(description)) as T;
const int = (min: number, message?: string) => z.int().check(z.minimum(min, message));
const str = (...checks: Parameters<ReturnType<typeof z.string>["check"]>) => z.string().check(...checks);
const nonEmpty = () => str(z.minLength(1));
/** A node label's key or (non-empty) value, as the API server checks it in a nodeSelector. */
const labelKey = () => str(z.regex(LABEL_KEY, LABEL_KEY_MSG));
const labelValue = () => str(z.minLength(1), z.regex(LABEL_VALUE, LABEL_VALUE_MSG));
/** An argv element: a YAML number or boolean in the list (`[--max-model-len, 8192]`) is the string it spells. */
const argvItem = z.pipe(
  z.union([z.string(), z.number(), z.boolean()]),
  z.transform((v) => String(v)),
);
const argvList = z.array(argvItem);
/** on_startup / on_shutdown: an argv list, or one string run by `sh -c`. */
const hook = z.union([
  nonEmpty(),
  argvList.check(z.minLength(1, 'give the command and its arguments, e.g. [sh, -c, "echo hi"]')),
]);

/**
 * What is wrong with a `"TYPE:COUNT"` GPU string, in the words of both the file's check and `init --gpu`:
 * an unknown type (with a did-you-mean, and the way to use a GPU vllmapp does not list), or a zero count.
 */
export function gpuStringProblem(gpu: string): { message: string; hint: string } | undefined {
  const m = parseGpuString(gpu);
  if (!m || !findGpuType(m.type)) {
    const typed = m?.type ?? gpu;
    const count = /^(\d+)\s*[x×*]\s*(.+)$/i.exec(typed.trim());
    const guess = suggestGpuType(count ? count[2]! : typed);
    const n = count?.[1] ?? String(m?.count ?? 1);
    return {
      message: `unknown GPU type "${typed}"${guess ? `; did you mean "${guess}"?` : ""} (known: ${GPU_TYPE_NAMES.join(", ")})`,
      hint: guess
        ? `write "${guess}:${n}" (TYPE:COUNT)`
        : `write "TYPE:COUNT", e.g. "L4:1"; a GPU not in this list: write gpu: ${n} and select its nodes with pod_template (nodeSelector on the GPU's product label), as vllmapp init writes for "other"`,
    };
  }
  if (m.count === 0) {
    const name = findGpuType(m.type)!.name;
    return {
      message: `"${gpu}" asks for zero ${name} GPUs`,
      hint: `write "${name}:1" (or more), or leave resources.gpu out to run without a GPU`,
    };
  }
  return undefined;
}

/** GPUs of one pod: they sit on one node, and the biggest nodes carry 16 */
export const MAX_GPUS_PER_REPLICA = 64;

const gpuObject = z.strictObject({
  type: opt(doc(z.string(), "GPU type, e.g. L4, A100 80G, H100")),
  count: def(doc(int(0), "number of GPUs (or MIG slices) per replica"), 1),
  partition: opt(doc(z.string(), 'MIG profile, e.g. "1g.10gb"')),
});

const gpu = doc(
  z.union([int(0), doc(z.string(), '"TYPE:N", e.g. "L4:1", "H100:8"'), gpuObject]),
  'GPU count (int), "TYPE:N" (e.g. "L4:1", "A100 80G:8") or {type, count, partition}',
);

const requestLimit = z.union([quantity, z.tuple([quantity, quantity])]);

export const resourcesSchema = z.strictObject({
  cpu: opt(doc(requestLimit, "CPU: value, or [request, limit]")),
  memory: opt(doc(requestLimit, "memory: value, or [request, limit]")),
  gpu: opt(gpu),
  disk: opt(doc(quantity, "ephemeral storage")),
  shm: def(doc(z.union([z.literal("auto"), quantity]), '/dev/shm size, or "auto" (from the GPU count)'), "auto"),
});

const replicas = z.union([int(0), z.tuple([int(0), int(1)])]);

export const scalingSchema = z.strictObject({
  replicas: def(doc(replicas, "a fixed count, or [min, max] for autoscaling"), 1),
  metric: opt(
    z.union([
      z.strictObject({ concurrency: doc(z.number().check(z.positive()), "target in-flight requests per replica") }),
      z.strictObject({ request_rate: doc(z.number().check(z.positive()), "target requests per second per replica") }),
    ]),
  ),
  scaledown_after: opt(doc(duration, "idle time before scaling down")),
  prometheus_url: opt(doc(z.url(), "Prometheus that scrapes vLLM's metrics (for the KEDA autoscaler)")),
  wake: opt(
    doc(
      z.enum(["http-add-on"]),
      "what wakes an app scaled to zero: http-add-on = KEDA's HTTP add-on, whose interceptor sees requests while no pod runs",
    ),
  ),
  keda_namespace: def(
    doc(str(z.regex(DNS1123_LABEL, "must be a DNS-1123 label")), "the namespace KEDA's HTTP add-on is installed in"),
    "keda",
  ),
});

const ENV_NAME_MSG = "not an environment variable name";
/** A key of a Secret's data, as the API server checks it in a secretKeyRef. */
const secretKey = () =>
  str(z.regex(/^[-._a-zA-Z0-9]+$/, "not a Secret key: letters, digits, '-', '_' and '.' (e.g. HF_TOKEN, secret-key)"));
const secretShort = str(z.regex(ENV_NAME, "a secret's short form is an environment variable name, e.g. HF_TOKEN"));
const secretLong = z.strictObject({
  env_var: opt(str(z.regex(ENV_NAME, ENV_NAME_MSG))),
  secret: opt(str(z.regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "not a Kubernetes Secret name"))),
  key: opt(secretKey()),
  mount: opt(str(z.startsWith("/", "mount must be an absolute path"))),
});
export const secretSchema = z.union([secretShort, secretLong]);

export const runOutputSchema = z.strictObject({
  run_name: opt(doc(nonEmpty(), "the run (a Job name, or an MLflow run id / name)")),
  task_name: opt(doc(nonEmpty(), "the newest succeeded run of this task / experiment")),
  output: def(doc(nonEmpty(), "which output of the run"), "model"),
  type: def(z.enum(["file", "directory", "string"]), "directory"),
});

const modelPath = z.union([nonEmpty(), z.strictObject({ run_output: runOutputSchema })]);

const runsSchema = z.union([
  z.strictObject({ backend: z.literal("kubernetes"), namespace: opt(z.string()) }),
  z.strictObject({ backend: z.literal("mlflow"), tracking_uri: z.url() }),
]);

const DNS_MSG = "must be a DNS-1123 label";

export const loraSchema = z.strictObject({
  adapters: def(
    z.array(
      z.strictObject({
        name: doc(
          str(
            z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "an adapter name is letters, digits, '.', '_' and '-'"),
            z.maxLength(63),
          ),
          "the model name clients send to use this adapter",
        ),
        source: doc(
          nonEmpty(),
          "org/name (Hugging Face), s3://, gs://, az:// URI, pvc://CLAIM/path, or an absolute path",
        ),
      }),
    ),
    [],
  ),
  max_rank: opt(
    doc(
      z.union(
        [1, 8, 16, 32, 64, 128, 256, 320, 512].map((r) => z.literal(r)) as unknown as [
          z.ZodMiniLiteral<number>,
          z.ZodMiniLiteral<number>,
        ],
      ),
      "--max-lora-rank (default: the adapters' largest rank)",
    ),
  ),
  max_loras: opt(doc(int(1), "adapters in one batch (--max-loras; default: the adapter count, at most 4)")),
  max_cpu_loras: opt(doc(int(1), "adapters kept in CPU memory (--max-cpu-loras)")),
  dynamic: def(doc(z.boolean(), "also allow loading adapters at run time (VLLM_ALLOW_RUNTIME_LORA_UPDATING)"), false),
});

export const parallelismSchema = z.strictObject({
  tensor: opt(doc(int(1), "tensor-parallel size (default: GPUs per pod × nodes ÷ (pipeline × data))")),
  pipeline: opt(doc(int(1), "pipeline-parallel size (default 1)")),
  data: opt(doc(int(1), "data-parallel ranks in all (default 1)")),
  data_local: opt(doc(int(1), "data-parallel ranks per pod (default data ÷ nodes)")),
  expert: opt(doc(z.boolean(), "expert parallelism for MoE models (--enable-expert-parallel)")),
  nodes: opt(
    doc(
      z.union([int(1), z.literal("auto")]),
      "pods per group, one node each; > 1 runs on a LeaderWorkerSet (default: tensor × pipeline × data ÷ GPUs per pod)",
    ),
  ),
  backend: opt(
    doc(z.enum(["mp", "ray"]), "vLLM's distributed executor backend; multi-node is mp (vLLM's native mode)"),
  ),
});
const scalar = z.union([z.string(), z.number(), z.boolean()]);

/** The fields of vllm-app.yaml as written, with every check; `appConfigSchema` hands them out converted. */
const appFieldsSchema = z
  .strictObject({
    name: str(
      z.maxLength(63, "at most 63 characters"),
      z.regex(
        DNS1123_LABEL,
        "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit",
      ),
    ),
    description: opt(str(z.maxLength(255))),
    type: def(z.literal("vLLM"), "vLLM"),
    model_hf_path: opt(doc(z.string(), "Hugging Face repo org/name, optional @revision")),
    model_path: opt(
      doc(
        modelPath,
        "s3://, gs://, az:// URI, pvc://CLAIM/path, an absolute path, models:/NAME/VERSION, or {run_output: …}",
      ),
    ),
    model_id: opt(doc(nonEmpty(), "the model name clients send (--served-model-name)")),
    draft_model_hf_path: opt(
      doc(z.string(), "speculative decoding: a draft model from Hugging Face, org/name optionally @revision"),
    ),
    draft_model_path: opt(
      doc(
        modelPath,
        "speculative decoding: a draft model from s3://, gs://, az://, pvc://, an absolute path or {run_output: …}",
      ),
    ),
    speculative_config: opt(
      doc(
        z.record(z.string(), z.unknown()),
        "keys of vLLM's --speculative-config (num_speculative_tokens, method, …); model comes from the draft",
      ),
    ),
    stream_model: def(z.boolean(), true),
    image: def(nonEmpty(), "auto"),
    vllm_version: opt(
      doc(
        str(z.regex(/^\d+\.\d+\.\d+$/, 'must be a vLLM release like "0.33.0"')),
        "the vLLM release a custom image runs, for checking extra_args (official vllm/vllm-openai:vX.Y.Z tags imply it)",
      ),
    ),
    port: def(z.int().check(z.minimum(1, "port must be 1–65535"), z.maximum(65535, "port must be 1–65535")), 8000),
    extra_args: opt(doc(z.union([z.string(), argvList]), "extra `vllm serve` flags")),
    command: opt(doc(z.union([z.string(), argvList]), "full override of the container command")),
    args: opt(z.unknown()),
    env_vars: opt(z.record(str(z.regex(ENV_NAME, ENV_NAME_MSG)), scalar)),
    secrets: opt(z.array(secretSchema)),
    resources: opt(resourcesSchema),
    scaling: opt(scalingSchema),
    requires_auth: def(
      doc(
        z.union([
          z.boolean(),
          z.strictObject({
            secret: str(z.regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "not a Kubernetes Secret name")),
            key: def(secretKey(), "VLLM_API_KEY"),
          }),
        ]),
        "true: vllmapp generates an API key into Secret <app>-api-key; {secret, key}: a Secret you manage holds it; false: no key",
      ),
      true,
    ),
    domain: opt(
      z.strictObject({
        subdomain: opt(str(z.regex(DNS1123_LABEL, DNS_MSG))),
        custom_domain: opt(z.string()),
        base_domain: opt(doc(z.string(), "the domain a subdomain is taken under")),
        ingress_class: opt(z.string()),
        tls_secret: opt(z.string()),
      }),
    ),
    links: opt(
      z.array(
        z.strictObject({
          path: z.string(),
          title: z.string(),
          is_relative: def(doc(z.boolean(), "path is relative to the app's endpoint (Flyte's default: false)"), false),
        }),
      ),
    ),
    include: opt(z.array(nonEmpty())),
    parameters: opt(
      z.array(
        z.strictObject({
          name: str(z.regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, "a parameter name is letters, digits, '_' and '-'")),
          value: scalar,
          env_var: opt(str(z.regex(ENV_NAME, ENV_NAME_MSG))),
        }),
      ),
    ),
    cluster_pool: def(str(z.regex(LABEL_VALUE, LABEL_VALUE_MSG)), "default"),
    interruptible: def(z.boolean(), false),
    pod_template: opt(
      z.union([
        nonEmpty(),
        z.strictObject({
          metadata: opt(z.record(z.string(), z.unknown())),
          spec: opt(z.record(z.string(), z.unknown())),
        }),
      ]),
    ),
    depends_on: opt(z.array(nonEmpty())),
    on_startup: opt(doc(hook, "argv list, or one string run by sh -c")),
    on_shutdown: opt(doc(hook, "argv list, or one string run by sh -c")),
    namespace: opt(str(z.regex(DNS1123_LABEL, DNS_MSG))),
    lora: opt(doc(loraSchema, "LoRA adapters served next to the base model")),
    parallelism: opt(
      doc(parallelismSchema, "tensor × pipeline × data parallel sizes and nodes; checked against resources.gpu"),
    ),
    security: opt(
      doc(
        z.strictObject({
          profile: def(
            doc(
              z.enum(SECURITY_PROFILES),
              "restricted (default): non-root UID 10001, no capabilities, read-only root; baseline: the image's user (root); privileged: also seccomp Unconfined, IPC_LOCK and SYS_PTRACE (RDMA, ROCm)",
            ),
            "restricted",
          ),
        }),
        "the Pod Security level the pods are rendered for",
      ),
    ),
    network_policy: def(
      doc(
        z.boolean(),
        "a NetworkPolicy that admits the pod's ports from anywhere and, multi-node, every port between the group's pods only (false: none, e.g. for a mesh's sidecar ports)",
      ),
      true,
    ),
    service_account: opt(
      doc(
        str(z.maxLength(253), z.regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "not a Kubernetes ServiceAccount name")),
        "the pod's service account (workload identity: IRSA, GKE, Azure), so object-store access needs no static keys",
      ),
    ),
    startup_timeout: def(duration, "30m"),
    cache: opt(
      z.strictObject({
        size: def(
          quantity.check(
            z.refine((v) => !isQuantity(v) || quantityValue(v) > 0, {
              message: "a cache volume needs a size above zero, e.g. 100Gi",
            }),
          ),
          "100Gi",
        ),
        storage_class: opt(z.string()),
        access_mode: def(z.enum(["ReadWriteOnce", "ReadWriteMany", "ReadWriteOncePod"]), "ReadWriteOnce"),
      }),
    ),
    runs: opt(doc(runsSchema, "where run outputs are looked up")),
    node_labels: opt(
      z.strictObject({
        scheme: def(
          doc(
            z.union([
              z.enum(LABEL_SCHEMES),
              z.strictObject({
                key: labelKey(),
                values: z.record(z.string(), z.union([labelValue(), z.array(labelValue()).check(z.minLength(1))])),
              }),
            ]),
            "how GPU nodes are labelled: gfd (NVIDIA GPU feature discovery, default), gke, karpenter, aks (Azure VM sizes), or {key, values: {TYPE: value}}",
          ),
          "gfd",
        ),
        gpu_product: opt(doc(labelKey(), "the GPU label key, replacing the scheme's")),
        pool: def(labelKey(), DEFAULT_POOL_LABEL),
      }),
    ),
    route: opt(
      doc(
        routeSchema,
        "a Gateway API HTTPRoute to the app's Service on a named Gateway (and an InferencePool when asked)",
      ),
    ),
    monitoring: opt(doc(monitoringSchema, "PodMonitor, Grafana dashboard and alert rules for prometheus-operator")),
  })
  .check(
    z.superRefine((app, ctx) => {
      for (const rule of FIELD_RULES) for (const issue of rule(app)) ctx.addIssue(issue);
    }),
  );

type AppFields = z.output<typeof appFieldsSchema>;
type Resources = NonNullable<AppFields["resources"]>;
type CustomIssue = { code: "custom"; path: (string | number)[]; message: string; params?: { hint: string } };

/**
 * The cross-field rules of one app, in the order they report: each a named function from the fields as
 * written to the custom issues it finds (at a field path, with a hint where one helps).
 */
const FIELD_RULES: readonly ((app: AppFields) => CustomIssue[])[] = [
  argsIssues,
  modelSourceIssues,
  (app) => gpuIssues(app.resources?.gpu),
  podTemplateIssues,
  replicasIssues,
  domainIssues,
  parameterIssues,
  secretIssues,
  hookIssues,
  nodeLabelIssues,
  routeIssues,
  commandIssues,
];

/** `args` is not a field (the schema has it only to say so): extra flags go in extra_args. */
function argsIssues(app: AppFields): CustomIssue[] {
  if (app.args === undefined) return [];
  return [
    {
      code: "custom",
      path: ["args"],
      message: '"args" is not a field; use extra_args for extra `vllm serve` flags',
    },
  ];
}

/** Exactly one model source; a Hugging Face one is a repo id; a run output names a run or a task, not both. */
function modelSourceIssues(app: AppFields): CustomIssue[] {
  const out: CustomIssue[] = [];
  const sources = [app.model_hf_path, app.model_path].filter((s) => s !== undefined).length;
  if (sources === 0) {
    out.push({
      code: "custom",
      path: [],
      message: "no model source; set exactly one of model_hf_path or model_path",
    });
  } else if (sources === 2) {
    out.push({
      code: "custom",
      path: ["model_path"],
      message: "both model_hf_path and model_path are set; keep exactly one",
    });
  }
  if (app.model_hf_path !== undefined && !HF_REPO.test(app.model_hf_path)) {
    out.push({
      code: "custom",
      path: ["model_hf_path"],
      message: `"${app.model_hf_path}" is not a Hugging Face repo id; write org/name, optionally @revision (e.g. Qwen/Qwen3-0.6B)`,
    });
  }
  if (typeof app.model_path === "object" && app.model_path.run_output) {
    const ro = app.model_path.run_output;
    if ((ro.run_name === undefined) === (ro.task_name === undefined)) {
      out.push({
        code: "custom",
        path: ["model_path", "run_output"],
        message: "set exactly one of run_name or task_name",
      });
    }
  }
  return out;
}

/** The pod spec's lists that are merged by name (the server container is found among them): lists of mappings. */
function podTemplateIssues(app: AppFields): CustomIssue[] {
  if (typeof app.pod_template !== "object" || !app.pod_template.spec) return [];
  const out: CustomIssue[] = [];
  for (const key of [
    "containers",
    "initContainers",
    "ephemeralContainers",
    "volumes",
    "tolerations",
    "imagePullSecrets",
  ]) {
    const v = app.pod_template.spec[key];
    if (
      v !== undefined &&
      (!Array.isArray(v) || v.some((x) => x === null || typeof x !== "object" || Array.isArray(x)))
    ) {
      out.push({
        code: "custom",
        path: ["pod_template", "spec", key],
        message: `pod_template.spec.${key} must be a list of mappings`,
        params: {
          hint:
            key === "containers"
              ? 'write e.g. containers: [{name: vllm, env: [{name: X, value: "1"}]}]'
              : `write ${key}: [{…}, …]`,
        },
      });
    } else if (Array.isArray(v) && key.endsWith("ontainers")) out.push(...containerNameIssues(key, v));
  }
  return out;
}

/** A pod_template container is merged into the pod by its name, which the API server requires as a DNS-1123 label. */
function containerNameIssues(key: string, containers: readonly Record<string, unknown>[]): CustomIssue[] {
  return containers.flatMap((c, i) =>
    typeof c.name === "string" && c.name.length <= 63 && DNS1123_LABEL.test(c.name)
      ? []
      : [
          {
            code: "custom" as const,
            path: ["pod_template", "spec", key, i, "name"],
            message: `not a container name (a DNS-1123 label): ${describeValue(c.name)}`,
            params: {
              hint: "name the container the entry changes (vllm for the server) or adds, e.g. {name: vllm, env: […]}",
            },
          },
        ],
  );
}

/** Autoscaling bounds: [min, max] with min ≤ max. */
function replicasIssues(app: AppFields): CustomIssue[] {
  const reps = app.scaling?.replicas;
  if (!Array.isArray(reps) || reps[0] <= reps[1]) return [];
  return [
    {
      code: "custom",
      path: ["scaling", "replicas"],
      message: `min ${reps[0]} is greater than max ${reps[1]}; write [min, max] with min ≤ max`,
    },
  ];
}

/** A domain names a host: a subdomain (of base_domain) and/or a custom domain. */
function domainIssues(app: AppFields): CustomIssue[] {
  const out: CustomIssue[] = [];
  if (app.domain && app.domain.subdomain === undefined && app.domain.custom_domain === undefined) {
    out.push({ code: "custom", path: ["domain"], message: "set subdomain and/or custom_domain" });
  }
  if (
    app.domain?.subdomain !== undefined &&
    app.domain.custom_domain === undefined &&
    app.domain.base_domain === undefined
  ) {
    out.push({
      code: "custom",
      path: ["domain", "base_domain"],
      message: "a subdomain needs base_domain (the domain it is taken under), or set custom_domain",
    });
  }
  return out;
}

/** Each parameter name once (a second definition is reported where it is). */
function parameterIssues(app: AppFields): CustomIssue[] {
  const out: CustomIssue[] = [];
  const seenParams = new Set<string>();
  app.parameters?.forEach((p, i) => {
    if (seenParams.has(p.name))
      out.push({
        code: "custom",
        path: ["parameters", i, "name"],
        message: `parameter "${p.name}" is defined twice`,
      });
    seenParams.add(p.name);
  });
  return out;
}

/** A secret reaches the server as an environment variable or a mounted file (which needs the key to mount). */
function secretIssues(app: AppFields): CustomIssue[] {
  const out: CustomIssue[] = [];
  app.secrets?.forEach((s, i) => {
    if (typeof s === "object" && s.env_var === undefined && s.mount === undefined) {
      out.push({
        code: "custom",
        path: ["secrets", i],
        message: "a secret needs env_var (to set an environment variable) or mount (to mount it as a file)",
      });
    }
    if (typeof s === "object" && s.mount !== undefined && s.key === undefined && s.env_var === undefined) {
      out.push({
        code: "custom",
        path: ["secrets", i, "key"],
        message: "a mounted secret needs key (the file name in the Secret)",
      });
    }
  });
  return out;
}

/** A hook's argv whose program has spaces in it: a whole command line written as one list element. */
function hookIssues(app: AppFields): CustomIssue[] {
  const out: CustomIssue[] = [];
  for (const hookName of ["on_startup", "on_shutdown"] as const) {
    const h = app[hookName];
    if (Array.isArray(h) && typeof h[0] === "string" && /\s/.test(h[0].trim())) {
      const split = [...h[0]!.trim().split(/\s+/), ...h.slice(1)];
      out.push({
        code: "custom",
        path: [hookName, 0],
        message: `"${h[0]}" is one list element, so it would be run as a program of that name (spaces included)`,
        params: {
          hint: `split it: ${JSON.stringify(split)}, or write the whole line as one string (run by sh -c): ${hookName}: ${JSON.stringify(h.join(" "))}`,
        },
      });
    }
  }
  return out;
}

/** A custom node label scheme's keys are GPU types of the catalog. */
function nodeLabelIssues(app: AppFields): CustomIssue[] {
  if (typeof app.node_labels?.scheme !== "object") return [];
  const out: CustomIssue[] = [];
  for (const t of Object.keys(app.node_labels.scheme.values)) {
    if (!findGpuType(t)) {
      const guess = suggestGpuType(t);
      out.push({
        code: "custom",
        path: ["node_labels", "scheme", "values", t],
        message: `unknown GPU type "${t}"${guess ? `; did you mean "${guess}"?` : ""}`,
        params: { hint: `keys are GPU types of the catalog: ${GPU_TYPE_NAMES.join(", ")}` },
      });
    }
  }
  return out;
}

/** The endpoint picker belongs to the InferencePool. */
function routeIssues(app: AppFields): CustomIssue[] {
  if (!app.route?.endpoint_picker || app.route.inference_pool) return [];
  return [
    {
      code: "custom",
      path: ["route", "endpoint_picker"],
      message: "endpoint_picker is the InferencePool's; set inference_pool: true or drop it",
    },
  ];
}

/** command replaces the container's command, so extra_args beside it would be ignored. */
function commandIssues(app: AppFields): CustomIssue[] {
  if (app.command === undefined || app.extra_args === undefined) return [];
  return [
    {
      code: "custom",
      path: ["extra_args"],
      message:
        "command replaces the whole container command, so extra_args would be ignored; put the flags in command or drop command",
    },
  ];
}

/**
 * One app as every other module reads it: the fields of the file, with the two values that would
 * otherwise be converted at each use converted once here: `startup_timeout` in seconds (the file says
 * "30m", 1800 or "1h30m"), and `resources.gpu` as one shape whichever way it is written.
 */
export type AppConfig = Omit<AppFields, "startup_timeout" | "resources"> & {
  /** seconds */
  startup_timeout: number;
  resources?: Omit<Resources, "gpu"> & { gpu?: GpuSpec };
};

/** What is wrong with `resources.gpu` as written: the string's type and count, the count's limit, the object's type and MIG partition. */
function gpuIssues(gpu: Resources["gpu"]): CustomIssue[] {
  const out: CustomIssue[] = [];
  if (typeof gpu === "string") {
    const p = gpuStringProblem(gpu);
    if (p) out.push({ code: "custom", path: ["resources", "gpu"], message: p.message, params: { hint: p.hint } });
  }
  const gpuCount = gpu === undefined ? undefined : gpuSpec(gpu).count;
  if (gpuCount !== undefined && gpuCount > MAX_GPUS_PER_REPLICA) {
    out.push({
      code: "custom",
      path: typeof gpu === "object" ? ["resources", "gpu", "count"] : ["resources", "gpu"],
      message: `${gpuCount} GPUs per replica; at most ${MAX_GPUS_PER_REPLICA} (the GPUs of one pod are on one node)`,
      params: {
        hint: "spread larger models over nodes with parallelism.nodes, or over replicas with scaling.replicas",
      },
    });
  }
  if (typeof gpu === "object") {
    if (gpu.type !== undefined && gpu.count === 0) {
      out.push({
        code: "custom",
        path: ["resources", "gpu", "count"],
        message: `count 0 asks for zero ${gpu.type} GPUs`,
        params: { hint: "give count: 1 (or more), or leave resources.gpu out to run without a GPU" },
      });
    }
    const t = gpu.type === undefined ? undefined : findGpuType(gpu.type);
    if (gpu.type !== undefined && !t) {
      const guess = suggestGpuType(gpu.type);
      out.push({
        code: "custom",
        path: ["resources", "gpu", "type"],
        message: `unknown GPU type "${gpu.type}"${guess ? `; did you mean "${guess}"?` : ""} (known: ${GPU_TYPE_NAMES.join(", ")})`,
      });
    }
    if (gpu.partition !== undefined) {
      if (!MIG_PROFILE_RE.test(gpu.partition)) {
        out.push({
          code: "custom",
          path: ["resources", "gpu", "partition"],
          message: `"${gpu.partition}" is not a MIG profile; write e.g. "1g.10gb"`,
        });
      } else if (t?.mig && !t.mig.includes(gpu.partition)) {
        out.push({
          code: "custom",
          path: ["resources", "gpu", "partition"],
          message: `${t.name} has no MIG profile "${gpu.partition}"; it has ${t.mig.join(", ")}`,
        });
      } else if (t && !t.mig) {
        out.push({
          code: "custom",
          path: ["resources", "gpu", "partition"],
          message: `${t.name} does not support MIG`,
        });
      }
    }
  }
  return out;
}

/** `resources.gpu`, whichever way it is written, as one value (a string that fails the check reads as one GPU). */
function gpuSpec(gpu: NonNullable<Resources["gpu"]>): GpuSpec {
  if (typeof gpu === "number") return { count: gpu };
  if (typeof gpu === "string") return parseGpuString(gpu) ?? { count: 1 };
  return gpu;
}

function converted(app: AppFields): AppConfig {
  const { resources } = app;
  return {
    ...app,
    startup_timeout: parseDuration(app.startup_timeout)!,
    resources: resources && { ...resources, gpu: resources.gpu === undefined ? undefined : gpuSpec(resources.gpu) },
  };
}

/** One app of vllm-app.yaml: checked as written (the JSON Schema is this schema's input side), handed out converted. */
export const appConfigSchema = z.pipe(appFieldsSchema, z.transform(converted));
export type RunOutputRef = z.output<typeof runOutputSchema>;
