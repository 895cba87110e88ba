/**
 * What deploy reads from the cluster before it applies, on the test bed's API server and kwok nodes:
 * GPU nodes labelled the GKE, AKS or EKS way (the plan uses their labels, with a warning at the file's
 * resources.gpu naming the node_labels to write, or exit 2 naming them), a node driver older than the image's CUDA floor (exit 2 before anything is
 * applied), a namespace whose PodSecurity, ResourceQuota or LimitRange refuses the pod (exit 2 before
 * the apply; a quota the ReplicaSet hits after it: exit 6 at once), and a cache claim no StorageClass binds.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { workdir } from "../support/cli.ts";
import {
  cliIn,
  kubectl,
  kubectlJson,
  kwokGpuNode,
  podsOf,
  resourceVersions,
  waitUntil,
  withNamespaceFreed,
} from "./kubernetes-support.ts";

const ID = randomBytes(3).toString("hex");
/** every node of this file carries this taint (and its apps tolerate it), so other tests' pods stay off them */
const TAINT = { key: "cpf-test", value: ID, effect: "NoSchedule" };
const TOLERATE = `pod_template:\n  spec:\n    tolerations: [{key: cpf-test, operator: Exists, effect: NoSchedule}]\n`;
const GFD_DRIVER = (v: string) => {
  const [major, minor, rev] = v.split(".");
  return {
    "nvidia.com/cuda.driver-version.full": v,
    "nvidia.com/cuda.driver.major": major!,
    "nvidia.com/cuda.driver.minor": minor!,
    "nvidia.com/cuda.driver.rev": rev!,
  };
};
const nodes: string[] = [];
const classes: string[] = [];
let ns: string;
let cleanup: () => Promise<void>;

/** A kwok GPU node of this file's (its label and taint), deleted at the end. */
async function kwokNode(
  name: string,
  labels: Record<string, string>,
  taints: { key: string; value: string; effect: string }[] = [],
): Promise<void> {
  nodes.push(name);
  await kwokGpuNode(name, { "cpf-test": ID, ...labels }, [TAINT, ...taints]);
}

function app(name: string, body: string, namespace = ns) {
  const dir = workdir({ "vllm-app.yaml": `name: ${name}\nmodel_path: /models/m\n${body}` });
  const cli = cliIn(dir);
  return { dir, cli, deploy: (...extra: string[]) => cli(["deploy", "-n", namespace, "--timeout", "10m", ...extra]) };
}

async function nodeOf(namespace: string, name: string): Promise<string[]> {
  return (await podsOf(namespace, name)).map((p: any) => p.spec.nodeName);
}

before(async () => {
  ({ ns, cleanup } = await withNamespaceFreed("vk-cpf"));
});

after(async () => {
  await cleanup();
  if (nodes.length) await kubectl(["delete", "node", ...nodes, "--wait=true", "--timeout=60s"], { allowFail: true });
  if (classes.length) await kubectl(["delete", "storageclass", ...classes], { allowFail: true });
});

test("a T4 node labelled only the GKE way: deploy selects it with the GKE label, says which node_labels to write, and the pod runs there", async () => {
  const node = `cpf-gke-t4-${ID}`;
  await kwokNode(
    node,
    {
      "cloud.google.com/gke-accelerator": "nvidia-tesla-t4",
      "cloud.google.com/gke-nodepool": "t4-pool",
      "node.kubernetes.io/instance-type": "n1-standard-8",
    },
    [{ key: "nvidia.com/gpu", value: "present", effect: "NoSchedule" }],
  );
  const a = app("cpf-gke", `resources: {gpu: "T4:1", cpu: "1", memory: 2Gi}\n${TOLERATE}`);
  const r = a.deploy();
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `^warning: vllm-app\\.yaml:\\d+:\\d+ resources\\.gpu: cpf-gke: no node has nvidia\\.com/gpu\\.product in \\(Tesla-T4\\) \\(GPU feature discovery's labels, the default\\), but 1 GPU node with T4 \\(${node}\\) is labelled the GKE way \\(cloud\\.google\\.com/gke-accelerator\\): deploying with node_labels: \\{scheme: gke\\}; write it in vllm-app\\.yaml to make it explicit$`,
      "m",
    ),
  );
  // GKE's nodes do not carry GPU feature discovery's driver labels: one line, no stop
  assert.match(
    r.stderr,
    /^note: cpf-gke: 1 of the GPU nodes that fit do not label their NVIDIA driver version .*CUDA 13\.0: driver 580\.65\.06 or newer\)$/m,
  );
  assert.deepEqual(await nodeOf(ns, "cpf-gke"), [node]);
  const dep = await kubectlJson(["-n", ns, "get", "deployment", "cpf-gke"]);
  assert.deepEqual(
    dep.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]
      .matchExpressions,
    [{ key: "cloud.google.com/gke-accelerator", operator: "In", values: ["nvidia-tesla-t4"] }],
  );

  // a file that names another scheme is not overridden: exit 2 naming the node_labels to write, nothing changes
  const before = await resourceVersions(ns, "cpf-gke");
  const named = app(
    "cpf-gke",
    `resources: {gpu: "T4:1", cpu: "1", memory: 2Gi}\nnode_labels: {scheme: karpenter}\n${TOLERATE}`,
  );
  const refused = named.deploy();
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(
    refused.stderr,
    new RegExp(
      `^ {2}- no node has karpenter\\.k8s\\.aws/instance-gpu-name in \\(t4\\) \\(node_labels: \\{scheme: karpenter\\}\\), so the pod would stay Pending; 1 GPU node with T4 \\(${node}\\) is labelled the GKE way`,
      "m",
    ),
  );
  assert.match(refused.stderr, /^ {2}hint: write node_labels: \{scheme: gke\} in vllm-app\.yaml$/m);
  assert.deepEqual(await resourceVersions(ns, "cpf-gke"), before);
  assert.equal(a.cli(["delete", "cpf-gke", "-n", ns]).code, 0);
});

test("AKS (only the VM size and the sku=gpu taint) and EKS managed nodes (only the instance type): the pod is scheduled on them", async () => {
  const aksNode = `cpf-aks-v100-${ID}`;
  await kwokNode(
    aksNode,
    {
      "kubernetes.azure.com/accelerator": "nvidia",
      "kubernetes.azure.com/agentpool": "gpunp",
      "node.kubernetes.io/instance-type": "Standard_NC6s_v3",
    },
    [{ key: "sku", value: "gpu", effect: "NoSchedule" }],
  );
  const aks = app("cpf-aks", `resources: {gpu: "V100:1", cpu: "1", memory: 2Gi}\n${TOLERATE}`);
  const r = aks.deploy();
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `^warning: vllm-app\\.yaml:\\d+:\\d+ resources\\.gpu: cpf-aks: .* 1 GPU node with V100 \\(${aksNode}\\) is labelled the AKS way \\(node\\.kubernetes\\.io/instance-type\\): deploying with node_labels: \\{scheme: aks\\}`,
      "m",
    ),
  );
  assert.deepEqual(await nodeOf(ns, "cpf-aks"), [aksNode]);

  const eksNode = `cpf-eks-l40s-${ID}`;
  await kwokNode(eksNode, { "node.kubernetes.io/instance-type": "g6e.2xlarge", "eks.amazonaws.com/nodegroup": "gpu" });
  const eks = app("cpf-eks", `resources: {gpu: "L40s:1", cpu: "1", memory: 2Gi}\n${TOLERATE}`);
  const e = eks.deploy();
  assert.equal(e.code, 0, e.stderr);
  assert.match(
    e.stderr,
    /^warning: vllm-app\.yaml:\d+:\d+ resources\.gpu: cpf-eks: .* is labelled by EC2 instance type only \(node\.kubernetes\.io\/instance-type: g6e\.2xlarge\): deploying with node_labels: \{scheme: \{key: node\.kubernetes\.io\/instance-type, values: \{L40s: \[g6e\.2xlarge\]\}\}\}/m,
  );
  assert.deepEqual(await nodeOf(ns, "cpf-eks"), [eksNode]);
  assert.equal(aks.cli(["delete", "cpf-aks", "-n", ns]).code, 0);
  assert.equal(eks.cli(["delete", "cpf-eks", "-n", ns]).code, 0);
});

test("a node driver older than the image's CUDA floor stops deploy before anything is applied, naming it; a new enough driver deploys", async () => {
  const node = `cpf-h200-${ID}`;
  await kwokNode(node, {
    "nvidia.com/gpu.present": "true",
    "nvidia.com/gpu.product": "NVIDIA-H200",
    ...GFD_DRIVER("575.57.08"),
  });
  const a = app(
    "cpf-cuda",
    `image: vllm/vllm-openai:v0.33.0\nresources: {gpu: "H200:1", cpu: "1", memory: 2Gi}\n${TOLERATE}`,
  );
  const r = a.deploy();
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `^ {2}- the image vllm/vllm-openai:v0\\.33\\.0 is built for CUDA 13\\.0 and needs NVIDIA driver 580\\.65\\.06 or newer; the GPU nodes that fit \\(${node}\\) have driver 575\\.57\\.08`,
      "m",
    ),
  );
  assert.match(
    r.stderr,
    /^ {2}hint: set image: vllm\/vllm-openai:v0\.19\.1 in cpf-cuda's file \(the newest catalogued release those nodes run: CUDA 12\.8, driver 570\.26 or newer\), or upgrade the nodes' NVIDIA driver to 580\.65\.06 or newer$/m,
  );
  assert.deepEqual(await resourceVersions(ns, "cpf-cuda"), {}, "nothing was applied");
  await kubectl([
    "label",
    "node",
    node,
    "--overwrite",
    ...Object.entries(GFD_DRIVER("580.82.07")).map(([k, v]) => `${k}=${v}`),
  ]);
  const ok = a.deploy();
  assert.equal(ok.code, 0, ok.stderr);
  assert.doesNotMatch(ok.stderr, /driver/);
  assert.deepEqual(await nodeOf(ns, "cpf-cuda"), [node]);
  assert.equal(a.cli(["delete", "cpf-cuda", "-n", ns]).code, 0);
});

test("a namespace whose PodSecurity or LimitRange refuses the pod: exit 2 before anything is applied, naming the rule", async () => {
  const restricted = await withNamespaceFreed("vk-cpf-pss");
  try {
    await kubectl(["label", "namespace", restricted.ns, "pod-security.kubernetes.io/enforce=restricted"]);
    const a = app(
      "cpf-pss",
      `resources: {gpu: "L4:1", cpu: "1", memory: 2Gi}\npod_template:\n  spec:\n    hostPID: true\n`,
      restricted.ns,
    );
    const r = a.deploy();
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^ {2}- namespace ${restricted.ns} refuses the pod: violates PodSecurity "restricted:latest": .*host namespaces \\(hostPID=true\\).* \\(PodSecurity "restricted:latest"\\)$`,
        "m",
      ),
    );
    assert.match(
      r.stderr,
      /^ {2}hint: the namespace enforces Pod Security level "restricted" \(its label pod-security\.kubernetes\.io\/enforce\)/m,
    );
    assert.deepEqual(await resourceVersions(restricted.ns, "cpf-pss"), {}, "nothing was applied");

    await kubectl(["label", "namespace", restricted.ns, "pod-security.kubernetes.io/enforce-"]);
    await kubectl(["-n", restricted.ns, "create", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "v1",
        kind: "LimitRange",
        metadata: { name: "small" },
        spec: { limits: [{ type: "Container", max: { memory: "1Gi" } }] },
      }),
    });
    const limited = app("cpf-limits", `resources: {gpu: "L4:1", cpu: "1", memory: 2Gi}\n`, restricted.ns).deploy();
    assert.equal(limited.code, 2, limited.stderr);
    assert.match(
      limited.stderr,
      new RegExp(
        `^ {2}- namespace ${restricted.ns} refuses the pod: maximum memory usage per Container is 1Gi, but limit is \\S+ \\(LimitRange\\)$`,
        "m",
      ),
    );
    assert.match(
      limited.stderr,
      new RegExp(
        `^ {2}hint: a LimitRange of namespace ${restricted.ns} \\(kubectl describe limitrange -n ${restricted.ns}\\)`,
        "m",
      ),
    );
    assert.deepEqual(await resourceVersions(restricted.ns, "cpf-limits"), {});
  } finally {
    await restricted.cleanup();
  }
});

test("a ResourceQuota: a pod it refuses stops deploy before the apply (exit 2); the ReplicaSet's refusal after the apply is diagnosed at once (exit 6)", async () => {
  const quota = await withNamespaceFreed("vk-cpf-quota");
  try {
    await kubectl(["-n", quota.ns, "create", "quota", "cpf-gpus", "--hard=requests.nvidia.com/gpu=1"]);
    await waitUntil(
      "the quota counted",
      async () =>
        (await kubectlJson(["-n", quota.ns, "get", "quota", "cpf-gpus"])).status?.used?.["requests.nvidia.com/gpu"] !==
        undefined,
    );
    const big = app("cpf-big", `resources: {gpu: "L4:2", cpu: "1", memory: 2Gi}\n`, quota.ns).deploy();
    assert.equal(big.code, 2, big.stderr);
    assert.match(
      big.stderr,
      new RegExp(
        `^ {2}- namespace ${quota.ns} refuses the pod: exceeded quota: cpf-gpus, requested: requests\\.nvidia\\.com/gpu=2, used: requests\\.nvidia\\.com/gpu=0, limited: requests\\.nvidia\\.com/gpu=1 \\(ResourceQuota cpf-gpus\\)$`,
        "m",
      ),
    );
    assert.deepEqual(await resourceVersions(quota.ns, "cpf-big"), {});
    // the app's own running pod fills the quota: a change rolls out (maxSurge 0 replaces it), no refusal
    const one = app("cpf-one", `resources: {gpu: "L4:1", cpu: "1", memory: 2Gi}\n`, quota.ns);
    assert.equal(one.deploy().code, 0);
    writeFileSync(
      path.join(one.dir, "vllm-app.yaml"),
      `name: cpf-one\nmodel_path: /models/m\nresources: {gpu: "L4:1", cpu: "1", memory: 2Gi}\nstartup_timeout: 31m\n`,
    );
    const rolled = one.deploy();
    assert.equal(rolled.code, 0, rolled.stderr);
    assert.equal(one.cli(["delete", "cpf-one", "-n", quota.ns]).code, 0);
    // until the quota controller has counted cpf-one's pod out, the next app's own dry run is refused
    // (exit 2, before the apply): this case is about the refusal after the apply
    await waitUntil(
      "the quota freed",
      async () =>
        (await kubectlJson(["-n", quota.ns, "get", "quota", "cpf-gpus"])).status?.used?.["requests.nvidia.com/gpu"] ===
        "0",
    );
    // one pod fits the quota (the dry run passes), the second does not: the ReplicaSet says so, deploy stops
    const two = app("cpf-two", `resources: {gpu: "L4:1", cpu: "1", memory: 2Gi}\nscaling: {replicas: 2}\n`, quota.ns);
    const r = two.deploy();
    assert.equal(r.code, 6, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^error: cpf-two failed: ReplicaSet cpf-two-\\w+ cannot create pods \\(ResourceQuota cpf-gpus\\): namespace ${quota.ns} refuses the pod: exceeded quota: cpf-gpus`,
        "m",
      ),
    );
    assert.match(
      r.stderr,
      new RegExp(
        `^ {2}hint: the ResourceQuota cpf-gpus of namespace ${quota.ns} \\(kubectl describe resourcequota cpf-gpus -n ${quota.ns}\\)`,
        "m",
      ),
    );
  } finally {
    await quota.cleanup();
  }
});

test("a cache claim no StorageClass can bind: exit 2 naming the class and the fix", async () => {
  const ebs = `cpf-ebs-${ID}`;
  classes.push(ebs);
  await kubectl(["create", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: { name: ebs },
      provisioner: "ebs.csi.aws.com",
      volumeBindingMode: "WaitForFirstConsumer",
    }),
  });
  const rwx = app(
    "cpf-rwx",
    `resources: {gpu: "L4:1", cpu: "1", memory: 2Gi}\ncache: {size: 10Gi, access_mode: ReadWriteMany, storage_class: ${ebs}}\n`,
  ).deploy();
  assert.equal(rwx.code, 2, rwx.stderr);
  assert.match(
    rwx.stderr,
    new RegExp(
      `^ {2}- cache\\.access_mode ReadWriteMany: the claim cpf-rwx-cache would use StorageClass ${ebs}, whose provisioner ebs\\.csi\\.aws\\.com \\(Amazon EBS\\) binds ReadWriteOnce volumes only, so it would never bind$`,
      "m",
    ),
  );
  assert.match(
    rwx.stderr,
    /^ {2}hint: set cache\.storage_class to a class that serves ReadWriteMany: Amazon EFS \(efs\.csi\.aws\.com\)/m,
  );
  const missing = app(
    "cpf-nosc",
    `resources: {gpu: "L4:1", cpu: "1", memory: 2Gi}\ncache: {size: 10Gi, storage_class: cpf-missing-${ID}}\n`,
  ).deploy();
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(
    missing.stderr,
    new RegExp(
      `^ {2}- cache\\.storage_class: StorageClass cpf-missing-${ID} does not exist, so the claim cpf-nosc-cache would never bind$`,
      "m",
    ),
  );
  assert.deepEqual(await resourceVersions(ns, "cpf-rwx"), {});
  assert.deepEqual(await resourceVersions(ns, "cpf-nosc"), {});
});
