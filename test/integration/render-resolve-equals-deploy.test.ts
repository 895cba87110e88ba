/**
 * `render --resolve` prints the objects `deploy --dry-run=client -o yaml` would apply: the plan is final
 * (issue 26 step 5). A set of apps with several sources (a path, the Hub's replay, S3, a Job's run output), a
 * `pod_template` naming a PodTemplate in the cluster, depends_on (sync waves), and the namespace from
 * --namespace, from the file and from the kubeconfig context, on the test bed's cluster.
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
import { cliIn } from "./kubernetes-support.ts";

const PART_OF = "applyset.kubernetes.io/part-of";
// the test bed's S3 stand-in takes any credentials; a bucket of this file's own
const AWS = {
  AWS_ACCESS_KEY_ID: "testing",
  AWS_SECRET_ACCESS_KEY: "testing-secret-key",
  AWS_REGION: "us-east-1",
  AWS_EC2_METADATA_DISABLED: "true",
};
const BUCKET = `pe-models-${process.pid}-${Date.now().toString(36)}`;
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

/** Both commands over the same file and flags: every object equal, in the same order. */
function compare(dir: string, flags: string[]): Obj[] {
  const cli = cliIn(dir);
  const render = cli(["render", "--resolve", "--dry-run", ...flags], AWS);
  assert.equal(render.code, 0, render.stderr);
  const deploy = cli(["deploy", "--dry-run=client", "-o", "yaml", ...flags], AWS);
  assert.equal(deploy.code, 0, deploy.stderr);
  const rendered = objectsOf(render.stdout);
  const deployed = objectsOf(deploy.stdout);
  assert.equal(deployed.filter((o) => o.metadata.labels?.[APPLYSET_ID]).length, 4, "one ApplySet parent per app");
  assert.deepEqual(withoutApplySet(deployed), rendered);
  return rendered;
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
