/**
 * What renders must run on a real cluster (issue 11): each rule renders something Kubernetes and vLLM
 * accept, or stops at render time with the field and the fix, or warns. In-process renders of small
 * configs, as `vllmapp render` makes them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Plan, PlanIo } from "../../../src/app/plan.ts";
import { GPU_TYPES, gpuNodeMatches, LABEL_SCHEMES } from "../../../src/config/gpus.ts";
import { checkPodParallelism as planParallelism } from "../../../src/render/parallelism.ts";
import type { K8sObject, TargetKind } from "../../../src/render/types.ts";
import { planYaml } from "../../support/plan.ts";

const render = (
  yaml: string,
  opts: { target?: TargetKind; dockerGpus?: string; files?: Record<string, string>; resolve?: PlanIo["resolve"] } = {},
): Promise<Plan> => planYaml(yaml, opts);

const lines = (list: Plan["errors"]) =>
  list.map((d) => `${d.line}:${d.col} ${d.path}: ${d.message}${d.hint ? ` | ${d.hint}` : ""}`);
const errorsOf = async (yaml: string, opts?: Parameters<typeof render>[1]) => lines((await render(yaml, opts)).errors);
const warningsOf = async (yaml: string, opts?: Parameters<typeof render>[1]) =>
  lines((await render(yaml, opts)).warnings.filter((d) => d.severity === "warning"));

async function objectsOf(yaml: string): Promise<K8sObject[]> {
  const p = await render(yaml);
  assert.deepEqual(lines(p.errors), []);
  return p.apps[0]!.rendered.objects!;
}
const kind = (objs: K8sObject[], k: string) => objs.filter((o) => o.kind === k);
const podOf = (objs: K8sObject[]) => (kind(objs, "Deployment")[0] as any).spec.template.spec;
const vllmOf = (objs: K8sObject[]) => podOf(objs).containers.find((c: any) => c.name === "vllm");
const BASE = "name: app\nmodel_hf_path: Qwen/Qwen3-8B\n";

// --- 1. the API key on the GitOps path

test("requires_auth {secret, key}: no Secret is rendered and the pod reads the user's Secret", async () => {
  const objs = await objectsOf(`${BASE}resources: {gpu: "L4:1"}\nrequires_auth: {secret: team-keys, key: vllm}\n`);
  assert.equal(kind(objs, "Secret").length, 0);
  const env = vllmOf(objs).env.find((e: any) => e.name === "VLLM_API_KEY");
  assert.deepEqual(env.valueFrom.secretKeyRef, { name: "team-keys", key: "vllm" });
  const dflt = await objectsOf(`${BASE}resources: {gpu: "L4:1"}\nrequires_auth: {secret: team-keys}\n`);
  assert.equal(vllmOf(dflt).env.find((e: any) => e.name === "VLLM_API_KEY").valueFrom.secretKeyRef.key, "VLLM_API_KEY");
});

test("requires_auth {secret, key} on Docker: the key comes from VLLM_API_KEY in the environment, by name", async () => {
  const p = await render(`${BASE}resources: {gpu: "L4:1"}\nrequires_auth: {secret: team-keys, key: vllm}\n`, {
    target: "docker",
  });
  const d = p.apps[0]!.rendered.docker!;
  assert.equal(d.apiKeyFromHost, true);
  assert.ok(d.envFromHost.includes("VLLM_API_KEY"));
  assert.ok(!d.argv.some((a) => a.startsWith("VLLM_API_KEY=")), "never a value on the command line");
  assert.match(
    lines(p.warnings).join("\n"),
    /requires_auth: the local container takes its API key from VLLM_API_KEY .*kubectl get secret team-keys -o jsonpath='\{\.data\.vllm\}'/,
  );
});

// --- 2. parallelism arithmetic

test("planParallelism: tensor = GPUs ÷ (pipeline × data-parallel per pod); a product that is not the GPU count names the numbers", () => {
  assert.deepEqual(planParallelism({ gpus: 8 }), {
    ok: true,
    tensor: 8,
    pipeline: 1,
    dataLocal: 1,
    derivedTensor: true,
  });
  assert.deepEqual(planParallelism({ gpus: 8, pipeline: 2 }), {
    ok: true,
    tensor: 4,
    pipeline: 2,
    dataLocal: 1,
    derivedTensor: true,
  });
  assert.deepEqual(planParallelism({ gpus: 8, data: 2 }), {
    ok: true,
    tensor: 4,
    pipeline: 1,
    dataLocal: 2,
    derivedTensor: true,
  });
  assert.deepEqual(planParallelism({ gpus: 8, data: 4, dataLocal: 2, pipeline: 2 }), {
    ok: true,
    tensor: 2,
    pipeline: 2,
    dataLocal: 2,
    derivedTensor: true,
  });
  assert.deepEqual(planParallelism({ gpus: 4, tensor: 2, pipeline: 2 }), {
    ok: true,
    tensor: 2,
    pipeline: 2,
    dataLocal: 1,
    derivedTensor: false,
  });
  const bad = planParallelism({ gpus: 8, tensor: 2, pipeline: 2 });
  assert.ok(!bad.ok);
  assert.match(bad.message, /tensor 2 × pipeline 2 × data-parallel-per-pod 1 = 4 workers, but the pod asks for 8 GPUs/);
  assert.match(bad.hint, /--tensor-parallel-size 4 \(8 ÷ \(2 × 1\)\)|ask for 4 GPUs/);
  const big = planParallelism({ gpus: 4, tensor: 8 });
  assert.ok(!big.ok && /--tensor-parallel-size 8 is larger than the 4 GPUs/.test(big.message));
  const odd = planParallelism({ gpus: 6, pipeline: 4 });
  assert.ok(!odd.ok && /6 GPUs cannot be split into pipeline 4/.test(odd.message));
});

test("render: the automatic --tensor-parallel-size reads -pp / -dp from extra_args; a mismatch is an error at extra_args", async () => {
  const args = async (extra: string, gpu = "H100:8") =>
    (await render(`${BASE}resources: {gpu: "${gpu}"}\nextra_args: ${extra}\n`)).apps[0]!.rendered.serve.args;
  assert.deepEqual((await args("[-pp, 2]")).slice(-2), ["--tensor-parallel-size", "4"]);
  assert.deepEqual((await args("--data-parallel-size=2")).slice(-2), ["--tensor-parallel-size", "4"]);
  assert.ok(!(await args("[--pipeline_parallel_size, 8]")).includes("--tensor-parallel-size"), "TP 1: nothing added");
  assert.deepEqual(
    await errorsOf(`${BASE}resources: {gpu: "H100:8"}\nextra_args: [--tensor-parallel-size, 2, -pp, 2]\n`),
    [
      "4:13 extra_args: tensor 2 × pipeline 2 × data-parallel-per-pod 1 = 4 workers, but the pod asks for 8 GPUs (resources.gpu); vLLM needs one GPU per worker | set --tensor-parallel-size 4 (8 ÷ (2 × 1)), or ask for 4 GPUs",
    ],
  );
  assert.match(
    (await errorsOf(`${BASE}resources: {gpu: "L4:2"}\nextra_args: -tp 4\n`))[0]!,
    /--tensor-parallel-size 4 is larger than the 2 GPUs the pod asks for/,
  );
});

// --- 3. GPU node labels per scheme

test("every catalog GPU type has values under every scheme, or an error naming it", () => {
  for (const t of GPU_TYPES) {
    for (const scheme of LABEL_SCHEMES) {
      const m = gpuNodeMatches(t, scheme);
      if ("problem" in m) {
        assert.ok(scheme !== "gfd", `gfd must express ${t.name}`);
        assert.match(m.problem, new RegExp(`no ${t.name.replace(/[()]/g, "\\$&")}`));
      } else {
        assert.ok(
          m.matches.length >= 1 && m.matches.every((x) => x.values.length > 0 && x.values.every((v) => v.length > 0)),
          `${t.name}/${scheme}`,
        );
      }
    }
  }
  const get = (name: string, scheme: (typeof LABEL_SCHEMES)[number]) =>
    gpuNodeMatches(
      GPU_TYPES.find((t) => t.name === name)!,
      scheme,
    );
  assert.deepEqual(get("L4", "gke"), { matches: [{ key: "cloud.google.com/gke-accelerator", values: ["nvidia-l4"] }] });
  assert.deepEqual(get("A100", "gke"), {
    matches: [{ key: "cloud.google.com/gke-accelerator", values: ["nvidia-tesla-a100"] }],
  });
  assert.deepEqual(get("A100_80G", "gke"), {
    matches: [{ key: "cloud.google.com/gke-accelerator", values: ["nvidia-a100-80gb"] }],
  });
  assert.deepEqual(get("H100", "gke"), {
    matches: [{ key: "cloud.google.com/gke-accelerator", values: ["nvidia-h100-80gb", "nvidia-h100-mega-80gb"] }],
  });
  assert.deepEqual(get("L4", "karpenter"), {
    matches: [{ key: "karpenter.k8s.aws/instance-gpu-name", values: ["l4"] }],
  });
  assert.deepEqual(get("A100_80G", "karpenter"), {
    matches: [
      { key: "karpenter.k8s.aws/instance-gpu-name", values: ["a100"] },
      { key: "karpenter.k8s.aws/instance-gpu-memory", values: ["81920"] },
    ],
  });
  assert.deepEqual(get("MI300X", "gfd"), {
    matches: [{ key: "amd.com/gpu.product-name", values: ["AMD_Instinct_MI300X_OAM", "AMD_Instinct_MI300X_VF"] }],
  });
});

test("node_labels.scheme renders the scheme's key and values; gpu_product overrides the key; a type the scheme lacks is an error", async () => {
  const affinity = async (extra: string, gpu = "L4:1") =>
    podOf(await objectsOf(`${BASE}resources: {gpu: "${gpu}"}\n${extra}`)).affinity.nodeAffinity
      .requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions;
  assert.deepEqual(await affinity(""), [{ key: "nvidia.com/gpu.product", operator: "In", values: ["NVIDIA-L4"] }]);
  assert.deepEqual(await affinity("node_labels: {scheme: gke}\n"), [
    { key: "cloud.google.com/gke-accelerator", operator: "In", values: ["nvidia-l4"] },
  ]);
  assert.deepEqual(await affinity("node_labels: {scheme: karpenter}\n"), [
    { key: "karpenter.k8s.aws/instance-gpu-name", operator: "In", values: ["l4"] },
  ]);
  assert.deepEqual(await affinity("node_labels: {scheme: gke, gpu_product: example.com/gpu}\n"), [
    { key: "example.com/gpu", operator: "In", values: ["nvidia-l4"] },
  ]);
  assert.deepEqual(
    await affinity("node_labels: {scheme: {key: node.kubernetes.io/gpu, values: {l4: [l4-24g], H100: h100}}}\n"),
    [{ key: "node.kubernetes.io/gpu", operator: "In", values: ["l4-24g"] }],
  );
  assert.deepEqual(await affinity("node_labels: {gpu_product: example.com/gpu}\n"), [
    { key: "example.com/gpu", operator: "In", values: ["NVIDIA-L4"] },
  ]);
  assert.match(
    (await errorsOf(`${BASE}resources: {gpu: "A10G:1"}\nnode_labels: {scheme: gke}\n`))[0]!,
    /node_labels\.scheme: GKE offers no A10G.*\| GKE accelerators: T4, V100, L4/,
  );
  assert.match(
    (await errorsOf(`${BASE}resources: {gpu: "MI300X:1"}\nnode_labels: {scheme: karpenter}\n`))[0]!,
    /EC2 offers no MI300X/,
  );
  assert.match(
    (await errorsOf(`${BASE}resources: {gpu: "H100:1"}\nnode_labels: {scheme: {key: k, values: {L4: x}}}\n`))[0]!,
    /node_labels\.scheme\.values has no value for H100/,
  );
  assert.match(
    (await errorsOf(`${BASE}node_labels: {scheme: {key: k, values: {L44: x}}}\n`))[0]!,
    /node_labels\.scheme\.values\.L44: unknown GPU type "L44"; did you mean "L4"\?/,
  );
  assert.deepEqual(await affinity("node_labels: {scheme: aks}\n", "A100_80G:1"), [
    {
      key: "node.kubernetes.io/instance-type",
      operator: "In",
      values: [
        "Standard_NC24ads_A100_v4",
        "Standard_NC48ads_A100_v4",
        "Standard_NC96ads_A100_v4",
        "Standard_ND96amsr_A100_v4",
      ],
    },
  ]);
  assert.deepEqual(
    podOf(await objectsOf(`${BASE}resources: {gpu: "T4:1"}\nnode_labels: {scheme: aks}\n`)).tolerations,
    [
      { key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" },
      { key: "sku", operator: "Equal", value: "gpu", effect: "NoSchedule" },
    ],
  );
  assert.match(
    (await errorsOf(`${BASE}resources: {gpu: "L4:1"}\nnode_labels: {scheme: aks}\n`))[0]!,
    /node_labels\.scheme: Azure offers no L4 VM size vllmapp knows/,
  );
  assert.match(
    (await errorsOf(`${BASE}node_labels: {scheme: azure}\n`))[0]!,
    /node_labels\.scheme: expected .*"gfd", "gke", "karpenter" or "aks".*got the string "azure"/,
  );
});

// --- 4. AMD GPUs

test("an AMD GPU renders vLLM's ROCm image, amd.com/gpu, AMD's node label and toleration; Docker gets /dev/kfd and /dev/dri, not --gpus", async () => {
  const objs = await objectsOf(`${BASE}resources: {gpu: "MI300X:2"}\n`);
  const c = vllmOf(objs);
  assert.equal(c.image, "vllm/vllm-openai-rocm:v0.34.0");
  assert.equal(c.resources.limits["amd.com/gpu"], "2");
  assert.ok(!("nvidia.com/gpu" in c.resources.limits));
  assert.deepEqual(podOf(objs).tolerations, [{ key: "amd.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
  const p = await render(`${BASE}resources: {gpu: "MI300X:2"}\n`, { target: "docker" });
  const argv = p.apps[0]!.rendered.docker!.argv;
  assert.ok(!argv.includes("--gpus"), argv.join(" "));
  for (const f of [
    ["--device", "/dev/kfd"],
    ["--device", "/dev/dri"],
    ["--group-add", "video"],
  ])
    assert.ok(argv.join(" ").includes(f.join(" ")), f.join(" "));
  assert.ok(argv.includes("vllm/vllm-openai-rocm:v0.34.0"));
});

test("never a CUDA image on an AMD request (nor a ROCm image on an NVIDIA one)", async () => {
  assert.match(
    (await errorsOf(`${BASE}image: vllm/vllm-openai:v0.19.0\nresources: {gpu: "MI300X:1"}\n`))[0]!,
    /image: vllm\/vllm-openai:v0\.19\.0 is vLLM's CUDA build, and MI300X is an AMD GPU.*\| use the ROCm build: image: vllm\/vllm-openai-rocm:v0\.19\.0/,
  );
  assert.match(
    (await errorsOf(`${BASE}image: vllm/vllm-openai-rocm:v0.19.0\nresources: {gpu: "H100:1"}\n`))[0]!,
    /is a ROCm \(AMD\) build, and H100 is an NVIDIA GPU/,
  );
});

// --- 5. scaling that can wake up, and the scrape object

test("replicas [0, N] without a wake trigger is an error naming the fix; [1, N] renders a ScaledObject and a PodMonitor the query matches", async () => {
  assert.deepEqual(await errorsOf(`${BASE}resources: {gpu: "L4:1"}\nscaling: {replicas: [0, 3]}\n`), [
    "4:21 scaling.replicas: min 0 replicas cannot wake up: the autoscaler reads vLLM's own metrics, and at zero pods there are none, so no request would ever scale app back up | add scaling.wake: http-add-on (KEDA's HTTP add-on holds requests while the app starts), or keep one replica: replicas: [1, 3]",
  ]);
  const objs = await objectsOf(`${BASE}resources: {gpu: "L4:1"}\nnamespace: prod\nscaling: {replicas: [1, 3]}\n`);
  const so = kind(objs, "ScaledObject")[0] as any;
  assert.equal(so.spec.triggers.length, 1);
  assert.doesNotMatch(
    so.spec.triggers[0].metadata.query,
    /namespace=/,
    "no namespace literal: an overlay may move the app",
  );
  assert.match(so.spec.triggers[0].metadata.query, /vllmapp_dev_app="app"/);
  const pm = kind(objs, "PodMonitor")[0] as any;
  assert.deepEqual(pm.spec.selector.matchLabels, {
    "vllmapp.dev/app": "app",
    "app.kubernetes.io/component": "model-server",
  });
  assert.deepEqual(pm.spec.podTargetLabels, ["vllmapp.dev/app"], "the label the query selects on");
  assert.equal(pm.spec.podMetricsEndpoints[0].port, "http");
  assert.equal(vllmOf(objs).ports[0].name, "http");
});

test("monitoring.pod_monitor: false drops the PodMonitor with a warning; true renders one without autoscaling", async () => {
  const p = await render(
    `${BASE}resources: {gpu: "L4:1"}\nscaling: {replicas: [1, 3]}\nmonitoring: {pod_monitor: false}\n`,
  );
  assert.equal(kind(p.apps[0]!.rendered.objects!, "PodMonitor").length, 0);
  assert.match(
    lines(p.warnings).join("\n"),
    /monitoring\.pod_monitor: no PodMonitor: the autoscaler's query selects vLLM's series by vllmapp_dev_app="app"/,
  );
  assert.equal(
    kind(await objectsOf(`${BASE}resources: {gpu: "L4:1"}\nmonitoring: {pod_monitor: true}\n`), "PodMonitor").length,
    1,
  );
  assert.equal(kind(await objectsOf(`${BASE}resources: {gpu: "L4:1"}\n`), "PodMonitor").length, 0);
});

test("wake: http-add-on: an HTTPScaledObject the interceptor routes by, an external-push trigger, and the Ingress through the interceptor", async () => {
  const objs = await objectsOf(
    `${BASE}resources: {gpu: "L4:1"}\nnamespace: prod\nstartup_timeout: 20m\nscaling: {replicas: [0, 2], metric: {concurrency: 8}, wake: http-add-on}\ndomain: {custom_domain: chat.example.com}\n`,
  );
  const so = kind(objs, "ScaledObject")[0] as any;
  assert.equal(so.spec.minReplicaCount, 0);
  assert.deepEqual(so.spec.triggers[1], {
    type: "external-push",
    metadata: { scalerAddress: "keda-add-ons-http-external-scaler.keda:9090", httpScaledObject: "app" },
  });
  const h = kind(objs, "HTTPScaledObject")[0] as any;
  assert.equal(
    h.metadata.annotations["httpscaledobject.keda.sh/skip-scaledobject-creation"],
    "true",
    "one ScaledObject for the Deployment: ours",
  );
  assert.deepEqual(h.spec.scaleTargetRef, {
    name: "app",
    kind: "Deployment",
    apiVersion: "apps/v1",
    service: "app",
    portName: "http",
  });
  assert.deepEqual(h.spec.scalingMetric, { concurrency: { targetValue: 8 } });
  assert.equal(h.spec.timeouts.conditionWait, "1200s");
  assert.ok(h.spec.hosts.includes("chat.example.com") && h.spec.hosts.includes("app-wake.prod.svc.cluster.local"));
  const wake = kind(objs, "Service").find((s) => s.metadata.name === "app-wake") as any;
  assert.equal(wake.spec.type, "ExternalName");
  assert.equal(wake.spec.externalName, "keda-add-ons-http-interceptor-proxy.keda.svc.cluster.local");
  const ing = kind(objs, "Ingress")[0] as any;
  assert.deepEqual(ing.spec.rules[0].http.paths[0].backend.service, { name: "app-wake", port: { number: 8080 } });
});

// --- 7. GPU-less and zero-GPU configs

test("H100:0 is an error; no GPU with the CUDA image warns with the fix; a GPU-less pod gets no GPU affinity or toleration", async () => {
  assert.match(
    (await errorsOf(`${BASE}resources: {gpu: "H100:0"}\n`))[0]!,
    /3:18 resources\.gpu: "H100:0" asks for zero H100 GPUs \| write "H100:1"/,
  );
  assert.match(
    (await errorsOf(`${BASE}resources: {gpu: {type: L4, count: 0}}\n`))[0]!,
    /resources\.gpu\.count: count 0 asks for zero L4 GPUs/,
  );
  for (const yaml of [BASE, `${BASE}resources: {gpu: 0}\n`, `${BASE}resources: {cpu: 4}\n`]) {
    const p = await render(yaml);
    assert.match(
      lines(p.warnings).join("\n"),
      /the app asks for no GPU, but vllm\/vllm-openai:v0\.34\.0 is vLLM's CUDA build.*\| ask for a GPU \(resources: \{gpu: "L4:1"\}\), or run on CPU with vLLM's CPU image: image: public\.ecr\.aws\/q9t5s3a7\/vllm-cpu-release-repo:v0\.34\.0/,
      yaml,
    );
    const pod = podOf(p.apps[0]!.rendered.objects!);
    assert.equal(pod.affinity, undefined);
    assert.equal(pod.tolerations, undefined);
  }
  assert.deepEqual(
    await warningsOf(
      `${BASE}image: public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo:v0.19.0\nrequires_auth: false\ncache: {size: 20Gi}\n`,
    ),
    [],
  );
  assert.match(
    (await warningsOf(`${BASE}resources: {gpu: "L4:1"}\n`, { target: "docker", dockerGpus: "0" })).join("\n"),
    /--gpus 0 runs the container without a GPU/,
  );
});

// --- 8. quantities

test("byte quantities: bare numbers are bytes (error), m is milli (error), decimal units warn; malformed ones get the likely fix", async () => {
  assert.deepEqual(await errorsOf(`${BASE}resources: {gpu: "L4:1", memory: 16}\ncache: {size: 100}\n`), [
    '3:34 resources.memory: 16 is 16 bytes: a bare number is bytes | write "16Gi" (or "16Mi")',
    '4:15 cache.size: 100 is 100 bytes: a bare number is bytes | write "100Gi" (or "100Mi")',
  ]);
  assert.match(
    (await errorsOf(`${BASE}resources: {gpu: "L4:1", shm: 512m}\n`))[0]!,
    /resources\.shm: "512m" is 0\.512 bytes: m means milli \| write "512Mi"/,
  );
  assert.match(
    (await warningsOf(`${BASE}resources: {gpu: "L4:1", memory: 16G, disk: 40Gi}\n`))[0]!,
    /resources\.memory: "16G" is 16×10\^9 bytes \(14\.9Gi\), not 16Gi \| if you meant 16Gi, write "16Gi"/,
  );
  assert.match(
    (await errorsOf(`${BASE}resources: {gpu: "L4:1", memory: 16GB}\n`))[0]!,
    /resources\.memory: "16GB" is not a Kubernetes quantity; did you mean "16Gi"\?/,
  );
  assert.match((await errorsOf(`${BASE}resources: {gpu: "L4:1", disk: 50gi}\n`))[0]!, /did you mean "50Gi"\?/);
  assert.deepEqual(
    await warningsOf(`${BASE}resources: {gpu: "L4:1", memory: 17179869184, shm: 8Gi, disk: 40Gi}\n`),
    [],
    "a byte count that is plainly bytes is fine",
  );
});

test("a request larger than its limit is an error", async () => {
  const errs = await errorsOf(`${BASE}resources: {gpu: "L4:1", cpu: [8, 4], memory: [64Gi, 32Gi]}\n`);
  assert.equal(errs.length, 2, errs.join("\n"));
  assert.match(
    errs[0]!,
    /resources\.cpu: the cpu request 8 is larger than its limit 4; Kubernetes rejects such a pod \| write \[request, limit\] with request ≤ limit, e\.g\. \[4, 8\]/,
  );
  assert.match(errs[1]!, /resources\.memory: the memory request 64Gi is larger than its limit 32Gi/);
});

test("weights in an emptyDir get an ephemeral-storage request from the model's size, and a warning when that is large", async () => {
  const facts =
    (weightBytes: number): PlanIo["resolve"] =>
    async (app, source) => ({ app: app.config.name, source, facts: { checked: "test", weightBytes }, diagnostics: [] });
  const small = await render(`${BASE}resources: {gpu: "L4:1"}\n`, { resolve: facts(16e9) });
  assert.equal(vllmOf(small.apps[0]!.rendered.objects!).resources.requests["ephemeral-storage"], "18Gi");
  assert.deepEqual(
    podOf(small.apps[0]!.rendered.objects!).volumes.find((v: any) => v.name === "cache"),
    { name: "cache", emptyDir: { sizeLimit: "18Gi" } },
  );
  assert.doesNotMatch(lines(small.warnings).join("\n"), /emptyDir/);
  // offline (render without --resolve): no size, so no request, and a warning naming cache:
  const unknown = await render(`${BASE}resources: {gpu: "L4:1"}\n`);
  assert.deepEqual(
    podOf(unknown.apps[0]!.rendered.objects!).volumes.find((v: any) => v.name === "cache"),
    { name: "cache", emptyDir: {} },
  );
  assert.deepEqual(lines(unknown.warnings.filter((d) => d.severity === "warning")), [
    "2:16 model_hf_path: the weights download into an emptyDir on the node's disk, and their size is not known here: the pod requests no ephemeral storage for them, so the scheduler may place it on a node whose disk they fill (the kubelet then evicts it) | add cache: {size: …} for a volume of their own, or resources.disk; `render --resolve` and `deploy` size it from the source",
  ]);
  const sized = await render(`${BASE}resources: {gpu: "L4:1", disk: 30Gi}\n`);
  assert.deepEqual(
    podOf(sized.apps[0]!.rendered.objects!).volumes.find((v: any) => v.name === "cache"),
    { name: "cache", emptyDir: { sizeLimit: "30Gi" } },
  );
  assert.deepEqual(lines(sized.warnings.filter((d) => d.severity === "warning")), []);
  const big = await render(`${BASE}resources: {gpu: "H100:8"}\n`, { resolve: facts(140e9) });
  assert.equal(vllmOf(big.apps[0]!.rendered.objects!).resources.requests["ephemeral-storage"], "145Gi");
  assert.match(
    lines(big.warnings).join("\n"),
    /model_hf_path: 140\.0 GB of weights land in an emptyDir on the node's disk.*\| add cache: \{size: 145Gi\}/,
  );
  const cached = await render(`${BASE}resources: {gpu: "H100:8"}\ncache: {size: 200Gi}\n`, { resolve: facts(140e9) });
  assert.equal(
    vllmOf(cached.apps[0]!.rendered.objects!).resources.requests["ephemeral-storage"],
    undefined,
    "a PVC holds them",
  );
  const disk = await render(`${BASE}resources: {gpu: "L4:1", disk: 10Gi}\n`, { resolve: facts(16e9) });
  assert.match(
    lines(disk.warnings).join("\n"),
    /resources\.disk: resources\.disk 10Gi is smaller than the model's weights \(16\.0 GB\)/,
  );
  const stream = await render('name: app\nmodel_path: s3://b/m\nresources: {gpu: "L4:1"}\n', { resolve: facts(140e9) });
  assert.equal(
    vllmOf(stream.apps[0]!.rendered.objects!).resources.requests["ephemeral-storage"],
    undefined,
    "streamed weights never touch the disk",
  );
});

// --- 9. on_startup / on_shutdown

test("a hook list whose first element is a whole command line is an error with the split list; a string runs through sh -c", async () => {
  assert.deepEqual(
    await errorsOf(`${BASE}on_startup: ["echo hi"]\non_shutdown: ["curl -X POST localhost:8000/drain", "-s"]\n`),
    [
      '3:14 on_startup[0]: "echo hi" is one list element, so it would be run as a program of that name (spaces included) | split it: ["echo","hi"], or write the whole line as one string (run by sh -c): on_startup: "echo hi"',
      '4:15 on_shutdown[0]: "curl -X POST localhost:8000/drain" is one list element, so it would be run as a program of that name (spaces included) | split it: ["curl","-X","POST","localhost:8000/drain","-s"], or write the whole line as one string (run by sh -c): on_shutdown: "curl -X POST localhost:8000/drain -s"',
    ],
  );
  const objs = await objectsOf(
    `${BASE}resources: {gpu: "L4:1"}\non_startup: "echo hi && ls /cache"\non_shutdown: "echo bye"\n`,
  );
  assert.deepEqual(podOf(objs).initContainers[0].command, ["/bin/sh", "-c", "echo hi && ls /cache"]);
  assert.deepEqual(vllmOf(objs).lifecycle.preStop.exec.command, [
    "/bin/sh",
    "-c",
    '"$@"; sleep 10',
    "vllmapp-on-shutdown",
    "/bin/sh",
    "-c",
    "echo bye",
  ]);
  await objectsOf(`${BASE}resources: {gpu: "L4:1"}\non_startup: [sh, -c, "echo hi"]\n`);
  const d = (await render(`${BASE}resources: {gpu: "L4:1"}\non_startup: "echo hi"\n`, { target: "docker" })).apps[0]!
    .rendered.docker!;
  assert.ok(
    d.before[0]!.argv.join(" ").includes("--entrypoint /bin/sh vllm/vllm-openai:v0.34.0 -c echo hi"),
    d.before[0]!.argv.join(" "),
  );
});

// --- 10. wrong types say so

test("wrong types say what was expected and what was found, with the fix", async () => {
  const e = async (yaml: string) => (await errorsOf(`${BASE}${yaml}`))[0]!;
  assert.equal(
    await e('port: "8000"\n'),
    '3:7 port: expected an integer, got the string "8000" | write the number without quotes: port: 8000',
  );
  assert.equal(
    await e("requires_auth: yes\n"),
    '3:16 requires_auth: expected true or false or a mapping (key: value), got the string "yes" | write requires_auth: true (YAML 1.2 reads "yes" as a string)',
  );
  assert.equal(
    await e("secrets: HF_TOKEN\n"),
    '3:10 secrets: expected a list, got the string "HF_TOKEN" | write a list: secrets: [HF_TOKEN]',
  );
  assert.equal(
    await e("resources: L4:1\n"),
    '3:12 resources: expected a mapping (key: value), got the string "L4:1" | resources is a mapping: resources: {gpu: "L4:1"}',
  );
  assert.equal(await e("stream_model: 1\n"), "3:15 stream_model: expected true or false, got the number 1");
  assert.equal(await e("scaling: {replicas: [1, 2, 3]}\n"), "3:21 scaling.replicas: must have at most 2 items");
});

test("extra_args: a YAML number or boolean in the list is the string it spells", async () => {
  const p = await render(
    `${BASE}resources: {gpu: "L4:1"}\nextra_args: [--max-model-len, 8192, --gpu-memory-utilization, 0.85]\n`,
  );
  assert.deepEqual(lines(p.errors), []);
  assert.deepEqual(p.apps[0]!.rendered.serve.args.slice(-4), [
    "--max-model-len",
    "8192",
    "--gpu-memory-utilization",
    "0.85",
  ]);
});

const BAD_INPUTS = [
  'port: "8000"',
  "port: 0",
  "port: 70000",
  "port: 80.5",
  "port: [1]",
  "requires_auth: yes",
  "requires_auth: {secret: 1}",
  "requires_auth: {name: x}",
  "secrets: HF_TOKEN",
  "secrets: [1]",
  "secrets: [{env_var: 1}]",
  "secrets: [{mount: relative}]",
  "secrets: [hf-token]",
  "resources: L4:1",
  "resources: [1]",
  "resources: {gpu: -1}",
  "resources: {gpu: 1.5}",
  "resources: {gpu: {count: x}}",
  "resources: {cpu: [1]}",
  "resources: {cpu: [1, 2, 3]}",
  "resources: {memory: true}",
  "resources: {shm: big}",
  "scaling: 3",
  "scaling: {replicas: -1}",
  "scaling: {replicas: [2]}",
  "scaling: {replicas: [0, 0]}",
  "scaling: {metric: {concurrency: 0}}",
  "scaling: {metric: {rps: 3}}",
  "scaling: {prometheus_url: not a url}",
  "scaling: {wake: knative}",
  "env_vars: [A]",
  "env_vars: {1A: x}",
  "env_vars: {A: [1]}",
  "links: [{path: /x}]",
  "links: {path: /x}",
  'include: [""]',
  "include: x",
  "parameters: [{name: x}]",
  "parameters: [{value: 1}]",
  "cluster_pool: [x]",
  "interruptible: maybe",
  "pod_template: 3",
  "pod_template: {spec: 3}",
  "depends_on: a",
  "on_startup: []",
  "on_startup: [[x]]",
  "namespace: Bad_NS",
  "startup_timeout: [1]",
  "cache: {size: x}",
  "cache: {access_mode: RWX}",
  "runs: {backend: s3}",
  "runs: {backend: mlflow}",
  "node_labels: {scheme: 3}",
  "node_labels: {scheme: {key: k}}",
  "monitoring: {pod_monitor: sometimes}",
  "description: [x]",
  "type: vllm",
  'image: ""',
  'model_id: ""',
  'stream_model: "no"',
  "extra_args: {a: 1}",
  "command: 3",
  "name: ''",
  "name: 3",
];

test("no raw validator text reaches the user, for many bad inputs", async () => {
  const raw =
    /Invalid input|Invalid option|Invalid string|Invalid key|Invalid element|Too small|Too big|Unrecognized key|expected [a-z]+, received|Required\b/;
  for (const bad of BAD_INPUTS) {
    const yaml = bad.startsWith("name:") ? `${bad}\nmodel_hf_path: Qwen/Qwen3-8B\n` : `${BASE}${bad}\n`;
    const errs = await errorsOf(yaml);
    assert.ok(errs.length > 0, `${bad}: expected an error`);
    for (const m of errs) {
      assert.doesNotMatch(m, raw, `${bad}: ${m}`);
      if (!bad.includes("{"))
        assert.doesNotMatch(m, /required field .* is missing/, `${bad}: a present value is not "missing": ${m}`);
    }
  }
});

// --- 11. Flyte 2.12 parity

test("Flyte 2.12's GPU names and types, RTX PRO 6000 MIG, links default to absolute", async () => {
  for (const gpu of [
    "A100_80G:1",
    "RTX_PRO_6000:1",
    "A2:1",
    "GB10:1",
    "RTX_PRO_4500:1",
    "A100 80G:1",
    "RTX PRO 6000:2",
  ]) {
    assert.deepEqual(await errorsOf(`${BASE}resources: {gpu: "${gpu}"}\n`), [], gpu);
  }
  const mig = await objectsOf(`${BASE}resources: {gpu: {type: RTX_PRO_6000, partition: 1g.24gb}}\n`);
  assert.equal(vllmOf(mig).resources.limits["nvidia.com/mig-1g.24gb"], "1");
  assert.match(
    (await errorsOf(`${BASE}resources: {gpu: {type: RTX_PRO_6000, partition: 1g.10gb}}\n`))[0]!,
    /RTX_PRO_6000 has no MIG profile "1g\.10gb"; it has 1g\.24gb, 2g\.48gb, 4g\.96gb/,
  );
  const objs = await objectsOf(
    `${BASE}resources: {gpu: "L4:1"}\nlinks: [{path: "https://grafana.example.com", title: G}]\n`,
  );
  assert.equal(
    JSON.parse(kind(objs, "Deployment")[0]!.metadata.annotations!["vllmapp.dev/links"]!)[0].is_relative,
    false,
  );
});

test("$NAME and ${NAME} naming no parameter warn: vLLM receives them as written", async () => {
  const w = await warningsOf(
    `${BASE}resources: {gpu: "L4:1"}\nparameters: [{name: ctx, value: 8192}]\nextra_args: [--chat-template, "$TEMPLATE", --tokenizer, "\${tok}", --max-model-len, "$ctx"]\n`,
  );
  assert.match(
    w.join("\n"),
    /extra_args\[1\]: \$TEMPLATE is passed to vLLM as written: vllmapp runs no shell, so nothing expands it/,
  );
  assert.match(w.join("\n"), /extra_args\[3\]: \$\{tok\} names no parameter, so vLLM receives it as written/);
  // vLLM refuses "$ctx" as a number: the error says why (newcomer-3 §2 row 21)
  const e = await errorsOf(
    `${BASE}resources: {gpu: "L4:1"}\nparameters: [{name: ctx, value: 8192}]\nextra_args: [--max-model-len, "$ctx"]\n`,
  );
  assert.match(
    e.join("\n"),
    /extra_args\[1\]: --max-model-len: invalid human_readable_int value: '\$ctx': \$ctx is passed to vLLM as written.*\| write \$\{ctx\} to use the parameter ctx/,
  );
});

test("a flag value vLLM refuses because $NAME or ${name} was not expanded says why and how to declare it (newcomer-3 §2 row 21)", async () => {
  const e = await errorsOf(
    `${BASE}resources: {gpu: "L4:1"}\nextra_args: [--max-model-len, "$MAXLEN", --seed, "\${seed}"]\n`,
  );
  assert.deepEqual(
    e.map((l) => l.replace(/^\d+:\d+ /, "")),
    [
      "extra_args[1]: --max-model-len: invalid human_readable_int value: '$MAXLEN': $MAXLEN is passed to vLLM as written: vllmapp runs no shell, so nothing expands it | give the value itself, or declare it: parameters: [{name: MAXLEN, value: …}] (--param MAXLEN=… sets it per run) and write ${MAXLEN}",
      "extra_args[3]: --seed: invalid int value: '${seed}': ${seed} names no parameter, so vLLM receives it as written | declare it: parameters: [{name: seed, value: …}] (--param seed=… sets it per run)",
    ],
  );
  // the reason is said once, in the error, not again as a warning
  assert.deepEqual(
    (await warningsOf(`${BASE}resources: {gpu: "L4:1"}\nextra_args: [--max-model-len, "$MAXLEN"]\n`)).filter((w) =>
      w.includes("extra_args"),
    ),
    [],
  );
});

test("a ReadWriteMany cache without storage_class warns that the clouds' default classes cannot bind it; with a class it does not", async () => {
  assert.deepEqual(
    await warningsOf(`${BASE}resources: {gpu: "L4:1"}\ncache: {size: 100Gi, access_mode: ReadWriteMany}\n`),
    [
      "4:35 cache.access_mode: a ReadWriteMany cache without cache.storage_class gets the cluster's default StorageClass, and the clouds' defaults (GKE standard-rwo, EKS gp2/gp3, AKS managed-csi) cannot bind ReadWriteMany: the claim and the pods stay Pending | name a class that provides ReadWriteMany: cache.storage_class (e.g. GKE Filestore standard-rwx, EFS efs-sc, Azure Files azurefile-csi)",
    ],
  );
  assert.deepEqual(
    await warningsOf(
      `${BASE}resources: {gpu: "L4:1"}\ncache: {size: 100Gi, access_mode: ReadWriteMany, storage_class: efs-sc}\n`,
    ),
    [],
  );
});
