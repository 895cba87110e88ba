/**
 * What vllmapp reads from the cluster (pure parts): the labelling of GPU nodes a plan chooses when the file
 * names none (GKE, AKS, Karpenter, EKS instance types), what deploy's preflight finds (labelled another way,
 * the device plugin alone), the nodes' driver against the
 * image's CUDA floor, the StorageClasses a cache claim needs, and which rule an admission refusal names.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  checkGpuNodes,
  chooseGpuScheme,
  compareDrivers,
  cudaFloorOf,
  driverOf,
  type CudaFloor,
} from "../../../src/cluster/gpu-nodes.ts";
import { explainRefusal, replicaFailure } from "../../../src/cluster/diagnose.ts";
import { claimProblems } from "../../../src/cluster/storage.ts";
import type { AppConfig } from "../../../src/config/schema.ts";
import type { K8sObject } from "../../../src/render/types.ts";
import { planYaml } from "../../support/plan.ts";

async function rendered(yaml: string): Promise<{ app: AppConfig; objects: K8sObject[] }> {
  const p = await planYaml(yaml);
  assert.deepEqual(
    p.errors.map((e) => e.message),
    [],
  );
  return { app: p.apps[0]!.loaded.config, objects: p.apps[0]!.rendered.objects! };
}

const node = (name: string, labels: Record<string, string>, gpus = "8") => ({
  apiVersion: "v1",
  kind: "Node",
  metadata: { name, labels: { "kubernetes.io/hostname": name, ...labels } },
  status: { allocatable: { cpu: "96", "nvidia.com/gpu": gpus }, capacity: { "nvidia.com/gpu": gpus } },
});
const cpuNode = node("cpu-0", {}, "0");
const affinityOf = (objects: K8sObject[]) =>
  (objects.find((o) => o.kind === "Deployment") as any).spec.template.spec.affinity.nodeAffinity
    .requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions;
const tolerationsOf = (objects: K8sObject[]) =>
  (objects.find((o) => o.kind === "Deployment") as any).spec.template.spec.tolerations;
const T4 = 'name: t4app\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources: {gpu: "T4:1"}\n';

/**
 * As a plan over these nodes does: the labelling chosen, the objects rendered with it (the file with the
 * chosen node_labels written), and what deploy's preflight then finds over the same nodes.
 */
async function planned(yaml: string, nodes: ReturnType<typeof node>[], file = "vllm-app.yaml") {
  const { app, objects } = await rendered(yaml);
  const choice = chooseGpuScheme(app, file, objects, nodes);
  assert.ok(choice, "a labelling is chosen");
  const again = await rendered(`${yaml}node_labels: {scheme: ${JSON.stringify(choice.scheme)}}\n`);
  return {
    choice,
    objects: again.objects,
    preflight: checkGpuNodes(app, file, again.objects, nodes, undefined, choice.scheme),
  };
}

test("GFD-labelled nodes that have the type: nothing is chosen, nothing is said", async () => {
  const { app, objects } = await rendered(T4);
  const nodes = [cpuNode, node("gfd-t4", { "nvidia.com/gpu.product": "Tesla-T4" })];
  assert.equal(chooseGpuScheme(app, "vllm-app.yaml", objects, nodes), undefined);
  assert.deepEqual(checkGpuNodes(app, "vllm-app.yaml", objects, nodes), { notes: [], problems: [] });
});

test("only GKE-labelled T4 nodes: the plan chooses the GKE labels, with a warning naming the node_labels to write; the preflight finds nothing", async () => {
  const nodes = [
    cpuNode,
    node("gke-t4-0", { "cloud.google.com/gke-accelerator": "nvidia-tesla-t4" }),
    node("gke-l4-0", { "cloud.google.com/gke-accelerator": "nvidia-l4" }),
  ];
  const r = await planned(T4, nodes, "cfg/vllm-app.yaml");
  assert.deepEqual(r.choice, {
    scheme: "gke",
    warning:
      "t4app: no node has nvidia.com/gpu.product in (Tesla-T4) (GPU feature discovery's labels, the default), but 1 GPU node with T4 (gke-t4-0) is labelled the GKE way (cloud.google.com/gke-accelerator): deploying with node_labels: {scheme: gke}; write it in cfg/vllm-app.yaml to make it explicit",
  });
  assert.deepEqual(affinityOf(r.objects), [
    { key: "cloud.google.com/gke-accelerator", operator: "In", values: ["nvidia-tesla-t4"] },
  ]);
  assert.deepEqual(r.preflight, { notes: [], problems: [] });
});

test("the pod's nodeSelector (cluster_pool) narrows the nodes the labelling is chosen from", async () => {
  const { app, objects } = await rendered(`${T4}cluster_pool: serving\n`);
  const gkeOtherPool = node("gke-t4-0", { "cloud.google.com/gke-accelerator": "nvidia-tesla-t4" });
  assert.equal(chooseGpuScheme(app, "vllm-app.yaml", objects, [gkeOtherPool]), undefined);
  const inPool = node("gke-t4-1", {
    "cloud.google.com/gke-accelerator": "nvidia-tesla-t4",
    "vllmapp.dev/pool": "serving",
  });
  assert.equal(chooseGpuScheme(app, "vllm-app.yaml", objects, [gkeOtherPool, inPool])?.scheme, "gke");
});

test("a file that names node_labels, an app without a GPU type, a cluster without GPU nodes: nothing is chosen", async () => {
  const gke = [node("gke-t4-0", { "cloud.google.com/gke-accelerator": "nvidia-tesla-t4" })];
  for (const yaml of [`${T4}node_labels: {scheme: karpenter}\n`, `${T4}node_labels: {scheme: gfd}\n`]) {
    const { app, objects } = await rendered(yaml);
    assert.equal(chooseGpuScheme(app, "vllm-app.yaml", objects, gke), undefined, yaml);
  }
  const any = await rendered("name: anyapp\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources: {gpu: 1}\n");
  assert.equal(chooseGpuScheme(any.app, "vllm-app.yaml", any.objects, gke), undefined);
  const t4 = await rendered(T4);
  assert.equal(chooseGpuScheme(t4.app, "vllm-app.yaml", t4.objects, [cpuNode]), undefined);
});

test("AKS nodes (VM size only) get the aks scheme and its sku=gpu toleration; EKS managed nodes are matched by instance type; Karpenter by its labels", async () => {
  const aks = await planned(T4, [
    node("aks-gpu-0", {
      "kubernetes.azure.com/accelerator": "nvidia",
      "node.kubernetes.io/instance-type": "Standard_NC8as_T4_v3",
    }),
  ]);
  assert.match(
    aks.choice.warning,
    /is labelled the AKS way \(node\.kubernetes\.io\/instance-type\): deploying with node_labels: \{scheme: aks\}/,
  );
  assert.deepEqual(affinityOf(aks.objects), [
    {
      key: "node.kubernetes.io/instance-type",
      operator: "In",
      values: ["Standard_NC4as_T4_v3", "Standard_NC8as_T4_v3", "Standard_NC16as_T4_v3", "Standard_NC64as_T4_v3"],
    },
  ]);
  assert.deepEqual(
    tolerationsOf(aks.objects).filter((t: { key: string }) => t.key === "sku"),
    [{ key: "sku", operator: "Equal", value: "gpu", effect: "NoSchedule" }],
  );
  assert.deepEqual(aks.preflight.problems, []);
  const eks = await planned(T4, [
    node("ip-1", { "node.kubernetes.io/instance-type": "g4dn.xlarge" }, "1"),
    node("ip-2", { "node.kubernetes.io/instance-type": "g4dn.12xlarge" }, "4"),
  ]);
  assert.match(
    eks.choice.warning,
    /2 GPU nodes with T4 \(ip-1, ip-2\) are labelled by EC2 instance type only \(node\.kubernetes\.io\/instance-type: g4dn\.12xlarge, g4dn\.xlarge\): deploying with node_labels: \{scheme: \{key: node\.kubernetes\.io\/instance-type, values: \{T4: \[g4dn\.12xlarge, g4dn\.xlarge\]\}\}\}/,
  );
  assert.deepEqual(affinityOf(eks.objects), [
    { key: "node.kubernetes.io/instance-type", operator: "In", values: ["g4dn.12xlarge", "g4dn.xlarge"] },
  ]);
  assert.deepEqual(eks.preflight.problems, []);
  const karpenter = await planned(T4, [node("k-0", { "karpenter.k8s.aws/instance-gpu-name": "t4" })]);
  assert.equal(karpenter.choice.scheme, "karpenter");
  assert.deepEqual(affinityOf(karpenter.objects), [
    { key: "karpenter.k8s.aws/instance-gpu-name", operator: "In", values: ["t4"] },
  ]);
});

test("the preflight rewrites nothing: a file that names node_labels, or a plan that chose none, is an exit-2 problem naming the node_labels to write", async () => {
  const gke = [node("gke-t4-0", { "cloud.google.com/gke-accelerator": "nvidia-tesla-t4" })];
  const { app, objects } = await rendered(`${T4}node_labels: {scheme: karpenter}\n`);
  const r = checkGpuNodes(app, "vllm-app.yaml", objects, gke);
  assert.deepEqual(r, {
    notes: [],
    problems: [
      {
        message:
          "no node has karpenter.k8s.aws/instance-gpu-name in (t4) (node_labels: {scheme: karpenter}), so the pod would stay Pending; 1 GPU node with T4 (gke-t4-0) is labelled the GKE way (cloud.google.com/gke-accelerator)",
        hint: "write node_labels: {scheme: gke} in vllm-app.yaml",
      },
    ],
  });
  // nodes the plan did not see (it could not list them): said, not switched
  const unplanned = await rendered(T4);
  assert.deepEqual(
    checkGpuNodes(unplanned.app, "vllm-app.yaml", unplanned.objects, gke).problems.map((p) => p.hint),
    ["write node_labels: {scheme: gke} in vllm-app.yaml"],
  );
});

test("GPU nodes with none of the scheme's labels and not the type: exit 2 naming how they are labelled; the device plugin alone: how to label them", async () => {
  const { app, objects } = await rendered(T4);
  const gke = checkGpuNodes(app, "vllm-app.yaml", objects, [
    node("gke-l4-0", { "cloud.google.com/gke-accelerator": "nvidia-l4" }),
  ]);
  assert.equal(
    gke.problems[0]!.message,
    "no node has nvidia.com/gpu.product in (Tesla-T4): none of the 1 GPU node (gke-l4-0) has the label nvidia.com/gpu.product (node_labels: {scheme: gfd}), so the pod would stay Pending",
  );
  assert.equal(
    gke.problems[0]!.hint,
    "the GPU nodes are labelled the GKE way (cloud.google.com/gke-accelerator: nvidia-l4): set resources.gpu to a type they have and write node_labels: {scheme: …} of that labelling in vllm-app.yaml",
  );
  const plain = checkGpuNodes(app, "vllm-app.yaml", objects, [
    node("onprem-0", { "node.kubernetes.io/instance-type": "dell-r760xa" }),
  ]);
  assert.equal(
    plain.problems[0]!.hint,
    "the nodes have the device plugin's nvidia.com/gpu but no GPU model label: install NVIDIA GPU feature discovery (the GPU operator) for nvidia.com/gpu.product, or name the nodes' own label in vllm-app.yaml: node_labels: {scheme: {key: node.kubernetes.io/instance-type, values: {T4: [dell-r760xa]}}}",
  );
  // GFD nodes of other types: an autoscaler may add a T4 one; the wait says what the scheduler says
  assert.deepEqual(
    checkGpuNodes(app, "vllm-app.yaml", objects, [node("gfd-l4", { "nvidia.com/gpu.product": "NVIDIA-L4" })]).problems,
    [],
  );
  // no GPU node at all (scaled to zero): nothing to judge
  assert.deepEqual(checkGpuNodes(app, "vllm-app.yaml", objects, [cpuNode]).problems, []);
});

const FLOOR: CudaFloor = {
  image: "vllm/vllm-openai:v0.33.0",
  version: "13.0",
  min_driver: "580.65.06",
  newestFor: (d) =>
    compareDrivers(d, "575.51.03") >= 0
      ? { image: "vllm/vllm-openai:v0.19.0", version: "12.9", min_driver: "575.51.03" }
      : undefined,
};
const GFD_T4 = { "nvidia.com/gpu.product": "Tesla-T4" };

test("the driver of the nodes that fit against the image's CUDA floor: too old stops (exit 2) naming the driver and the newest image they run", async () => {
  const { app, objects } = await rendered(T4);
  const old = checkGpuNodes(
    app,
    "vllm-app.yaml",
    objects,
    [
      node("t4-old", {
        ...GFD_T4,
        "nvidia.com/cuda.driver.major": "575",
        "nvidia.com/cuda.driver.minor": "57",
        "nvidia.com/cuda.driver.rev": "08",
      }),
    ],
    FLOOR,
  );
  assert.deepEqual(old.problems, [
    {
      message:
        'the image vllm/vllm-openai:v0.33.0 is built for CUDA 13.0 and needs NVIDIA driver 580.65.06 or newer; the GPU nodes that fit (t4-old) have driver 575.57.08, so it would crash at start ("unsupported display driver / cuda driver combination")',
      hint: "set image: vllm/vllm-openai:v0.19.0 in t4app's file (the newest catalogued release those nodes run: CUDA 12.9, driver 575.51.03 or newer), or upgrade the nodes' NVIDIA driver to 580.65.06 or newer",
    },
  ]);
  const older = checkGpuNodes(
    app,
    "vllm-app.yaml",
    objects,
    [node("t4-older", { ...GFD_T4, "nvidia.com/cuda.driver-version.full": "535.104.12" })],
    FLOOR,
  );
  assert.equal(
    older.problems[0]!.hint,
    "upgrade the nodes' NVIDIA driver to 580.65.06 or newer (no catalogued vLLM image runs on driver 535.104.12)",
  );
  const mixed = checkGpuNodes(
    app,
    "vllm-app.yaml",
    objects,
    [
      node("t4-old", { ...GFD_T4, "nvidia.com/cuda.driver-version.full": "570.124.06" }),
      node("t4-new", { ...GFD_T4, "nvidia.com/cuda.driver-version.full": "580.82.07" }),
    ],
    FLOOR,
  );
  assert.deepEqual([mixed.problems, mixed.notes], [[], []], "one node that runs it is enough");
  const unknown = checkGpuNodes(
    app,
    "vllm-app.yaml",
    objects,
    [node("t4-old", { ...GFD_T4, "nvidia.com/cuda.driver-version.full": "570.124.06" }), node("t4-unlabelled", GFD_T4)],
    FLOOR,
  );
  assert.deepEqual(unknown.problems, []);
  assert.deepEqual(unknown.notes, [
    "t4app: 1 of the GPU nodes that fit do not label their NVIDIA driver version (GPU feature discovery's nvidia.com/cuda.driver-version.*), so vllmapp cannot check that they run vllm/vllm-openai:v0.33.0 (CUDA 13.0: driver 580.65.06 or newer)",
  ]);
  // only the nodes the pod may run on count: an old-driver L4 node does not stop a T4 app
  assert.deepEqual(
    checkGpuNodes(
      app,
      "vllm-app.yaml",
      objects,
      [
        node("l4-old", { "nvidia.com/gpu.product": "NVIDIA-L4", "nvidia.com/cuda.driver-version.full": "535.1" }),
        node("t4-new", { ...GFD_T4, "nvidia.com/cuda.driver-version.full": "580.65.06" }),
      ],
      FLOOR,
    ).problems,
    [],
  );
});

test("driver labels and versions read as GPU feature discovery writes them", () => {
  assert.equal(
    driverOf(
      node("a", {
        "nvidia.com/cuda.driver.major": "550",
        "nvidia.com/cuda.driver.minor": "120",
        "nvidia.com/cuda.driver.rev": "",
      }) as any,
    ),
    "550.120",
  );
  assert.equal(
    driverOf(
      node("b", { "nvidia.com/cuda.driver-version.full": "580.105.08", "nvidia.com/cuda.driver.major": "1" }) as any,
    ),
    "580.105.08",
  );
  assert.equal(driverOf(node("c", {}) as any), undefined);
  assert.ok(compareDrivers("580.65.06", "575.57.08") > 0);
  assert.ok(compareDrivers("575.51.03", "575.51.3") === 0);
  assert.ok(compareDrivers("570.124.06", "570.26") > 0);
});

test("the CUDA floor comes from the image's release catalog, only for vLLM's own CUDA images", async () => {
  const { app } = await rendered(`${T4}image: vllm/vllm-openai:v0.33.0\n`);
  const floor = cudaFloorOf(app);
  assert.deepEqual(floor && { image: floor.image, version: floor.version, min_driver: floor.min_driver }, {
    image: "vllm/vllm-openai:v0.33.0",
    version: "13.0",
    min_driver: "580.65.06",
  });
  const newest = floor!.newestFor("575.57.08");
  // the newest catalogued release built for CUDA 12.8: the patch release 0.19.1
  assert.deepEqual(newest && { image: newest.image, version: newest.version, min_driver: newest.min_driver }, {
    image: "vllm/vllm-openai:v0.19.1",
    version: "12.8",
    min_driver: "570.26",
  });
  assert.equal(floor!.newestFor("550.120"), undefined);
  assert.equal(cudaFloorOf((await rendered(`${T4}image: vllm/vllm-openai:v0.33.0-cu129\n`)).app), undefined);
  assert.equal(cudaFloorOf((await rendered(`${T4}image: registry.example.com/my-vllm:v0.33.0\n`)).app), undefined);
});

const sc = (name: string, provisioner: string, isDefault = false) => ({
  apiVersion: "storage.k8s.io/v1",
  kind: "StorageClass",
  metadata: { name, ...(isDefault ? { annotations: { "storageclass.kubernetes.io/is-default-class": "true" } } : {}) },
  provisioner,
});

test("a cache claim no StorageClass binds is named with the fix", async () => {
  const rwx = await rendered(`${T4}cache: {size: 50Gi, access_mode: ReadWriteMany}\n`);
  const gke = [sc("standard-rwo", "pd.csi.storage.gke.io", true), sc("premium-rwo", "pd.csi.storage.gke.io")];
  assert.deepEqual(claimProblems(rwx.objects, gke, new Set(), "t4app-cache", []), [
    {
      message:
        "cache.access_mode ReadWriteMany: the claim t4app-cache would use StorageClass standard-rwo (the default), whose provisioner pd.csi.storage.gke.io (GKE Persistent Disk) binds ReadWriteOnce volumes only, so it would never bind",
      hint: "set cache.storage_class to a class that serves ReadWriteMany: Filestore (filestore.csi.storage.gke.io, e.g. class standard-rwx); or cache.access_mode: ReadWriteOnce (one node's pods share it)",
    },
  ]);
  assert.match(
    claimProblems(
      rwx.objects,
      [sc("gp3", "ebs.csi.aws.com", true), sc("efs-sc", "efs.csi.aws.com")],
      new Set(),
      "t4app-cache",
      [],
    )[0]!.hint,
    /Amazon EFS \(efs\.csi\.aws\.com\).*; classes here that may: efs-sc;/,
  );
  assert.deepEqual(
    claimProblems(rwx.objects, [sc("azurefile-csi", "file.csi.azure.com", true)], new Set(), "t4app-cache", []),
    [],
  );
  assert.deepEqual(
    claimProblems(rwx.objects, gke, new Set(["t4app-cache"]), "t4app-cache", []),
    [],
    "an existing claim is left alone",
  );
  const rwo = await rendered(`${T4}cache: {size: 50Gi}\n`);
  assert.deepEqual(claimProblems(rwo.objects, gke, new Set(), "t4app-cache", []), []);
  assert.deepEqual(claimProblems(rwo.objects, [sc("fast", "ebs.csi.aws.com")], new Set(), "t4app-cache", []), [
    {
      message:
        "the cache claim t4app-cache names no StorageClass and the cluster has no default one, so it would never bind",
      hint: "set cache.storage_class to one of the cluster's classes: fast (ebs.csi.aws.com)",
    },
  ]);
  // a volume made for the claim, or an Available one of its class (none), binds it; volumes not listable: only the certain case
  const pv = (name: string, spec: object, phase = "Available") => ({
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name },
    spec,
    status: { phase },
  });
  assert.deepEqual(
    claimProblems(
      rwo.objects.map((o) => ({ ...o, metadata: { ...o.metadata, namespace: "team-a" } })),
      [],
      new Set(),
      "t4app-cache",
      [pv("pv-1", { claimRef: { namespace: "team-a", name: "t4app-cache" } })],
    ),
    [],
  );
  assert.deepEqual(claimProblems(rwo.objects, [], new Set(), "t4app-cache", [pv("nfs-1", {})]), []);
  assert.equal(claimProblems(rwo.objects, [], new Set(), "t4app-cache", [pv("nfs-1", {}, "Bound")]).length, 1);
  assert.deepEqual(claimProblems(rwo.objects, [], new Set(), "t4app-cache", undefined), []);
  assert.equal(claimProblems(rwx.objects, gke, new Set(), "t4app-cache", undefined).length, 1);
  const named = await rendered(`${T4}cache: {size: 50Gi, storage_class: fsx}\n`);
  assert.deepEqual(
    claimProblems(named.objects, gke, new Set(), "t4app-cache", [pv("fsx-1", { storageClassName: "fsx" })]),
    [],
    "a class with volumes and no StorageClass object",
  );
  assert.deepEqual(claimProblems(named.objects, gke, new Set(), "t4app-cache", []), [
    {
      message: "cache.storage_class: StorageClass fsx does not exist, so the claim t4app-cache would never bind",
      hint: "the cluster's classes: standard-rwo (pd.csi.storage.gke.io), premium-rwo (pd.csi.storage.gke.io)",
    },
  ]);
});

test("an admission refusal names its rule: PodSecurity, ResourceQuota, LimitRange", () => {
  const pss = explainRefusal(
    'pods "x-preflight" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true (pod or container "vllm" must set securityContext.runAsNonRoot=true)',
    "team-a",
  );
  assert.equal(pss.rule, 'PodSecurity "restricted:latest"');
  assert.equal(
    pss.message,
    'namespace team-a refuses the pod: violates PodSecurity "restricted:latest": runAsNonRoot != true (pod or container "vllm" must set securityContext.runAsNonRoot=true)',
  );
  assert.match(pss.hint, /Pod Security level "restricted" \(its label pod-security\.kubernetes\.io\/enforce\)/);
  const quota = explainRefusal(
    'pods "x" is forbidden: exceeded quota: gpu-quota, requested: requests.nvidia.com/gpu=2, used: requests.nvidia.com/gpu=0, limited: requests.nvidia.com/gpu=1',
    "team-a",
  );
  assert.equal(quota.rule, "ResourceQuota gpu-quota");
  assert.match(quota.hint, /kubectl describe resourcequota gpu-quota -n team-a/);
  assert.equal(
    explainRefusal('pods "x" is forbidden: maximum memory usage per Container is 8Gi, but limit is 18Gi', "team-a")
      .rule,
    "LimitRange",
  );
  const rs = {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: "a-5d4",
      uid: "rs",
      annotations: { "deployment.kubernetes.io/revision": "1" },
      ownerReferences: [{ uid: "dep" }],
    },
    status: {
      conditions: [
        {
          type: "ReplicaFailure",
          status: "True",
          reason: "FailedCreate",
          message: 'pods "a-5d4-x" is forbidden: exceeded quota: gpu-quota, requested: requests.nvidia.com/gpu=2',
        },
      ],
    },
  };
  const dep = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "a", uid: "dep", generation: 1, annotations: { "deployment.kubernetes.io/revision": "1" } },
    status: { observedGeneration: 1 },
  };
  const d = replicaFailure(dep as any, [rs as any], "team-a")!;
  assert.equal(d.fatal, true);
  assert.equal(
    d.reason,
    "ReplicaSet a-5d4 cannot create pods (ResourceQuota gpu-quota): namespace team-a refuses the pod: exceeded quota: gpu-quota, requested: requests.nvidia.com/gpu=2",
  );
  assert.equal(replicaFailure(dep as any, [{ ...rs, status: {} } as any], "team-a"), undefined);
  // a rollout's old pod still counts against the quota until it is gone and recounted: shown, not fatal
  assert.equal(replicaFailure(dep as any, [rs as any], "team-a", true)!.fatal, false);
  const sa = {
    ...rs,
    status: {
      conditions: [
        {
          type: "ReplicaFailure",
          status: "True",
          reason: "FailedCreate",
          message:
            'pods "a-5d4-x" is forbidden: error looking up service account team-a/default: serviceaccount "default" not found',
        },
      ],
    },
  };
  assert.deepEqual(
    replicaFailure(dep as any, [sa as any], "team-a")!.fatal,
    false,
    "a ServiceAccount the controller makes in a moment",
  );
  const pssRs = {
    ...rs,
    status: {
      conditions: [
        {
          type: "ReplicaFailure",
          status: "True",
          reason: "FailedCreate",
          message:
            'pods "a-5d4-x" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostPID=true)',
        },
      ],
    },
  };
  assert.equal(replicaFailure(dep as any, [pssRs as any], "team-a", true)!.fatal, true);
  assert.equal(
    explainRefusal(
      'admission webhook "validation.gatekeeper.sh" denied the request: [no-root] containers must not run as root',
      "team-a",
    ).rule,
    "admission webhook validation.gatekeeper.sh",
  );
});
