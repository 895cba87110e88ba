/**
 * `render --resolve` prints the objects `deploy --dry-run=client -o yaml` would apply: the plan is final
 * (issue 26 step 5). A set of apps with several sources (a path, the Hub's replay, S3, a Job's run output), a
 * `pod_template` naming a PodTemplate in the cluster, depends_on (sync waves), and the namespace from
 * --namespace, from the file and from the kubeconfig context, on the test bed's cluster; and an app whose
 * GPU type only a kwok node labelled the GKE way has (both commands choose GKE's labels, with one warning).
 * One difference is set aside, and only it: deploy's ApplySet bookkeeping (KEP-3659), the parent Secret
 * `applyset-<app>` and the `applyset.kubernetes.io/part-of` label on each member. Deploy adds them to
 * prune what a later render drops; a rendered set is applied by a tool that keeps its own (kubectl -k, Argo CD).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, readFileSync } from "node:fs";
import path from "node:path";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { parseAllDocuments } from "yaml";
import { ROOT, workdir } from "../support/cli.ts";
import { kubectl, tbEnv, withNamespace } from "../support/testbed.ts";
import { cliIn, kwokGpuNode } from "./kubernetes-support.ts";

const PART_OF = "applyset.kubernetes.io/part-of";
// the test bed's S3 stand-in takes any credentials; a bucket of this file's own
const AWS = {
  AWS_ACCESS_KEY_ID: "testing",
  AWS_SECRET_ACCESS_KEY: "testing-secret-key",
  AWS_REGION: "us-east-1",
  AWS_EC2_METADATA_DISABLED: "true",
};
const BUCKET = `pe-models-${process.pid}-${Date.now().toString(36)}`;
/** the test bed's kwok nodes label their GPUs GPU feature discovery's way, and none has an A100 of 40 GB: this one, GKE's way */
const GKE_NODE = `pe-gke-a100-${process.pid}-${Date.now().toString(36)}`;
const APPLYSET_ID = "applyset.kubernetes.io/id";
let nsA: string;
let nsB: string;
const cleanups: (() => Promise<void>)[] = [];

/** What each namespace holds for the apps: the PodTemplate, the S3 credentials' Secret, the run's claim. */
async function furnish(ns: string): Promise<void> {
  const objects = [
    {
      apiVersion: "v1",
      kind: "PodTemplate",
      metadata: { name: "house-defaults", namespace: ns },
      template: {
        metadata: { labels: { team: "ml-platform" } },
        spec: {
          containers: [
            { name: "vllm", image: "overridden", env: [{ name: "HOUSE", value: "1" }] },
            { name: "metrics-sidecar", image: "busybox:1.36" },
          ],
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s3-creds", namespace: ns },
      stringData: { id: "not-used-here", secret: "not-used-here" },
    },
    {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "ckpt", namespace: ns },
      spec: { accessModes: ["ReadOnlyMany"], resources: { requests: { storage: "1Gi" } } },
    },
  ];
  for (const o of objects) await kubectl(["apply", "-f", "-"], { input: JSON.stringify(o) });
}

before(async () => {
  tbEnv("KUBECONFIG");
  const s3 = new S3Client({
    endpoint: tbEnv("AWS_ENDPOINT_URL"),
    forcePathStyle: true,
    region: AWS.AWS_REGION,
    credentials: { accessKeyId: AWS.AWS_ACCESS_KEY_ID, secretAccessKey: AWS.AWS_SECRET_ACCESS_KEY },
  });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const config = readFileSync(path.join(ROOT, "test", "fixtures", "hf", "Qwen", "Qwen3-0.6B", "config.json"), "utf8");
  for (const [key, body] of [
    ["qwen3/config.json", config],
    ["qwen3/model.safetensors", "x".repeat(4096)],
  ])
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  for (const prefix of ["pe-a", "pe-b"]) {
    const { ns, cleanup } = await withNamespace(prefix);
    cleanups.push(cleanup);
    await furnish(ns);
    if (prefix === "pe-a") nsA = ns;
    else nsB = ns;
  }
  // the run whose output pe-run serves: a Job the test bed's kwok completes
  const job = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: "train-1",
      namespace: nsA,
      annotations: { "vllmapp.dev/output.model": "pvc://ckpt/run-1/model" },
    },
    spec: {
      backoffLimit: 0,
      template: { spec: { restartPolicy: "Never", containers: [{ name: "train", image: "trainer:v1" }] } },
    },
  };
  await kubectl(["apply", "-f", "-"], { input: JSON.stringify(job) });
  await kubectl(["wait", "-n", nsA, "--for=condition=complete", "job/train-1", "--timeout=90s"]);
});

after(async () => {
  for (const c of cleanups) await c();
  await kubectl(["delete", "node", GKE_NODE, "--ignore-not-found", "--wait=false"], { allowFail: true });
});

/** The apps; `fileNamespace` is written into pe-path's entry. */
function apps(fileNamespace?: string): string {
  return [
    `name: pe-path\nmodel_path: /models/qwen3\nresources: {gpu: "L4:1"}\npod_template: house-defaults\n${fileNamespace ? `namespace: ${fileNamespace}\n` : ""}`,
    `name: pe-hf\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources: {gpu: "L4:1"}\nrequires_auth: false\ndepends_on: [pe-path]\n`,
    `name: pe-s3\nmodel_path: s3://${BUCKET}/qwen3\nresources: {gpu: "L4:1"}\npod_template: house-defaults\ndepends_on: [pe-hf]\nsecrets:\n  - env_var: AWS_ACCESS_KEY_ID\n    secret: s3-creds\n    key: id\n  - env_var: AWS_SECRET_ACCESS_KEY\n    secret: s3-creds\n    key: secret\n`,
    `name: pe-run\nmodel_path:\n  run_output:\n    run_name: train-1\n    output: model\nruns:\n  backend: kubernetes\n  namespace: ${nsA}\nresources: {gpu: "L4:1"}\n`,
  ].join("---\n");
}

type Obj = {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any;
};

function objectsOf(yaml: string): Obj[] {
  return parseAllDocuments(yaml)
    .map((d) => d.toJS() as Obj)
    .filter(Boolean);
}

/** deploy's objects without its ApplySet bookkeeping (the one difference, see the top of the file). */
function withoutApplySet(objects: Obj[]): Obj[] {
  return objects
    .filter((o) => !(o.kind === "Secret" && o.metadata.labels?.[APPLYSET_ID]))
    .map((o) => {
      const { [PART_OF]: _, ...labels } = o.metadata.labels ?? {};
      return { ...o, metadata: { ...o.metadata, labels } };
    });
}

/** Both commands over the same file and flags: every object equal, in the same order; and what each said on stderr. */
function compareSaid(
  dir: string,
  flags: string[],
  apps = 4,
): { objects: Obj[]; stderr: { render: string; deploy: string } } {
  const cli = cliIn(dir);
  const render = cli(["render", "--resolve", "--dry-run", ...flags], AWS);
  assert.equal(render.code, 0, render.stderr);
  const deploy = cli(["deploy", "--dry-run=client", "-o", "yaml", ...flags], AWS);
  assert.equal(deploy.code, 0, deploy.stderr);
  const rendered = objectsOf(render.stdout);
  const deployed = objectsOf(deploy.stdout);
  assert.equal(deployed.filter((o) => o.metadata.labels?.[APPLYSET_ID]).length, apps, "one ApplySet parent per app");
  assert.deepEqual(withoutApplySet(deployed), rendered);
  return { objects: rendered, stderr: { render: render.stderr, deploy: deploy.stderr } };
}

function compare(dir: string, flags: string[]): Obj[] {
  return compareSaid(dir, flags).objects;
}

const deploymentOf = (objects: Obj[], app: string) =>
  objects.find((o) => o.kind === "Deployment" && o.metadata.name === app)!;

test("--namespace: render --resolve and deploy --dry-run=client print the same objects, the PodTemplate merged and the sync waves set", () => {
  const dir = workdir({ "vllm-app.yaml": apps() });
  const objects = compare(dir, ["-n", nsA]);
  assert.deepEqual([...new Set(objects.map((o) => o.metadata.namespace))], [nsA]);
  for (const app of ["pe-path", "pe-s3"]) {
    const pod = deploymentOf(objects, app).spec.template;
    assert.equal(pod.metadata.labels.team, "ml-platform", `${app}: the PodTemplate's labels`);
    assert.deepEqual(
      pod.spec.containers.map((c: { name: string }) => c.name),
      ["vllm", "metrics-sidecar"],
    );
    assert.ok(pod.spec.containers[0].env.some((e: { name: string }) => e.name === "HOUSE"));
    assert.notEqual(pod.spec.containers[0].image, "overridden", "vllmapp's fields win over the PodTemplate's");
  }
  assert.equal(deploymentOf(objects, "pe-hf").spec.template.metadata.labels.team, undefined);
  assert.deepEqual(
    ["pe-path", "pe-hf", "pe-s3", "pe-run"].map(
      (a) => deploymentOf(objects, a).metadata.annotations?.["argocd.argoproj.io/sync-wave"],
    ),
    ["0", "1", "2", "0"],
  );
  assert.equal(
    deploymentOf(objects, "pe-run").spec.template.spec.volumes.find((v: { name: string }) => v.name === "model")
      .persistentVolumeClaim.claimName,
    "ckpt",
  );
});

test("the namespace from the file, else the kubeconfig context's: the same objects from both commands", async () => {
  const dir = workdir({ "vllm-app.yaml": apps(nsA) });
  const kubeconfig = path.join(dir, "context.kubeconfig");
  copyFileSync(tbEnv("KUBECONFIG"), kubeconfig);
  await kubectl(["--kubeconfig", kubeconfig, "config", "set-context", "--current", `--namespace=${nsB}`]);
  const objects = compare(dir, ["--kubeconfig", kubeconfig]);
  const namespaces = Object.fromEntries(
    ["pe-path", "pe-hf", "pe-s3", "pe-run"].map((a) => [a, deploymentOf(objects, a).metadata.namespace]),
  );
  assert.deepEqual(namespaces, { "pe-path": nsA, "pe-hf": nsB, "pe-s3": nsB, "pe-run": nsB });
  assert.equal(
    deploymentOf(objects, "pe-s3").spec.template.metadata.labels.team,
    "ml-platform",
    "the PodTemplate of the context's namespace",
  );
});

test("GPU nodes with the type labelled only the GKE way: render --resolve and deploy --dry-run=client both choose GKE's labels, print the same objects and the same warning; plain render keeps the default", async () => {
  await kwokGpuNode(
    GKE_NODE,
    {
      "cloud.google.com/gke-accelerator": "nvidia-tesla-a100",
      "cloud.google.com/gke-nodepool": "a100-pool",
      "node.kubernetes.io/instance-type": "a2-highgpu-1g",
    },
    // a dry run schedules nothing; other tests' pods stay off it
    [{ key: "pe-test", value: "gke", effect: "NoSchedule" }],
  );
  const dir = workdir({ "vllm-app.yaml": 'name: pe-gke\nmodel_path: /models/qwen3\nresources: {gpu: "A100:1"}\n' });
  const { objects, stderr } = compareSaid(dir, ["-n", nsA], 1);
  const affinity = (o: Obj) =>
    o.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
  assert.deepEqual(affinity(deploymentOf(objects, "pe-gke")), [
    { matchExpressions: [{ key: "cloud.google.com/gke-accelerator", operator: "In", values: ["nvidia-tesla-a100"] }] },
  ]);
  const warning = new RegExp(
    `^warning: vllm-app\\.yaml:3:\\d+ resources\\.gpu: pe-gke: no node has nvidia\\.com/gpu\\.product in \\(NVIDIA-A100-SXM4-40GB, NVIDIA-A100-PCIE-40GB\\) \\(GPU feature discovery's labels, the default\\), but 1 GPU node with A100 \\(${GKE_NODE}\\) is labelled the GKE way \\(cloud\\.google\\.com/gke-accelerator\\): deploying with node_labels: \\{scheme: gke\\}; write it in vllm-app\\.yaml to make it explicit$`,
    "gm",
  );
  assert.equal(stderr.render.match(warning)?.length, 1, stderr.render);
  assert.equal(stderr.deploy.match(warning)?.length, 1, stderr.deploy);
  // without --resolve nothing is read: the default labels, no warning
  const plain = cliIn(dir)(["render", "--dry-run", "-n", nsA]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.deepEqual(affinity(deploymentOf(objectsOf(plain.stdout), "pe-gke")), [
    {
      matchExpressions: [
        { key: "nvidia.com/gpu.product", operator: "In", values: ["NVIDIA-A100-SXM4-40GB", "NVIDIA-A100-PCIE-40GB"] },
      ],
    },
  ]);
  assert.doesNotMatch(plain.stderr, /no node has|gke-accelerator/);
});
