/**
 * What deploy checks before it writes, and how API failures read: missing namespace, Secrets, keys,
 * PodTemplate and CRDs all named at once; --create-secrets from the environment (the values never show);
 * a named PodTemplate merged in; unreachable server, bad credentials, 403, 409 with --force-conflicts, 422.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ROOT, workdir } from "../support/cli.ts";
import { cliIn, kubectl, kubectlJson, resourceVersions, withNamespaceFreed } from "./kubernetes-support.ts";

const HF = `hf_${randomBytes(12).toString("hex")}`;
const WANDB = `wandb-${randomBytes(12).toString("hex")}`;
const KEDA_CRD = "scaledobjects.keda.sh";
const POD_MONITOR_CRD = "podmonitors.monitoring.coreos.com";
let ns: string;
let cleanup: () => Promise<void>;
let dir: string;
/** every stdout and stderr of this file, for the leak check */
const outputs: string[] = [];
let cli: ReturnType<typeof cliIn>;

const APP_YAML = `name: gated
model_path: /models/llama
resources: {gpu: "L4:1"}
scaling: {replicas: [1, 3]}
secrets:
  - HF_TOKEN
  - WANDB_API_KEY
  - env_var: AWS_SECRET_ACCESS_KEY
    secret: s3-credentials
    key: secret-key
pod_template: house-defaults
`;

before(async () => {
  ({ ns, cleanup } = await withNamespaceFreed("vk-pre"));
  dir = workdir({ "vllm-app.yaml": APP_YAML });
  cli = cliIn(dir, outputs);
});

after(async () => {
  await kubectl(["delete", "crd", KEDA_CRD, POD_MONITOR_CRD, "--wait=false"], { allowFail: true });
  await cleanup();
});

test("every missing prerequisite is named at once, before anything is written", async () => {
  const missingNs = `${ns}-nope`;
  const r = cli(["deploy", "-n", missingNs]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `^error: gated \\(namespace ${missingNs}\\) cannot be deployed:
  - namespace ${missingNs} does not exist
  - PodTemplate house-defaults \\(pod_template\\) does not exist in namespace ${missingNs}
  - the cluster serves no ScaledObject \\(keda\\.sh/v1alpha1\\): the CRD ${KEDA_CRD.replaceAll(".", "\\.")} is not installed
  - the cluster serves no PodMonitor \\(monitoring\\.coreos\\.com/v1\\): the CRD ${POD_MONITOR_CRD.replaceAll(".", "\\.")} is not installed
  - Secret gated-secrets does not exist in namespace ${missingNs} \\(needs keys HF_TOKEN, WANDB_API_KEY\\)
  - Secret s3-credentials does not exist in namespace ${missingNs} \\(needs key secret-key\\)
  hint: pass --create-namespace to create it, or pick another with --namespace
  hint: install KEDA \\(https://keda\\.sh/docs/latest/deploy/\\), or give scaling\\.replicas a fixed number
  hint: install prometheus-operator \\(its CRDs: kubectl apply --server-side -f https:\\/\\/github\\.com\\/prometheus-operator\\/prometheus-operator\\/releases\\/download\\/v0\\.93\\.0\\/stripped-down-crds\\.yaml; or the kube-prometheus-stack chart\\), or set monitoring\\.pod_monitor: false \\(and drop dashboard\\/alerts\\) and scrape vLLM yourself
  hint: pass --create-secrets to create gated-secrets from your environment \\(HF_TOKEN, WANDB_API_KEY\\)
  hint: create it: kubectl create secret generic s3-credentials -n ${missingNs} --from-literal=secret-key=…
$`,
      "m",
    ),
  );
  assert.equal((await kubectl(["get", "namespace", missingNs], { allowFail: true })).code, 1, "nothing was created");
  assert.deepEqual(await resourceVersions(ns, "gated"), {});
});

test("--create-secrets without the variables in the environment is a usage error (exit 2) naming them", () => {
  const r = cli(["deploy", "-n", ns, "--create-secrets"], { HF_TOKEN: HF, WANDB_API_KEY: undefined });
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /^ {2}- WANDB_API_KEY is not set in this environment \(--create-secrets: Secret gated-secrets key WANDB_API_KEY\)$/m,
  );
  assert.doesNotMatch(r.stderr, /HF_TOKEN is not set/);
});

test("with the cluster ready, --create-secrets fills <app>-secrets from the environment and the PodTemplate is merged", async () => {
  await kubectl([
    "-n",
    ns,
    "create",
    "secret",
    "generic",
    "s3-credentials",
    "--from-literal=secret-key=not-checked-here",
  ]);
  await kubectl(["apply", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: KEDA_CRD },
      spec: {
        group: "keda.sh",
        scope: "Namespaced",
        names: {
          kind: "ScaledObject",
          plural: "scaledobjects",
          singular: "scaledobject",
          listKind: "ScaledObjectList",
        },
        versions: [
          {
            name: "v1alpha1",
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
          },
        ],
      },
    }),
  });
  await kubectl([
    "apply",
    "--server-side",
    "-f",
    path.join(ROOT, "test", "fixtures", "crds", "monitoring.coreos.com_podmonitors.yaml"),
  ]);
  await kubectl(["wait", "--for=condition=Established", `crd/${KEDA_CRD}`, `crd/${POD_MONITOR_CRD}`]);
  await kubectl(["-n", ns, "apply", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "v1",
      kind: "PodTemplate",
      metadata: { name: "house-defaults" },
      template: {
        metadata: { labels: { team: "ml-platform" } },
        spec: {
          containers: [
            { name: "vllm", image: "overridden", env: [{ name: "HOUSE", value: "1" }] },
            { name: "metrics-sidecar", image: "busybox:1.36" },
          ],
        },
      },
    }),
  });
  const r = cli(["deploy", "-n", ns, "--create-secrets", "--json"], { HF_TOKEN: HF, WANDB_API_KEY: WANDB });
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.deepEqual(result.prerequisites, ["Secret/gated-secrets (keys HF_TOKEN, WANDB_API_KEY)"]);
  assert.deepEqual(
    result.apps[0].changes.map((c: any) => `${c.action} ${c.kind}/${c.name}`),
    [
      "create Secret/gated-api-key",
      "create Service/gated",
      "create Deployment/gated",
      "create PodDisruptionBudget/gated",
      "create NetworkPolicy/gated",
      "create ScaledObject/gated",
      "create PodMonitor/gated",
    ],
  );
  const secret = await kubectlJson(["-n", ns, "get", "secret", "gated-secrets"]);
  assert.equal(Buffer.from(secret.data.HF_TOKEN, "base64").toString(), HF);
  assert.equal(Buffer.from(secret.data.WANDB_API_KEY, "base64").toString(), WANDB);
  assert.equal(secret.metadata.labels["vllmapp.dev/app"], "gated");
  const pod = (await kubectlJson(["-n", ns, "get", "deployment", "gated"])).spec.template;
  assert.equal(pod.metadata.labels.team, "ml-platform");
  assert.deepEqual(
    pod.spec.containers.map((c: any) => c.name),
    ["vllm", "metrics-sidecar"],
  );
  assert.equal(pod.spec.containers[0].image, "vllm/vllm-openai:v0.34.0", "vllmapp's fields win over the PodTemplate's");
  assert.ok(pod.spec.containers[0].env.some((e: any) => e.name === "HOUSE" && e.value === "1"));
  assert.equal((await kubectlJson(["-n", ns, "get", "scaledobject", "gated"])).spec.maxReplicaCount, 3);
});

test("the secret values never appear in any output, JSON or error", () => {
  // a failing deploy after the secrets exist, and status/logs, with the values still in the environment
  writeFileSync(path.join(dir, "vllm-app.yaml"), APP_YAML.replace('gpu: "L4:1"', 'gpu: "L4:16"'));
  const failed = cli(["deploy", "-n", ns, "--create-secrets"], { HF_TOKEN: HF, WANDB_API_KEY: WANDB });
  assert.equal(failed.code, 6, failed.stderr);
  cli(["deploy", "-n", ns, "--create-secrets", "--dry-run=client", "-o", "yaml"], {
    HF_TOKEN: HF,
    WANDB_API_KEY: WANDB,
  });
  cli(["deploy", "-n", ns, "--create-secrets", "--dry-run=server", "--json"], { HF_TOKEN: HF, WANDB_API_KEY: WANDB });
  cli(["status", "-n", ns, "--json"], { HF_TOKEN: HF, WANDB_API_KEY: WANDB });
  cli(["status", "-n", ns, "--show-api-key"], { HF_TOKEN: HF, WANDB_API_KEY: WANDB });
  const b64 = [HF, WANDB].map((v) => Buffer.from(v).toString("base64"));
  for (const out of outputs)
    for (const v of [HF, WANDB, ...b64]) assert.ok(!out.includes(v), `a secret value leaked into:\n${out}`);
  writeFileSync(path.join(dir, "vllm-app.yaml"), APP_YAML);
});

test("a field another manager owns is a conflict naming the manager; --force-conflicts takes it over", async () => {
  await kubectl(["-n", ns, "set", "image", "deployment/gated", "vllm=vllm/vllm-openai:v0.18.0"]);
  const r = cli(["deploy", "-n", ns, "--no-wait"]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(
    r.stderr,
    /^error: apply Deployment\/gated: fields another field manager owns: \.spec\.template\.spec\.containers\[name="vllm"\]\.image \(owned by "kubectl-set"\)/m,
  );
  assert.match(r.stderr, /^ {2}hint: .*rerun with --force-conflicts to take them over/m);
  const forced = cli(["deploy", "-n", ns, "--no-wait", "--force-conflicts"]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /^ {2}configured +Deployment\/gated$/m);
  assert.equal(
    (await kubectlJson(["-n", ns, "get", "deployment", "gated"])).spec.template.spec.containers[0].image,
    "vllm/vllm-openai:v0.34.0",
  );
});

test("a field the API server rejects is named (422), and nothing of the app is applied", async () => {
  const bad = workdir({
    "vllm-app.yaml": `name: badport\nmodel_path: /models/x\nresources: {gpu: "L4:1"}\npod_template:\n  spec:\n    containers:\n      - name: vllm\n        ports: [{containerPort: 99999, name: metrics}]\n`,
  });
  const r = cliIn(bad, outputs)(["deploy", "-n", ns]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(
    r.stderr,
    /^error: apply Deployment\/badport: the API server rejected it: spec\.template\.spec\.containers\[0\]\.ports\[1\]\.containerPort: Invalid value: 99999: must be between 1 and 65535, inclusive$/m,
  );
  // checked with a server-side dry run before anything is written: nothing of the app was applied
  const left = await kubectl([
    "-n",
    ns,
    "get",
    "secrets,services,deployments",
    "-l",
    "app.kubernetes.io/name=badport",
    "-o",
    "name",
  ]);
  assert.equal(left.stdout.trim(), "");
  assert.equal((await kubectl(["-n", ns, "get", "secret", "applyset-badport"], { allowFail: true })).code, 1);
});

test("an unreachable server, bad credentials and a missing permission are said plainly (exit 3)", async () => {
  const admin = readFileSync(process.env.KUBECONFIG!, "utf8");
  const server = /server: (\S+)/.exec(admin)![1]!;
  const ca = /certificate-authority-data: (\S+)/.exec(admin)![1]!;
  await kubectl(["-n", ns, "create", "serviceaccount", "viewer"]);
  await kubectl(["-n", ns, "create", "rolebinding", "viewer", "--clusterrole=view", `--serviceaccount=${ns}:viewer`]);
  const token = (await kubectl(["-n", ns, "create", "token", "viewer"])).stdout.trim();
  const kubeconfig = (name: string, url: string, tok: string) => {
    const file = path.join(dir, `${name}.kubeconfig`);
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "tb", cluster: { server: url, "certificate-authority-data": ca } }],
        users: [{ name: "u", user: { token: tok } }],
        contexts: [{ name, context: { cluster: "tb", user: "u", namespace: ns } }],
        "current-context": name,
      }),
    );
    return file;
  };
  const down = cli(["status", "gated", "--kubeconfig", kubeconfig("down", "https://127.0.0.1:1", token)]);
  assert.equal(down.code, 3);
  assert.equal(
    down.stderr,
    `error: cannot reach the Kubernetes API at https://127.0.0.1:1 (context "down"): connection refused\n  hint: is the cluster up and the kubeconfig current? check with \`kubectl cluster-info --context down\`\n`,
  );
  const bogus = cli(["list", "--kubeconfig", kubeconfig("bogus", server, "not-a-token")]);
  assert.equal(bogus.code, 3);
  assert.match(
    bogus.stderr,
    new RegExp(
      `^error: the Kubernetes API at ${server.replaceAll(".", "\\.")} rejected the credentials of context "bogus" \\(401 Unauthorized\\)$`,
      "m",
    ),
  );
  const viewer = kubeconfig("viewer", server, token);
  const seen = cli(["status", "gated", "--kubeconfig", viewer]);
  assert.equal(seen.code, 0, seen.stderr);
  const denied = cli(["delete", "gated", "--kubeconfig", viewer]);
  assert.equal(denied.code, 3);
  assert.equal(
    denied.stderr,
    `error: read the applyset of gated: forbidden: "system:serviceaccount:${ns}:viewer" may not get secrets in namespace ${ns}\n  hint: ask a cluster admin for a Role granting "get" on secrets; check with \`kubectl auth can-i get secrets -n ${ns}\`\n`,
  );
});
