/** Shared by the kubernetes-*.test.ts files: the CLI against the test bed's cluster, objects read with kubectl. */
import { runCli, startCli as startCliIn, type CliResult, type CliRun } from "../support/cli.ts";

export { stderrShows } from "../support/cli.ts";
import { kubectl, kubectlJson, tbEnv, waitUntil, withNamespace as testbedNamespace } from "../support/testbed.ts";

export { kubectl, kubectlJson, waitUntil } from "../support/testbed.ts";

/**
 * A namespace of its own; unlike the test bed's withNamespace (which returns at once), the cleanup waits
 * until it is gone, so the GPUs its pods held are free for the next test file (the test bed has 12 L4s in all).
 */
export async function withNamespaceFreed(prefix: string): Promise<{ ns: string; cleanup: () => Promise<void> }> {
  const { ns } = await testbedNamespace(prefix);
  return {
    ns,
    cleanup: async () =>
      void (await kubectl(["delete", "namespace", ns, "--wait=true", "--timeout=120s"], { allowFail: true })),
  };
}

/** The built CLI in `dir`, against the test bed (KUBECONFIG from the environment); every output is kept for leak checks. */
export function cliIn(dir: string, outputs?: string[]) {
  tbEnv("KUBECONFIG");
  return (args: string[], env: Record<string, string | undefined> = {}): CliResult => {
    const r = runCli(args, { cwd: dir, env });
    outputs?.push(r.stdout, r.stderr);
    return r;
  };
}

/** The built CLI in `dir`, in the background (test/support/cli.ts startCli). */
export function startCli(args: string[], dir: string): CliRun {
  return startCliIn(args, { cwd: dir });
}

/** kind/name → resourceVersion of everything labelled as the app's (the applyset parent included). */
export async function resourceVersions(ns: string, app: string): Promise<Record<string, string>> {
  const list = await kubectlJson([
    "-n",
    ns,
    "get",
    "deployments,services,secrets,configmaps,persistentvolumeclaims,ingresses",
    "-l",
    `vllmapp.dev/app=${app}`,
  ]);
  return Object.fromEntries(list.items.map((o: any) => [`${o.kind}/${o.metadata.name}`, o.metadata.resourceVersion]));
}

/** The app's pods (not being deleted). */
export async function podsOf(ns: string, app: string): Promise<any[]> {
  const list = await kubectlJson(["-n", ns, "get", "pods", "-l", `vllmapp.dev/app=${app}`]);
  return list.items.filter((p: any) => !p.metadata.deletionTimestamp);
}

/** Point kwok's log endpoint for one pod at files (CRI format) of our own. */
export async function podLogs(ns: string, pod: string, logsFile: string, previousLogsFile?: string): Promise<void> {
  const spec = {
    logs: [{ containers: ["vllm"], logsFile, ...(previousLogsFile ? { previousLogsFile } : {}), follow: false }],
  };
  await kubectl(["apply", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "kwok.x-k8s.io/v1alpha1",
      kind: "Logs",
      metadata: { name: pod, namespace: ns },
      spec,
    }),
  });
}

/**
 * A GPU node of kwok's (by default 4 `nvidia.com/gpu`, 64 CPUs, 512 GiB; `size` overrides any of them) with
 * these labels and taints, once Ready. The caller deletes it; a taint of the test's own keeps other tests'
 * pods off it.
 */
export async function kwokGpuNode(
  name: string,
  labels: Record<string, string>,
  taints: { key: string; value: string; effect: string }[] = [],
  size: { gpus?: string; cpu?: string; memory?: string } = {},
): Promise<void> {
  const capacity = {
    cpu: size.cpu ?? "64",
    memory: size.memory ?? "512Gi",
    pods: "110",
    "ephemeral-storage": "1Ti",
    "nvidia.com/gpu": size.gpus ?? "4",
  };
  await kubectl(["create", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name,
        annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
        labels: {
          "kubernetes.io/arch": "amd64",
          "kubernetes.io/os": "linux",
          "kubernetes.io/hostname": name,
          type: "kwok",
          ...labels,
        },
      },
      spec: { taints },
      status: {
        capacity,
        allocatable: capacity,
        nodeInfo: {
          architecture: "amd64",
          operatingSystem: "linux",
          kubeletVersion: "v1.36.3",
          kubeProxyVersion: "v1.36.3",
          containerRuntimeVersion: "containerd://kwok",
          kernelVersion: "kwok",
          osImage: "kwok",
          bootID: "",
          machineID: "",
          systemUUID: "",
        },
      },
    }),
  });
  await waitUntil(`kwok node ${name} Ready`, async () =>
    (await kubectlJson(["get", "node", name])).status.conditions?.some(
      (c: { type: string; status: string }) => c.type === "Ready" && c.status === "True",
    ),
  );
}
