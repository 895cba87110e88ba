/** The pure parts of the Kubernetes target: ApplySet ids, diagnosis, API error wording, pod references. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { applySetId, formatGroupKinds, groupKindOf, splitGroupKind } from "../../../src/cluster/applyset.ts";
import { isSubset } from "../../../src/cluster/apply.ts";
import {
  currentPods,
  diagnosePods,
  explainUnschedulable,
  parseSchedulerMessage,
} from "../../../src/cluster/diagnose.ts";
import { explainStatus } from "../../../src/cluster/errors.ts";
import { podRefs } from "../../../src/cluster/preflight.ts";
import type { Deployment, Node, Pod, ReplicaSet } from "../../../src/cluster/k8s-types.ts";

const where = { server: "https://127.0.0.1:6443", context: "ctx" };

test("the ApplySet id is kubectl's: applyset-<base64url(sha256(name.namespace.kind.group))>-v1", () => {
  // the value kubectl v1.36 (KUBECTL_APPLYSET=true apply --prune --applyset=applyset-qwen3 -n t1x) put on its parent Secret
  assert.equal(
    applySetId({ name: "applyset-qwen3", namespace: "t1x", kind: "Secret", group: "" }),
    "applyset-90hbyT7vbqqaMVjfBhu6py7_tC8OOHcUB1BfZcWOKFA-v1",
  );
  assert.equal(groupKindOf({ apiVersion: "apps/v1", kind: "Deployment" }), "Deployment.apps");
  assert.equal(groupKindOf({ apiVersion: "v1", kind: "Secret" }), "Secret");
  assert.deepEqual(splitGroupKind("ScaledObject.keda.sh"), { kind: "ScaledObject", group: "keda.sh" });
  assert.equal(formatGroupKinds(["Service", "Deployment.apps", "Secret", "Service"]), "Deployment.apps,Secret,Service");
});

const gpuPod = (product: string, gpus: number, extra: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "app-1", uid: "u1", labels: { "vllmapp.dev/app": "app" } },
  spec: {
    containers: [
      {
        name: "vllm",
        resources: { limits: { "nvidia.com/gpu": String(gpus) } },
        startupProbe: { periodSeconds: 10, failureThreshold: 6 },
      },
    ],
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: "nvidia.com/gpu.product", operator: "In", values: [product] }] },
          ],
        },
      },
    },
    ...extra,
  },
});
const node = (name: string, product: string, gpus: number, taints: unknown[] = []) => ({
  apiVersion: "v1",
  kind: "Node",
  metadata: { name, labels: { "nvidia.com/gpu.product": product } },
  spec: { taints },
  status: { allocatable: { "nvidia.com/gpu": String(gpus) } },
});
const nodes = [
  node("a100", "NVIDIA-A100-SXM4-80GB", 8),
  node("l4", "NVIDIA-L4", 8),
  node("h100", "NVIDIA-H100-80GB-HBM3", 8, [{ key: "cloud.google.com/gke-spot", value: "true", effect: "NoSchedule" }]),
] as Node[];
// messages as kube-scheduler v1.36 writes them
const TOO_MANY =
  "0/4 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint(s), 2 Insufficient nvidia.com/gpu. no new claims to deallocate, preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.";
const NO_TYPE =
  "0/4 nodes are available: 1 node(s) had untolerated taint(s), 3 node(s) didn't match Pod's node affinity/selector. no new claims to deallocate, preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.";

test("the scheduler's message is parsed into counts", () => {
  assert.deepEqual(parseSchedulerMessage(TOO_MANY), {
    total: 4,
    insufficient: ["cpu", "memory", "nvidia.com/gpu"],
    affinity: 1,
    taints: 1,
    unboundPvc: false,
  });
  assert.deepEqual(parseSchedulerMessage(NO_TYPE), {
    total: 4,
    insufficient: [],
    affinity: 3,
    taints: 1,
    unboundPvc: false,
  });
});

test("unschedulable: more GPUs than any node has, a GPU type no node has, an untolerated spot taint", () => {
  const big = explainUnschedulable(TOO_MANY, gpuPod("NVIDIA-L4", 16), nodes);
  assert.equal(big.fatal, true);
  assert.match(
    big.reason,
    /^cannot be scheduled: it asks for 16 nvidia\.com\/gpu per replica, and the most any matching node has is 8 \(scheduler: 0\/4 nodes are available: .*2 Insufficient nvidia\.com\/gpu\)$/,
  );
  const h200 = explainUnschedulable(NO_TYPE, gpuPod("NVIDIA-H200", 1), nodes);
  assert.match(h200.reason, /^cannot be scheduled: no node has GPU type NVIDIA-H200 \(nvidia\.com\/gpu\.product\)/);
  assert.equal(h200.hint, "pick a GPU type and pool the cluster has (resources.gpu, cluster_pool)");
  const spot = explainUnschedulable(NO_TYPE, gpuPod("NVIDIA-H100-80GB-HBM3", 1), nodes);
  assert.match(
    spot.reason,
    /^cannot be scheduled: the nodes that fit \(h100\) are tainted cloud\.google\.com\/gke-spot=true:NoSchedule, which the pod does not tolerate/,
  );
  assert.equal(spot.hint, "set interruptible: true to run on spot nodes");
  const tolerated = gpuPod("NVIDIA-H100-80GB-HBM3", 1, {
    tolerations: [{ key: "cloud.google.com/gke-spot", operator: "Equal", value: "true", effect: "NoSchedule" }],
  });
  assert.doesNotMatch(explainUnschedulable(NO_TYPE, tolerated, nodes).reason, /tainted/);
});

test("unschedulable without the node list (not allowed to list nodes): from the message alone", () => {
  assert.match(
    explainUnschedulable(TOO_MANY, gpuPod("NVIDIA-L4", 16)).reason,
    /^cannot be scheduled: not enough free nvidia\.com\/gpu: it asks for 16 per replica/,
  );
  const unbound = explainUnschedulable(
    "0/4 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.",
    gpuPod("NVIDIA-L4", 1),
  );
  assert.equal(unbound.fatal, false);
  assert.match(unbound.reason, /^waiting for a volume/);
});

const withStatus = (status: unknown, name = "app-1") =>
  ({ ...gpuPod("NVIDIA-L4", 1), metadata: { name, uid: "u1", labels: { "vllmapp.dev/app": "app" } }, status }) as Pod;

test("crash loop, OOM kill, image pull and a startup probe that gave up are fatal, with a hint", () => {
  const crash = diagnosePods(
    [
      withStatus({
        containerStatuses: [
          {
            name: "vllm",
            image: "i",
            restartCount: 3,
            state: { waiting: { reason: "CrashLoopBackOff" } },
            lastState: { terminated: { exitCode: 1, reason: "Error" } },
          },
        ],
      }),
    ],
    [],
  );
  assert.deepEqual(crash, {
    reason: "container vllm of app-1 keeps crashing (exit code 1, Error; 3 restarts)",
    hint: "see why: vllmapp logs app --previous",
    fatal: true,
    logsOf: { pod: "app-1", container: "vllm" },
  });
  const oom = diagnosePods(
    [
      withStatus({
        containerStatuses: [
          {
            name: "vllm",
            image: "i",
            restartCount: 1,
            state: { running: {} },
            lastState: { terminated: { exitCode: 137, reason: "OOMKilled" } },
          },
        ],
      }),
    ],
    [],
  );
  assert.equal(oom?.fatal, true);
  assert.match(oom!.reason, /was OOM-killed/);
  const pull = diagnosePods(
    [
      withStatus({
        containerStatuses: [
          {
            name: "vllm",
            image: "vllmapp.invalid/x:1",
            state: { waiting: { reason: "ImagePullBackOff", message: 'Back-off pulling image "vllmapp.invalid/x:1"' } },
          },
        ],
      }),
    ],
    [{ involvedObject: { name: "app-1", uid: "u1" }, reason: "Failed", message: "Failed to pull image: not found" }],
  );
  assert.equal(
    pull?.reason,
    "cannot pull image vllmapp.invalid/x:1: ImagePullBackOff (Failed to pull image: not found)",
  );
  const probe = diagnosePods(
    [
      withStatus({
        containerStatuses: [{ name: "vllm", image: "i", started: false, ready: false, state: { running: {} } }],
      }),
    ],
    [
      {
        involvedObject: { name: "app-1", uid: "u1" },
        reason: "Killing",
        message: "Container vllm failed startup probe, will be restarted",
      },
    ],
  );
  assert.equal(probe?.fatal, true);
  assert.equal(
    probe?.reason,
    "the startup probe gave up: the server did not answer /health within 60 s (startup_timeout)",
  );
});

test("a loading server and a pending pod are progress, not failures; deleted pods are ignored", () => {
  const loading = diagnosePods(
    [
      withStatus({
        containerStatuses: [{ name: "vllm", image: "i", started: false, ready: false, state: { running: {} } }],
      }),
    ],
    [],
  );
  assert.deepEqual(loading, { reason: "app-1: loading the model (startup probe waits for /health)", fatal: false });
  const gone: Pod = {
    ...withStatus({ containerStatuses: [{ name: "vllm", state: { waiting: { reason: "CrashLoopBackOff" } } }] }),
    metadata: { name: "app-1", uid: "u1", deletionTimestamp: "2026-01-01T00:00:00Z" },
  };
  assert.equal(diagnosePods([gone], []), undefined);
});

test("a kubelet that has not yet read the pod's Secret is progress (it retries); a Secret key that does not exist is fatal", () => {
  const config = (message: string) =>
    diagnosePods(
      [
        withStatus({
          containerStatuses: [
            { name: "vllm", image: "i", state: { waiting: { reason: "CreateContainerConfigError", message } } },
          ],
        }),
      ],
      [],
    );
  assert.deepEqual(config("failed to sync secret cache: timed out waiting for the condition"), {
    reason:
      "container vllm of app-1: the kubelet is still reading its Secrets and ConfigMaps (failed to sync secret cache: timed out waiting for the condition)",
    fatal: false,
  });
  assert.deepEqual(config("couldn't find key token in Secret ns/hf"), {
    reason: "container vllm of app-1 cannot start: couldn't find key token in Secret ns/hf",
    fatal: true,
  });
});

test("only the pods of the Deployment's current revision are diagnosed", () => {
  const dep: Deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "app", uid: "d", generation: 2, annotations: { "deployment.kubernetes.io/revision": "2" } },
    status: { observedGeneration: 2 },
  };
  const rs = (rev: string, hash: string) =>
    ({
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name: `app-${hash}`,
        labels: { "pod-template-hash": hash },
        annotations: { "deployment.kubernetes.io/revision": rev },
        ownerReferences: [{ uid: "d" }],
      },
    }) as unknown as ReplicaSet;
  const pod = (name: string, hash: string) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: { "pod-template-hash": hash } },
  });
  assert.deepEqual(
    currentPods(dep, [rs("1", "old"), rs("2", "new")], [pod("a", "old"), pod("b", "new")]).map((p) => p.metadata.name),
    ["b"],
  );
  assert.deepEqual(currentPods({ ...dep, status: { observedGeneration: 1 } }, [rs("2", "new")], [pod("b", "new")]), []);
});

test("API errors: who owns a conflicting field, which field was rejected, which verb is forbidden", () => {
  const conflict = explainStatus(
    409,
    {
      message: 'Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas',
      reason: "Conflict",
      details: {
        causes: [
          {
            reason: "FieldManagerConflict",
            message: 'conflict with "kubectl-edit" using apps/v1',
            field: ".spec.replicas",
          },
        ],
      },
    },
    "apply Deployment/app",
    where,
  );
  assert.equal(
    conflict.message,
    'apply Deployment/app: fields another field manager owns: .spec.replicas (owned by "kubectl-edit")',
  );
  assert.match(conflict.hint!, /--force-conflicts/);
  const invalid = explainStatus(
    422,
    {
      message: 'Deployment.apps "app" is invalid',
      details: {
        causes: [
          {
            reason: "FieldValueInvalid",
            message: "Invalid value: 99999: must be between 1 and 65535, inclusive",
            field: "spec.template.spec.containers[0].ports[0].containerPort",
          },
        ],
      },
    },
    "apply Deployment/app",
    where,
  );
  assert.equal(
    invalid.message,
    "apply Deployment/app: the API server rejected it: spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 99999: must be between 1 and 65535, inclusive",
  );
  const forbidden = explainStatus(
    403,
    {
      message:
        'secrets "applyset-app" is forbidden: User "system:serviceaccount:t:viewer" cannot get resource "secrets" in API group "" in the namespace "t"',
    },
    "read Secret/applyset-app",
    where,
  );
  assert.equal(
    forbidden.message,
    'read Secret/applyset-app: forbidden: "system:serviceaccount:t:viewer" may not get secrets in namespace t',
  );
  assert.equal(
    forbidden.hint,
    'ask a cluster admin for a Role granting "get" on secrets; check with `kubectl auth can-i get secrets -n t`',
  );
  assert.match(
    explainStatus(401, { message: "Unauthorized" }, "list", where).message,
    /rejected the credentials of context "ctx" \(401 Unauthorized\)/,
  );
});

test("what a pod needs from its namespace, with the env var each secret key would come from", () => {
  const refs = podRefs({
    containers: [
      {
        name: "vllm",
        env: [
          { name: "HF_TOKEN", valueFrom: { secretKeyRef: { name: "app-secrets", key: "HF_TOKEN" } } },
          { name: "OPT", valueFrom: { secretKeyRef: { name: "x", key: "k", optional: true } } },
        ],
        envFrom: [{ configMapRef: { name: "cm" } }],
      },
    ],
    volumes: [
      { name: "ca", secret: { secretName: "corp-ca", items: [{ key: "ca.pem", path: "ca.pem" }] } },
      { name: "m", persistentVolumeClaim: { claimName: "models" } },
    ],
    imagePullSecrets: [{ name: "regcred" }],
  });
  assert.deepEqual(
    refs.map((r) => [r.kind, r.name, [...r.keys]]),
    [
      ["Secret", "app-secrets", [["HF_TOKEN", "HF_TOKEN"]]],
      ["ConfigMap", "cm", []],
      ["Secret", "corp-ca", [["ca.pem", undefined]]],
      ["PersistentVolumeClaim", "models", []],
      ["Secret", "regcred", []],
    ],
  );
});

test("client-side dry run: unchanged when every rendered field is already live", () => {
  assert.equal(
    isSubset(
      { spec: { replicas: 1, template: { containers: [{ name: "vllm" }] } } },
      {
        spec: {
          replicas: 1,
          paused: false,
          template: { containers: [{ name: "vllm", imagePullPolicy: "IfNotPresent" }] },
        },
      },
    ),
    true,
  );
  assert.equal(isSubset({ spec: { replicas: 2 } }, { spec: { replicas: 1 } }), false);
  assert.equal(isSubset({ spec: { ports: [{ port: 80 }] } }, { spec: { ports: [{ port: 80 }, { port: 81 }] } }), false);
});
