/**
 * The GPU catalog: the accelerator names a user may write in `resources.gpu` (Flyte's list and more),
 * the `nvidia.com/gpu.product` label values that NVIDIA's GPU feature discovery puts on such nodes,
 * and the memory of one device (used by the fit check).
 */
import { levenshtein } from "../text.js";

export interface GpuType {
  /** canonical name, as written in vllm-app.yaml */
  name: string;
  /** other spellings users write */
  aliases: string[];
  /** values of the product label on nodes with this GPU (GPU feature discovery) */
  products: string[];
  /** memory of one device, in GB (10^9 bytes) */
  memoryGB: number;
  /** extended resource name */
  resource: string;
  /** MIG profiles this GPU supports, if any */
  mig?: string[];
}

export const GPU_TYPES: readonly GpuType[] = [
  { name: "T4", aliases: ["TESLA-T4"], products: ["Tesla-T4"], memoryGB: 16, resource: "nvidia.com/gpu" },
  { name: "V100", aliases: ["TESLA-V100"], products: ["Tesla-V100-SXM2-16GB", "Tesla-V100-PCIE-16GB", "Tesla-V100-SXM2-32GB", "Tesla-V100-PCIE-32GB"], memoryGB: 16, resource: "nvidia.com/gpu" },
  { name: "A10", aliases: [], products: ["NVIDIA-A10"], memoryGB: 24, resource: "nvidia.com/gpu" },
  { name: "A10G", aliases: [], products: ["NVIDIA-A10G"], memoryGB: 24, resource: "nvidia.com/gpu" },
  { name: "L4", aliases: [], products: ["NVIDIA-L4"], memoryGB: 24, resource: "nvidia.com/gpu" },
  { name: "A40", aliases: [], products: ["NVIDIA-A40"], memoryGB: 48, resource: "nvidia.com/gpu" },
  { name: "L40", aliases: [], products: ["NVIDIA-L40"], memoryGB: 48, resource: "nvidia.com/gpu" },
  { name: "L40s", aliases: ["L40S"], products: ["NVIDIA-L40S"], memoryGB: 48, resource: "nvidia.com/gpu" },
  { name: "A100", aliases: ["A100 40G", "A100-40GB", "A100 40GB"], products: ["NVIDIA-A100-SXM4-40GB", "NVIDIA-A100-PCIE-40GB"], memoryGB: 40, resource: "nvidia.com/gpu", mig: ["1g.5gb", "1g.10gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb"] },
  { name: "A100 80G", aliases: ["A100-80G", "A100 80GB", "A100-80GB", "A100_80G"], products: ["NVIDIA-A100-SXM4-80GB", "NVIDIA-A100-80GB-PCIe"], memoryGB: 80, resource: "nvidia.com/gpu", mig: ["1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"] },
  { name: "H100", aliases: ["H100 80G", "H100-80GB"], products: ["NVIDIA-H100-80GB-HBM3", "NVIDIA-H100-PCIe", "NVIDIA-H100-SXM5-80GB"], memoryGB: 80, resource: "nvidia.com/gpu", mig: ["1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"] },
  { name: "H100 NVL", aliases: ["H100-NVL"], products: ["NVIDIA-H100-NVL"], memoryGB: 94, resource: "nvidia.com/gpu" },
  { name: "H200", aliases: [], products: ["NVIDIA-H200", "NVIDIA-H200-141GB-HBM3e", "NVIDIA-H200-NVL"], memoryGB: 141, resource: "nvidia.com/gpu", mig: ["1g.18gb", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb"] },
  { name: "GH200", aliases: [], products: ["NVIDIA-GH200-480GB"], memoryGB: 96, resource: "nvidia.com/gpu" },
  { name: "B200", aliases: [], products: ["NVIDIA-B200"], memoryGB: 180, resource: "nvidia.com/gpu" },
  { name: "RTX PRO 6000", aliases: ["RTX-PRO-6000", "RTXPRO6000"], products: ["NVIDIA-RTX-PRO-6000-Blackwell-Server-Edition"], memoryGB: 96, resource: "nvidia.com/gpu" },
  { name: "MI300X", aliases: [], products: ["AMD-Instinct-MI300X"], memoryGB: 192, resource: "amd.com/gpu" },
];

function normalise(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]/g, "").replace(/GB$/, "G");
}

const BY_KEY = new Map<string, GpuType>();
for (const t of GPU_TYPES) for (const n of [t.name, ...t.aliases]) BY_KEY.set(normalise(n), t);

export function findGpuType(name: string): GpuType | undefined {
  return BY_KEY.get(normalise(name));
}

export const GPU_TYPE_NAMES = GPU_TYPES.map((t) => t.name);

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
  return best && best.d <= Math.max(1, Math.floor(n.length / 3)) ? best.name : undefined;
}
