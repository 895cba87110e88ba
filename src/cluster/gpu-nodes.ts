/**
 * What deploy reads from the GPU nodes before it applies anything (README "GPU nodes at deploy"):
 * - whether any node carries the labels the pod's GPU affinity asks for; when none does but GPU nodes
 *   labelled another way (GPU feature discovery, GKE, Karpenter, AKS VM sizes, EKS instance types) have
 *   the GPU type, that labelling is used with a warning when the file has no `node_labels`, and is an
 *   error naming the `node_labels` to write when it has; GPU nodes with none of the scheme's labels at
 *   all (the device plugin alone) are an error too: the pod would stay Pending whatever the autoscaler does;
 * - whether the NVIDIA driver of the nodes that fit runs the CUDA the image is built for.
 * Pure but for cudaFloorOf, which reads the catalogs: the nodes come in.
 */
import type { AppConfig } from "../config/schema.js";
import {
  GPU_TYPES,
  gpuNodeMatches,
  SCHEME_KEYS,
  SCHEME_TOLERATIONS,
  type GpuType,
  type LabelMatch,
  type LabelScheme,
  type LabelSchemeName,
} from "../config/gpus.js";
import { DEFAULT_IMAGE, gpuVendorOf } from "../render/labels.js";
import { gpuRequest } from "../render/resources.js";
import { catalogIndex, chooseCatalog, compareVersions, loadCatalog } from "../vllm/catalog.js";
import type { K8sObject } from "../render/types.js";
import type { Node } from "./k8s-types.js";

export interface CudaFloor {
  image: string;
  /** the CUDA version the image is built for */
  version: string;
  min_driver: string;
  /** the newest catalogued image a driver runs, if any */
  newestFor: (driver: string) => { image: string; version: string; min_driver: string } | undefined;
}

export interface GpuNodeFindings {
  /** the objects, with the GPU affinity of the labelling the nodes use when it was switched */
  objects: K8sObject[];
  warnings: string[];
  notes: string[];
  problems: { message: string; hint: string }[];
}

const INSTANCE_TYPE = "node.kubernetes.io/instance-type";
const SCHEME_WAY: Record<LabelSchemeName, string> = {
  gfd: "GPU feature discovery",
  gke: "GKE",
  karpenter: "Karpenter",
  aks: "AKS",
};
/** Labels that mark a GPU node whatever its scheme (with the device plugin's extended resources). */
const GPU_NODE_LABELS = [
  "nvidia.com/gpu.present",
  "nvidia.com/gpu.product",
  "amd.com/gpu.product-name",
  SCHEME_KEYS.gke,
  SCHEME_KEYS.karpenter,
  "kubernetes.azure.com/accelerator",
];

function labels(n: Node): Record<string, string> {
  return n.metadata.labels ?? {};
}

function isGpuNode(n: Node): boolean {
  const res = { ...(n.status?.capacity ?? {}), ...(n.status?.allocatable ?? {}) };
  return (
    Object.entries(res).some(([k, v]) => /^(nvidia\.com\/(gpu|mig-.+)|amd\.com\/gpu)$/.test(k) && v !== "0") ||
    GPU_NODE_LABELS.some((k) => labels(n)[k] !== undefined)
  );
}

function fits(n: Node, matches: readonly LabelMatch[], selector: Record<string, string>): boolean {
  const l = labels(n);
  return (
    matches.every((m) => l[m.key] !== undefined && m.values.includes(l[m.key]!)) &&
    Object.entries(selector).every(([k, v]) => l[k] === v)
  );
}

/** The node's NVIDIA driver from GPU feature discovery's labels ("580.65.06"), if it says. */
export function driverOf(n: Node): string | undefined {
  const l = labels(n);
  const full = l["nvidia.com/cuda.driver-version.full"];
  if (full) return full;
  const major = l["nvidia.com/cuda.driver-version.major"] ?? l["nvidia.com/cuda.driver.major"];
  if (!major) return undefined;
  const minor = l["nvidia.com/cuda.driver-version.minor"] ?? l["nvidia.com/cuda.driver.minor"];
  const rev = l["nvidia.com/cuda.driver-version.revision"] ?? l["nvidia.com/cuda.driver.rev"];
  return [major, minor, rev].filter((x) => x !== undefined && x !== "").join(".");
}

/** Dotted driver versions compared part by part as numbers: 580.65.06 > 575.57.08. */
export function compareDrivers(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

function describeScheme(s: LabelScheme): string {
  if (typeof s === "string") return `node_labels: {scheme: ${s}}`;
  const values = Object.entries(s.values).map(([t, v]) => `${t}: ${Array.isArray(v) ? `[${v.join(", ")}]` : v}`);
  return `node_labels: {scheme: {key: ${s.key}, values: {${values.join(", ")}}}}`;
}

function describeMatches(m: readonly LabelMatch[]): string {
  return m.map((x) => `${x.key} in (${x.values.join(", ")})`).join(" and ");
}

function names(nodes: readonly Node[]): string {
  const n = nodes.map((x) => x.metadata.name);
  return n.length > 3 ? `${n.slice(0, 3).join(", ")} and ${n.length - 3} more` : n.join(", ");
}

/** Another labelling under which some GPU node has this GPU type, and those nodes. */
function otherScheme(
  type: GpuType,
  current: LabelScheme,
  gpuNodes: readonly Node[],
  selector: Record<string, string>,
): { scheme: LabelScheme; way: string; matches: LabelMatch[]; nodes: Node[] } | undefined {
  for (const s of Object.keys(SCHEME_WAY) as LabelSchemeName[]) {
    if (s === current) continue;
    const m = gpuNodeMatches(type, s);
    if ("problem" in m) continue;
    const nodes = gpuNodes.filter((n) => fits(n, m.matches, selector));
    if (nodes.length)
      return { scheme: s, way: `the ${SCHEME_WAY[s]} way (${m.matches[0]!.key})`, matches: m.matches, nodes };
  }
  // EKS managed node groups with the device plugin alone: only the instance type tells the GPU
  const families = new Set(type.ec2 ?? []);
  const nodes = gpuNodes.filter(
    (n) =>
      families.has(labels(n)[INSTANCE_TYPE]?.split(".")[0] ?? "") &&
      Object.entries(selector).every(([k, v]) => labels(n)[k] === v),
  );
  if (!nodes.length) return undefined;
  const types = [...new Set(nodes.map((n) => labels(n)[INSTANCE_TYPE]!))].sort();
  return {
    scheme: { key: INSTANCE_TYPE, values: { [type.name]: types } },
    way: `by EC2 instance type only (${INSTANCE_TYPE}: ${types.join(", ")})`,
    matches: [{ key: INSTANCE_TYPE, values: types }],
    nodes,
  };
}

/** The pod templates of the objects that run pods (a Deployment's; a LeaderWorkerSet's leader and worker). */
function podTemplates(o: any): any[] {
  if (o.kind === "Deployment") return [o.spec?.template];
  if (o.kind === "LeaderWorkerSet")
    return [o.spec?.leaderWorkerTemplate?.leaderTemplate, o.spec?.leaderWorkerTemplate?.workerTemplate].filter(Boolean);
  return [];
}

/** The objects with the GPU affinity of `from` replaced by `to`'s matches (and `to`'s scheme tolerations). */
function switchScheme(
  objects: readonly K8sObject[],
  from: readonly LabelMatch[],
  to: { scheme: LabelScheme; matches: LabelMatch[] },
): K8sObject[] {
  const old = new Set(from.map((m) => m.key));
  return objects.map((o) => {
    if (!podTemplates(o).length) return o;
    const copy = structuredClone(o);
    for (const tpl of podTemplates(copy)) {
      const terms =
        tpl.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
      for (const term of terms) {
        term.matchExpressions = [
          ...(term.matchExpressions ?? []).filter((e: { key: string }) => !old.has(e.key)),
          ...to.matches.map((m) => ({ key: m.key, operator: "In", values: m.values })),
        ];
      }
      const extra = typeof to.scheme === "string" ? (SCHEME_TOLERATIONS[to.scheme] ?? []) : [];
      if (extra.length) tpl.spec.tolerations = [...(tpl.spec.tolerations ?? []), ...extra];
    }
    return copy;
  });
}

function checkDriver(app: AppConfig, nodes: readonly Node[], cuda: CudaFloor, out: GpuNodeFindings): void {
  const known = nodes
    .map((n) => ({ n, driver: driverOf(n) }))
    .filter((x): x is { n: Node; driver: string } => x.driver !== undefined);
  if (known.some((x) => compareDrivers(x.driver, cuda.min_driver) >= 0)) return;
  const unknown = nodes.length - known.length;
  if (unknown) {
    out.notes.push(
      `${app.name}: ${unknown} of the GPU nodes that fit do not label their NVIDIA driver version (GPU feature discovery's nvidia.com/cuda.driver-version.*), so vllmapp cannot check that they run ${cuda.image} (CUDA ${cuda.version}: driver ${cuda.min_driver} or newer)`,
    );
    return;
  }
  const drivers = [...new Set(known.map((x) => x.driver))].sort(compareDrivers);
  const newest = drivers[drivers.length - 1]!;
  const instead = cuda.newestFor(newest);
  out.problems.push({
    message: `the image ${cuda.image} is built for CUDA ${cuda.version} and needs NVIDIA driver ${cuda.min_driver} or newer; the GPU nodes that fit (${names(known.map((x) => x.n))}) have driver ${drivers.join(", ")}, so it would crash at start ("unsupported display driver / cuda driver combination")`,
    hint: instead
      ? `set image: ${instead.image} in ${app.name}'s file (the newest catalogued release those nodes run: CUDA ${instead.version}, driver ${instead.min_driver} or newer), or upgrade the nodes' NVIDIA driver to ${cuda.min_driver} or newer`
      : `upgrade the nodes' NVIDIA driver to ${cuda.min_driver} or newer (no catalogued vLLM image runs on driver ${newest})`,
  });
}

export function checkGpuNodes(
  app: AppConfig,
  file: string,
  objects: K8sObject[],
  nodes: readonly Node[],
  cuda?: CudaFloor,
): GpuNodeFindings {
  const out: GpuNodeFindings = { objects, warnings: [], notes: [], problems: [] };
  const gpu = gpuRequest(app);
  if (gpu.count === 0) return out;
  const gpuNodes = nodes.filter(isGpuNode);
  // no GPU node yet: an autoscaler may add one (the wait diagnoses what the scheduler then says)
  if (!gpuNodes.length) return out;
  const pod = podTemplates(objects.find((o) => podTemplates(o).length) ?? {})[0]?.spec;
  const selector: Record<string, string> = pod?.nodeSelector ?? {};
  let fitting = gpuNodes.filter(
    (n) =>
      Object.entries(selector).every(([k, v]) => labels(n)[k] === v) &&
      (n.status?.allocatable?.[gpu.resource] ?? "0") !== "0",
  );
  if (gpu.type) {
    const scheme = app.node_labels?.scheme ?? "gfd";
    const current = gpuNodeMatches(gpu.type, scheme, app.node_labels?.gpu_product);
    if ("problem" in current) return out; // render refused it already
    fitting = gpuNodes.filter((n) => fits(n, current.matches, selector));
    if (!fitting.length) {
      const other = otherScheme(gpu.type, scheme, gpuNodes, selector);
      const wanted = `no node has ${describeMatches(current.matches)}`;
      if (other && !app.node_labels) {
        out.objects = switchScheme(objects, current.matches, other);
        out.warnings.push(
          `${app.name}: ${wanted} (GPU feature discovery's labels, the default), but ${other.nodes.length} GPU node${other.nodes.length > 1 ? "s" : ""} with ${gpu.type.name} (${names(other.nodes)}) ${other.nodes.length > 1 ? "are" : "is"} labelled ${other.way}: deploying with ${describeScheme(other.scheme)}; write it in ${file} to make it explicit`,
        );
        fitting = other.nodes;
      } else if (other) {
        out.problems.push({
          message: `${wanted} (${describeScheme(scheme)}), so the pod would stay Pending; ${other.nodes.length} GPU node${other.nodes.length > 1 ? "s" : ""} with ${gpu.type.name} (${names(other.nodes)}) ${other.nodes.length > 1 ? "are" : "is"} labelled ${other.way}`,
          hint: `write ${describeScheme(other.scheme)} in ${file}`,
        });
        return out;
      } else {
        const key = current.matches[0]!.key;
        if (!gpuNodes.some((n) => labels(n)[key] !== undefined)) {
          // none of the GPU nodes is labelled this way at all: no autoscaler adds one that is
          const seen = seenSchemes(gpuNodes);
          out.problems.push({
            message: `${wanted}: none of the ${gpuNodes.length} GPU node${gpuNodes.length > 1 ? "s" : ""} (${names(gpuNodes)}) has the label ${key} (${describeScheme(scheme)}), so the pod would stay Pending`,
            hint: seen.length
              ? `the GPU nodes are labelled ${seen.join("; ")}: set resources.gpu to a type they have and write node_labels: {scheme: …} of that labelling in ${file}`
              : `the nodes have the device plugin's ${gpu.resource} but no GPU model label: install NVIDIA GPU feature discovery (the GPU operator) for nvidia.com/gpu.product, or name the nodes' own label in ${file}: node_labels: {scheme: {key: ${INSTANCE_TYPE}, values: {${gpu.type.name}: [${[...new Set(gpuNodes.map((n) => labels(n)[INSTANCE_TYPE]).filter(Boolean))].join(", ") || "<their instance type>"}]}}}`,
          });
          return out;
        }
        return out; // other types are labelled this way: an autoscaler may add this one
      }
    }
  }
  if (cuda && gpu.resource.startsWith("nvidia.com/") && fitting.length) checkDriver(app, fitting, cuda, out);
  return out;
}

/** How the GPU nodes are labelled, in words with the values seen: "the GKE way (cloud.google.com/gke-accelerator: nvidia-l4)". */
function seenSchemes(gpuNodes: readonly Node[]): string[] {
  const out: string[] = [];
  for (const s of Object.keys(SCHEME_WAY) as LabelSchemeName[]) {
    if (s === "aks") continue; // node.kubernetes.io/instance-type is on every node: said below
    const values = [...new Set(gpuNodes.map((n) => labels(n)[SCHEME_KEYS[s]]).filter(Boolean))];
    if (values.length) out.push(`the ${SCHEME_WAY[s]} way (${SCHEME_KEYS[s]}: ${values.join(", ")})`);
  }
  const azure = [
    ...new Set(
      gpuNodes
        .map((n) => labels(n)[INSTANCE_TYPE])
        .filter((v): v is string => Boolean(v) && GPU_TYPES.some((t) => t.aks?.includes(v!))),
    ),
  ];
  if (azure.length) out.push(`by Azure VM size (${INSTANCE_TYPE}: ${azure.join(", ")}; node_labels: {scheme: aks})`);
  return out;
}

/**
 * The CUDA floor of the app's image, from its release's catalog: only for vLLM's own CUDA images of a
 * catalogued release (a `-cu129`-style tag builds for another CUDA; a custom image may have its own).
 */
export function cudaFloorOf(app: AppConfig): CudaFloor | undefined {
  if (gpuVendorOf(app) === "amd") return undefined;
  const image = app.image === "auto" ? DEFAULT_IMAGE : app.image;
  const m = /^((?:docker\.io\/)?vllm\/vllm-openai):v?(\d+\.\d+\.\d+)$/.exec(image);
  if (!m) return undefined;
  const choice = chooseCatalog(image, app.vllm_version, DEFAULT_IMAGE);
  if (choice.version !== m[2]) return undefined;
  const cuda = loadCatalog(choice.version).cuda;
  if (!cuda) return undefined;
  const repo = m[1]!;
  return {
    image,
    ...cuda,
    newestFor(driver) {
      for (const r of [...catalogIndex().releases].sort(compareVersions).reverse()) {
        const c = loadCatalog(r).cuda;
        if (c && compareDrivers(driver, c.min_driver) >= 0) return { image: `${repo}:v${r}`, ...c };
      }
      return undefined;
    },
  };
}
