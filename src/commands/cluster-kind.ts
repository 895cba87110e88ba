/**
 * Which way the cluster labels its GPU nodes, for `init`: asked on a terminal, given with --cluster, or
 * read from the current kube context (GKE's context names `gke_<project>_<location>_<cluster>`, EKS's API
 * servers `*.eks.amazonaws.com`, AKS's `*.azmk8s.io`). Written as `node_labels.scheme` when it is not the
 * default (gfd).
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parse } from "yaml";
import { LABEL_SCHEMES, SCHEME_KEYS, type LabelSchemeName } from "../config/gpus.js";

export const CLUSTER_CHOICES: { value: LabelSchemeName; name: string }[] = [
  { value: "gfd", name: "NVIDIA GPU operator / GPU feature discovery (nvidia.com/gpu.product)" },
  { value: "gke", name: "GKE (cloud.google.com/gke-accelerator)" },
  { value: "karpenter", name: "EKS with Karpenter (karpenter.k8s.aws/instance-gpu-name)" },
  { value: "aks", name: "AKS (the Azure VM size, node.kubernetes.io/instance-type)" },
];

/** --cluster's values: the schemes, and eks for karpenter. */
export function parseClusterKind(v: string): LabelSchemeName | undefined {
  const k = v.trim().toLowerCase();
  if (k === "eks") return "karpenter";
  return (LABEL_SCHEMES as readonly string[]).includes(k) ? (k as LabelSchemeName) : undefined;
}

/** The scheme a context's name or server suggests, and why. Pure. */
export function clusterKindOf(context: {
  name?: string;
  server?: string;
}): { scheme: LabelSchemeName; why: string } | undefined {
  const host = (() => {
    try {
      return context.server ? new URL(context.server).hostname : "";
    } catch {
      return "";
    }
  })();
  if (context.name?.startsWith("gke_") || host.endsWith(".gke.goog"))
    return { scheme: "gke", why: `the kube context ${context.name} is a GKE cluster` };
  if (host.endsWith(".eks.amazonaws.com") || context.name?.startsWith("arn:aws:eks:"))
    return { scheme: "karpenter", why: `the kube context ${context.name} is an EKS cluster` };
  if (host.endsWith(".azmk8s.io")) return { scheme: "aks", why: `the kube context ${context.name} is an AKS cluster` };
  return undefined;
}

/** The parts of a kubeconfig file read here (as `kubectl config view` merges them: the first file that sets a name wins). */
interface KubeConfigFile {
  "current-context"?: string;
  contexts?: ({ name?: string; context?: { cluster?: string } } | null)[];
  clusters?: ({ name?: string; cluster?: { server?: string } } | null)[];
}

/** The current kube context's name and server, from $KUBECONFIG (its files in order) or ~/.kube/config; undefined when there is none. */
export function currentContext(env: NodeJS.ProcessEnv = process.env): { name?: string; server?: string } | undefined {
  const files = env.KUBECONFIG
    ? env.KUBECONFIG.split(path.delimiter).filter(Boolean)
    : [path.join(os.homedir(), ".kube", "config")];
  const configs = files.flatMap((f): KubeConfigFile[] => {
    try {
      const c: unknown = parse(readFileSync(f, "utf8"));
      return c && typeof c === "object" ? [c as KubeConfigFile] : [];
    } catch {
      return [];
    }
  });
  const name = configs.find((c) => c["current-context"])?.["current-context"];
  if (!name) return undefined;
  const ctx = configs.flatMap((c) => c.contexts ?? []).find((c) => c?.name === name)?.context;
  const server = configs.flatMap((c) => c.clusters ?? []).find((c) => c?.name === ctx?.cluster)?.cluster?.server;
  return { name, server };
}

export async function askClusterKind(
  detected: LabelSchemeName | undefined,
  signal: AbortSignal,
): Promise<LabelSchemeName> {
  const { select } = await import("@inquirer/prompts");
  return select(
    { message: "How are the cluster's GPU nodes labelled?", choices: CLUSTER_CHOICES, default: detected ?? "gfd" },
    { signal },
  );
}

/** The node_labels line init writes for a scheme other than the default. */
export function nodeLabelsLine(scheme: LabelSchemeName): string {
  return `node_labels: {scheme: ${scheme}}`.padEnd(35) + ` # GPU nodes are selected by ${SCHEME_KEYS[scheme]}`;
}
