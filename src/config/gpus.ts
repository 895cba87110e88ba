/**
 * The GPU catalog: the accelerator names a user may write in `resources.gpu` (Flyte 2.12's list and
 * more), the node label values that identify such nodes under each labelling scheme, and the memory of
 * one device (used by the fit check). Pure.
 *
 * Label values, by scheme (sources in README "GPU node labels"):
 * - gfd: NVIDIA GPU feature discovery's `nvidia.com/gpu.product`, the driver's product name with spaces
 *   as dashes; for AMD the AMD GPU operator's node labeller `amd.com/gpu.product-name`.
 * - gke: `cloud.google.com/gke-accelerator`, the Compute Engine accelerator type names.
 * - karpenter: `karpenter.k8s.aws/instance-gpu-name`, EC2's GPU name in lower case; where EC2 sells two
 *   memory sizes under one name (A100), `karpenter.k8s.aws/instance-gpu-memory` (MiB per GPU) tells them apart.
 * - aks: `node.kubernetes.io/instance-type`, the Azure VM sizes with that GPU (AKS labels GPU nodes
 *   `kubernetes.azure.com/accelerator: nvidia` only, without the model, unless the GPU operator runs).
 * `ec2` (EC2 instance families) is not a scheme: deploy reads it to recognise EKS managed node groups
 * that carry only the device plugin's `nvidia.com/gpu` and their instance type.
 */
import { levenshtein } from "../text.js";

export type GpuVendor = "nvidia" | "amd";

export interface GpuType {
  /** canonical name, as written in vllm-app.yaml (Flyte 2.12's spelling) */
  name: string;
  /** other spellings users write */
  aliases: string[];
  vendor: GpuVendor;
  /** values of the product label on nodes with this GPU (GPU feature discovery / AMD node labeller) */
  products: string[];
  /** GKE's cloud.google.com/gke-accelerator values; none: GKE does not offer it */
  gke?: string[];
  /** Karpenter on EKS: instance-gpu-name (and instance-gpu-memory in MiB when the name is shared); none: EC2 does not offer it */
  karpenter?: { name: string; memoryMiB?: number };
  /** AKS: the Azure VM sizes (node.kubernetes.io/instance-type) with whole GPUs of this type; none: Azure does not offer it */
  aks?: string[];
  /** EC2 instance families with this GPU (g6 of g6.xlarge), for recognising EKS nodes by instance type */
  ec2?: string[];
  /** memory of one device, in GB (10^9 bytes) */
  memoryGB: number;
  /** extended resource name */
  resource: string;
  /** MIG profiles this GPU supports, if any */
  mig?: string[];
  /** left out of "use X instead" suggestions (a workstation part, not a data-centre one) */
  noSuggest?: boolean;
}

const NV = "nvidia.com/gpu";

export const GPU_TYPES: readonly GpuType[] = [
  {
    name: "T4",
    aliases: ["TESLA-T4"],
    vendor: "nvidia",
    products: ["Tesla-T4"],
    gke: ["nvidia-tesla-t4"],
    karpenter: { name: "t4" },
    aks: ["Standard_NC4as_T4_v3", "Standard_NC8as_T4_v3", "Standard_NC16as_T4_v3", "Standard_NC64as_T4_v3"],
    ec2: ["g4dn"],
    memoryGB: 16,
    resource: NV,
  },
  { name: "A2", aliases: [], vendor: "nvidia", products: ["NVIDIA-A2"], memoryGB: 16, resource: NV },
  {
    name: "V100",
    aliases: ["TESLA-V100"],
    vendor: "nvidia",
    products: ["Tesla-V100-SXM2-16GB", "Tesla-V100-PCIE-16GB", "Tesla-V100-SXM2-32GB", "Tesla-V100-PCIE-32GB"],
    gke: ["nvidia-tesla-v100"],
    karpenter: { name: "v100" },
    aks: ["Standard_NC6s_v3", "Standard_NC12s_v3", "Standard_NC24s_v3", "Standard_NC24rs_v3", "Standard_ND40rs_v2"],
    ec2: ["p3", "p3dn"],
    memoryGB: 16,
    resource: NV,
  },
  {
    name: "A10",
    aliases: [],
    vendor: "nvidia",
    products: ["NVIDIA-A10"],
    aks: ["Standard_NV36ads_A10_v5", "Standard_NV36adms_A10_v5", "Standard_NV72ads_A10_v5"],
    memoryGB: 24,
    resource: NV,
  },
  {
    name: "A10G",
    aliases: [],
    vendor: "nvidia",
    products: ["NVIDIA-A10G"],
    karpenter: { name: "a10g" },
    ec2: ["g5"],
    memoryGB: 24,
    resource: NV,
  },
  {
    name: "L4",
    aliases: [],
    vendor: "nvidia",
    products: ["NVIDIA-L4"],
    gke: ["nvidia-l4"],
    karpenter: { name: "l4" },
    ec2: ["g6", "gr6"],
    memoryGB: 24,
    resource: NV,
  },
  {
    name: "RTX_PRO_4500",
    aliases: ["RTX PRO 4500", "RTX-PRO-4500"],
    vendor: "nvidia",
    products: ["NVIDIA-RTX-PRO-4500-Blackwell", "NVIDIA-RTX-PRO-4500-Blackwell-Server-Edition"],
    memoryGB: 32,
    resource: NV,
  },
  { name: "A40", aliases: [], vendor: "nvidia", products: ["NVIDIA-A40"], memoryGB: 48, resource: NV },
  { name: "L40", aliases: [], vendor: "nvidia", products: ["NVIDIA-L40"], memoryGB: 48, resource: NV },
  {
    name: "L40s",
    aliases: ["L40S"],
    vendor: "nvidia",
    products: ["NVIDIA-L40S"],
    karpenter: { name: "l40s" },
    ec2: ["g6e"],
    memoryGB: 48,
    resource: NV,
  },
  {
    name: "A100",
    aliases: ["A100 40G", "A100-40GB", "A100 40GB", "A100_40G"],
    vendor: "nvidia",
    products: ["NVIDIA-A100-SXM4-40GB", "NVIDIA-A100-PCIE-40GB"],
    gke: ["nvidia-tesla-a100"],
    karpenter: { name: "a100", memoryMiB: 40960 },
    aks: ["Standard_ND96asr_v4"],
    ec2: ["p4d"],
    memoryGB: 40,
    resource: NV,
    mig: ["1g.5gb", "1g.10gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb"],
  },
  {
    name: "A100_80G",
    aliases: ["A100 80G", "A100-80G", "A100 80GB", "A100-80GB"],
    vendor: "nvidia",
    products: ["NVIDIA-A100-SXM4-80GB", "NVIDIA-A100-80GB-PCIe"],
    gke: ["nvidia-a100-80gb"],
    karpenter: { name: "a100", memoryMiB: 81920 },
    aks: [
      "Standard_NC24ads_A100_v4",
      "Standard_NC48ads_A100_v4",
      "Standard_NC96ads_A100_v4",
      "Standard_ND96amsr_A100_v4",
    ],
    ec2: ["p4de"],
    memoryGB: 80,
    resource: NV,
    mig: ["1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"],
  },
  {
    name: "H100",
    aliases: ["H100 80G", "H100-80GB", "H100_80G"],
    vendor: "nvidia",
    products: ["NVIDIA-H100-80GB-HBM3", "NVIDIA-H100-PCIe", "NVIDIA-H100-SXM5-80GB"],
    gke: ["nvidia-h100-80gb", "nvidia-h100-mega-80gb"],
    karpenter: { name: "h100" },
    aks: ["Standard_ND96isr_H100_v5"],
    ec2: ["p5"],
    memoryGB: 80,
    resource: NV,
    mig: ["1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"],
  },
  {
    name: "H100 NVL",
    aliases: ["H100-NVL", "H100_NVL"],
    vendor: "nvidia",
    products: ["NVIDIA-H100-NVL"],
    aks: ["Standard_NC40ads_H100_v5", "Standard_NC80adis_H100_v5"],
    memoryGB: 94,
    resource: NV,
  },
  {
    name: "RTX_PRO_6000",
    aliases: ["RTX PRO 6000", "RTX-PRO-6000", "RTXPRO6000"],
    vendor: "nvidia",
    products: ["NVIDIA-RTX-PRO-6000-Blackwell-Server-Edition"],
    gke: ["nvidia-rtx-pro-6000"],
    memoryGB: 96,
    resource: NV,
    mig: ["1g.24gb", "2g.48gb", "4g.96gb"],
  },
  { name: "GH200", aliases: [], vendor: "nvidia", products: ["NVIDIA-GH200-480GB"], memoryGB: 96, resource: NV },
  {
    name: "GB10",
    aliases: [],
    vendor: "nvidia",
    products: ["NVIDIA-GB10"],
    memoryGB: 128,
    resource: NV,
    noSuggest: true,
  },
  {
    name: "H200",
    aliases: [],
    vendor: "nvidia",
    products: ["NVIDIA-H200", "NVIDIA-H200-141GB-HBM3e", "NVIDIA-H200-NVL"],
    gke: ["nvidia-h200-141gb"],
    karpenter: { name: "h200" },
    aks: ["Standard_ND96isr_H200_v5"],
    ec2: ["p5e", "p5en"],
    memoryGB: 141,
    resource: NV,
    mig: ["1g.18gb", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb"],
  },
  {
    name: "B200",
    aliases: [],
    vendor: "nvidia",
    products: ["NVIDIA-B200"],
    gke: ["nvidia-b200"],
    karpenter: { name: "b200" },
    ec2: ["p6-b200"],
    memoryGB: 180,
    resource: NV,
  },
  {
    name: "MI300X",
    aliases: ["MI300"],
    vendor: "amd",
    products: ["AMD_Instinct_MI300X_OAM", "AMD_Instinct_MI300X_VF"],
    aks: ["Standard_ND96isr_MI300X_v5"],
    memoryGB: 192,
    resource: "amd.com/gpu",
  },
  {
    name: "MI325X",
    aliases: ["MI325"],
    vendor: "amd",
    products: ["AMD_Instinct_MI325_OAM"],
    memoryGB: 256,
    resource: "amd.com/gpu",
  },
];

function normalise(name: string): string {
  return name
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, "")
    .replace(/GB$/, "G");
}

const BY_KEY = new Map<string, GpuType>();
for (const t of GPU_TYPES) for (const n of [t.name, ...t.aliases]) BY_KEY.set(normalise(n), t);

export function findGpuType(name: string): GpuType | undefined {
  return BY_KEY.get(normalise(name));
}

export const GPU_TYPE_NAMES = GPU_TYPES.map((t) => t.name);

/**
 * GPUs of one replica as the schema hands them out: `resources.gpu` in any of its three spellings
 * (a count, `"TYPE:COUNT"`, `{type, count, partition}`), with the type as written (findGpuType looks it up).
 */
export interface GpuSpec {
  count: number;
  type?: string;
  partition?: string;
}

/** `"TYPE:COUNT"` (or `"TYPE"`, one GPU), as `resources.gpu` and `init --gpu` take it; the one reader of that string. */
export function parseGpuString(gpu: string): { type: string; count: number } | undefined {
  const m = /^(.+?)(?::(\d+))?$/.exec(gpu.trim());
  return m ? { type: m[1]!, count: m[2] === undefined ? 1 : Number(m[2]) } : undefined;
}

export const MIG_PROFILE_RE = /^\d+g\.\d+gb$/;

/** The known type closest to a misspelt one, compared without case, spaces or dashes. */
export function suggestGpuType(name: string): string | undefined {
  const n = normalise(name);
  let best: { name: string; d: number } | undefined;
  for (const t of GPU_TYPES) {
    for (const alias of [t.name, ...t.aliases]) {
      const d = levenshtein(n, normalise(alias));
      if (!best || d < best.d) best = { name: t.name, d };
    }
  }
  // a type cut short ("H10", "B20") is that type, before any one-letter-off neighbour ("A10")
  const prefixed = GPU_TYPES.filter((t) =>
    [t.name, ...t.aliases].some(
      (a) => n.length >= 2 && normalise(a).startsWith(n) && normalise(a).length === n.length + 1,
    ),
  );
  if (prefixed.length === 1) return prefixed[0]!.name;
  return best && best.d <= Math.max(1, Math.floor(n.length / 3)) ? best.name : undefined;
}

/** The node label that selects `cluster_pool` unless `node_labels.pool` names another. */
export const DEFAULT_POOL_LABEL = "vllmapp.dev/pool";

/** The labelling schemes `node_labels.scheme` names. */
export const LABEL_SCHEMES = ["gfd", "gke", "karpenter", "aks"] as const;
export type LabelSchemeName = (typeof LABEL_SCHEMES)[number];

/** A custom scheme: one label key, and the values of that label for each GPU type used. */
export interface CustomScheme {
  key: string;
  /** GPU type (any spelling) → label value(s) */
  values: Record<string, string | string[]>;
}

export type LabelScheme = LabelSchemeName | CustomScheme;

/** One required match: the node's label `key` has one of `values`. */
export interface LabelMatch {
  key: string;
  values: string[];
}

export const SCHEME_KEYS: Record<LabelSchemeName, string> = {
  gfd: "nvidia.com/gpu.product",
  gke: "cloud.google.com/gke-accelerator",
  karpenter: "karpenter.k8s.aws/instance-gpu-name",
  aks: "node.kubernetes.io/instance-type",
};

/** Under a scheme, the taint its clouds' GPU nodes usually carry beyond nvidia.com/gpu, tolerated too (README "GPU taints"). */
export const SCHEME_TOLERATIONS: Partial<
  Record<LabelSchemeName, { key: string; operator: "Equal"; value: string; effect: "NoSchedule" }[]>
> = {
  // Microsoft's GPU node pool examples: az aks nodepool add --node-taints sku=gpu:NoSchedule
  aks: [{ key: "sku", operator: "Equal", value: "gpu", effect: "NoSchedule" }],
};
const AMD_PRODUCT_KEY = "amd.com/gpu.product-name";
const KARPENTER_MEMORY_KEY = "karpenter.k8s.aws/instance-gpu-memory";

/**
 * The node label matches that select nodes with this GPU type under a scheme (all must hold), or why
 * the scheme cannot express the type. `keyOverride` (node_labels.gpu_product) replaces the main key.
 */
export function gpuNodeMatches(
  type: GpuType,
  scheme: LabelScheme,
  keyOverride?: string,
): { matches: LabelMatch[] } | { problem: string; hint: string } {
  const withKey = (m: LabelMatch[]): { matches: LabelMatch[] } => ({
    matches: keyOverride ? [{ ...m[0]!, key: keyOverride }, ...m.slice(1)] : m,
  });
  if (typeof scheme === "object") {
    const entry = Object.entries(scheme.values).find(([k]) => findGpuType(k) === type);
    if (!entry)
      return {
        problem: `node_labels.scheme.values has no value for ${type.name}`,
        hint: `add ${type.name}: <the ${scheme.key} value of those nodes>`,
      };
    return withKey([{ key: scheme.key, values: Array.isArray(entry[1]) ? entry[1] : [entry[1]] }]);
  }
  switch (scheme) {
    case "gfd":
      return withKey([{ key: type.vendor === "amd" ? AMD_PRODUCT_KEY : SCHEME_KEYS.gfd, values: type.products }]);
    case "gke":
      if (!type.gke)
        return {
          problem: `GKE offers no ${type.name}: node_labels.scheme gke has no ${SCHEME_KEYS.gke} value for it`,
          hint: `GKE accelerators: ${GPU_TYPES.filter((t) => t.gke)
            .map((t) => t.name)
            .join(", ")}; or use scheme gfd (the NVIDIA GPU operator's labels) or a custom {key, values}`,
        };
      return withKey([{ key: SCHEME_KEYS.gke, values: type.gke }]);
    case "karpenter": {
      const k = type.karpenter;
      if (!k)
        return {
          problem: `EC2 offers no ${type.name}: node_labels.scheme karpenter has no ${SCHEME_KEYS.karpenter} value for it`,
          hint: `EC2 GPUs: ${GPU_TYPES.filter((t) => t.karpenter)
            .map((t) => t.name)
            .join(", ")}; or use scheme gfd or a custom {key, values}`,
        };
      const m: LabelMatch[] = [{ key: SCHEME_KEYS.karpenter, values: [k.name] }];
      if (k.memoryMiB) m.push({ key: KARPENTER_MEMORY_KEY, values: [String(k.memoryMiB)] });
      return withKey(m);
    }
    case "aks":
      if (!type.aks)
        return {
          problem: `Azure offers no ${type.name} VM size vllmapp knows: node_labels.scheme aks has no ${SCHEME_KEYS.aks} value for it`,
          hint: `Azure GPUs: ${GPU_TYPES.filter((t) => t.aks)
            .map((t) => t.name)
            .join(", ")}; or use scheme gfd (the NVIDIA GPU operator's labels) or a custom {key, values}`,
        };
      return withKey([{ key: SCHEME_KEYS.aks, values: type.aks }]);
  }
}
