/**
 * What vllmapp reads from the GPU nodes (README "GPU nodes at deploy"):
 * - while planning (chooseGpuScheme): when the file has no `node_labels` and no GPU node carries GPU
 *   feature discovery's labels for the GPU type, but GPU nodes labelled another way (GKE, Karpenter, AKS
 *   VM sizes, EKS instance types) have it, the plan renders with that labelling, with a warning; so
 *   `render --resolve` prints what deploy applies;
 * - before deploy applies anything (checkGpuNodes, which only checks): whether any node carries the labels
 *   the pod's GPU affinity asks for; when none does but GPU nodes labelled another way have the GPU type,
 *   an error naming the `node_labels` to write; GPU nodes with none of the scheme's labels at all (the
 *   device plugin alone) are an error too: the pod would stay Pending whatever the autoscaler does; and
 *   whether the NVIDIA driver of the nodes that fit runs the CUDA the image is built for.
 * Pure but for cudaFloorOf, which reads the catalogs: the nodes come in.
 */
import type { AppConfig } from "../config/schema.js";
import {
  GPU_TYPES,
  gpuNodeMatches,
  SCHEME_KEYS,
  type GpuType,
  type LabelMatch,
  type LabelScheme,
  type LabelSchemeName,
} from "../config/gpus.js";
import { DEFAULT_IMAGE, gpuVendorOf } from "../render/labels.js";
import { gpuRequest } from "../render/resources.js";
import { catalogIndex, chooseCatalog, compareVersions, loadCatalog } from "../vllm/catalog.js";
import type { K8sObject } from "../render/types.js";
import type { GpuSchemeChoice } from "../app/cluster-reads.js";
import type { Node, PodSpec } from "./k8s-types.js";

export interface CudaFloor {
  image: string;
  /** the CUDA version the image is built for */
  version: string;
  min_driver: string;
  /** the newest catalogued image a driver runs, if any */
  newestFor: (driver: string) => { image: string; version: string; min_driver: string } | undefined;
}

export interface GpuNodeFindings {
  notes: string[];
  problems: { message: string; hint: string }[];
}

/** The rendered workloads' pod templates, as far as they are read here. */
type Workload = K8sObject & {
  spec?: {
    template?: { spec?: PodSpec };
    leaderWorkerTemplate?: { leaderTemplate?: { spec?: PodSpec }; workerTemplate?: { spec?: PodSpec } };
  };
};

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

/** A labelling other than the pod's under which GPU nodes have the GPU type: in words, its matches, those nodes. */
interface OtherScheme {
  scheme: LabelScheme;
  way: string;
  matches: LabelMatch[];
  nodes: Node[];
}

/** Another labelling under which some GPU node has this GPU type, and those nodes. */
function otherScheme(
  type: GpuType,
  current: LabelScheme,
  gpuNodes: readonly Node[],
  selector: Record<string, string>,
): OtherScheme | undefined {
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

/** The pod specs an object runs: a Deployment's template; a LeaderWorkerSet's leader and worker templates. */
export function podSpecsOf(o: K8sObject): PodSpec[] {
  const spec = (o as Workload).spec;
  if (o.kind === "Deployment") return spec?.template?.spec ? [spec.template.spec] : [];
  if (o.kind === "LeaderWorkerSet") {
    const lwt = spec?.leaderWorkerTemplate;
    return [lwt?.leaderTemplate?.spec, lwt?.workerTemplate?.spec].filter((p): p is PodSpec => p !== undefined);
  }
  return [];
}

/** The nodeSelector of the pod the objects run (the first workload's; a LeaderWorkerSet's leader). */
function nodeSelectorOf(objects: readonly K8sObject[]): Record<string, string> {
  const workload = objects.find((o) => o.kind === "Deployment" || o.kind === "LeaderWorkerSet");
  return (workload && podSpecsOf(workload)[0]?.nodeSelector) ?? {};
}

/** "2 GPU nodes with T4 (a, b) are labelled the GKE way (…)" */
function labelledOther(type: GpuType, other: OtherScheme): string {
  const n = other.nodes.length;
  return `${n} GPU node${n > 1 ? "s" : ""} with ${type.name} (${names(other.nodes)}) ${n > 1 ? "are" : "is"} labelled ${other.way}`;
}

/**
 * The labelling of GPU nodes a plan renders with when the file names no `node_labels`: GPU feature
 * discovery's (undefined: the default stays), unless no GPU node has its labels for the app's GPU type and
 * GPU nodes labelled another way (GKE, Karpenter, AKS, EKS instance types) have it; then that labelling,
 * with the warning that names the `node_labels` to write. `objects`: the app's, for the pod's nodeSelector.
 */
export function chooseGpuScheme(
  app: AppConfig,
  file: string,
  objects: readonly K8sObject[],
  nodes: readonly Node[],
): GpuSchemeChoice | undefined {
  const gpu = gpuRequest(app);
  if (app.node_labels || !gpu.type || gpu.count === 0) return undefined;
  const gpuNodes = nodes.filter(isGpuNode);
  const selector = nodeSelectorOf(objects);
  const current = gpuNodeMatches(gpu.type, "gfd");
  if ("problem" in current || gpuNodes.some((n) => fits(n, current.matches, selector))) return undefined;
  const other = otherScheme(gpu.type, "gfd", gpuNodes, selector);
  if (!other) return undefined;
  return {
    scheme: other.scheme,
    warning: `${app.name}: no node has ${describeMatches(current.matches)} (GPU feature discovery's labels, the default), but ${labelledOther(gpu.type, other)}: deploying with ${describeScheme(other.scheme)}; write it in ${file} to make it explicit`,
  };
}

/**
 * The GPU nodes that have the app's GPU type under the labelling `scheme` (the pod's GPU affinity), or
 * what keeps the pod Pending when none has: GPU nodes with the type labelled another way, or no GPU node
 * labelled this way at all. Neither nodes nor a problem: other types are labelled this way, and an
 * autoscaler may add a node with this one (or the render refused the scheme already).
 */
function typedNodes(
  app: AppConfig,
  file: string,
  type: GpuType,
  scheme: LabelScheme,
  gpuNodes: readonly Node[],
  selector: Record<string, string>,
): { nodes: Node[] } | { problem?: { message: string; hint: string } } {
  const current = gpuNodeMatches(type, scheme, app.node_labels?.gpu_product);
  if ("problem" in current) return {};
  const nodes = gpuNodes.filter((n) => fits(n, current.matches, selector));
  if (nodes.length) return { nodes };
  const wanted = `no node has ${describeMatches(current.matches)}`;
  const other = otherScheme(type, scheme, gpuNodes, selector);
  if (other)
    return {
      problem: {
        message: `${wanted} (${describeScheme(scheme)}), so the pod would stay Pending; ${labelledOther(type, other)}`,
        hint: `write ${describeScheme(other.scheme)} in ${file}`,
      },
    };
  const key = current.matches[0]!.key;
  if (gpuNodes.some((n) => labels(n)[key] !== undefined)) return {};
  // none of the GPU nodes is labelled this way at all: no autoscaler adds one that is
  const seen = seenSchemes(gpuNodes);
  const types = [...new Set(gpuNodes.map((n) => labels(n)[INSTANCE_TYPE]).filter(Boolean))];
  return {
    problem: {
      message: `${wanted}: none of the ${gpuNodes.length} GPU node${gpuNodes.length > 1 ? "s" : ""} (${names(gpuNodes)}) has the label ${key} (${describeScheme(scheme)}), so the pod would stay Pending`,
      hint: seen.length
        ? `the GPU nodes are labelled ${seen.join("; ")}: set resources.gpu to a type they have and write node_labels: {scheme: …} of that labelling in ${file}`
        : `the nodes have the device plugin's ${gpuRequest(app).resource} but no GPU model label: install NVIDIA GPU feature discovery (the GPU operator) for nvidia.com/gpu.product, or name the nodes' own label in ${file}: node_labels: {scheme: {key: ${INSTANCE_TYPE}, values: {${type.name}: [${types.join(", ") || "<their instance type>"}]}}}`,
    },
  };
}

/**
 * Whether the pod the objects run would find a GPU node: under the file's `node_labels`, else the
 * labelling the plan chose (`planned`), else GPU feature discovery's; and whether the driver of the
 * nodes that fit runs the image's CUDA (`cuda`). Checks only: the objects are the plan's, as they are applied.
 */
export function checkGpuNodes(
  app: AppConfig,
  file: string,
  objects: readonly K8sObject[],
  nodes: readonly Node[],
  cuda?: CudaFloor,
  planned?: LabelScheme,
): GpuNodeFindings {
  const out: GpuNodeFindings = { notes: [], problems: [] };
  const gpu = gpuRequest(app);
  if (gpu.count === 0) return out;
  const gpuNodes = nodes.filter(isGpuNode);
  // no GPU node yet: an autoscaler may add one (the wait diagnoses what the scheduler then says)
  if (!gpuNodes.length) return out;
  const selector = nodeSelectorOf(objects);
  let fitting = gpuNodes.filter(
    (n) =>
      Object.entries(selector).every(([k, v]) => labels(n)[k] === v) &&
      (n.status?.allocatable?.[gpu.resource] ?? "0") !== "0",
  );
  if (gpu.type) {
    const scheme = app.node_labels?.scheme ?? planned ?? "gfd";
    const typed = typedNodes(app, file, gpu.type, scheme, gpuNodes, selector);
    if (!("nodes" in typed)) {
      if (typed.problem) out.problems.push(typed.problem);
      return out;
    }
    fitting = typed.nodes;
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
