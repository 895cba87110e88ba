/**
 * deploy → Ready on a GPU node of the requested type → unchanged re-deploy → dry runs → rollout of a new
 * model and replica count → pruning of the cache PVC → status, list, logs → delete, against the test
 * bed's control plane. The API key is generated once and never rotated.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { JSON_KEYS, workdir } from "../support/cli.ts";
import {
  cliIn,
  kubectl,
  kubectlJson,
  podsOf,
  resourceVersions,
  waitUntil,
  withNamespaceFreed,
} from "./kubernetes-support.ts";

const APP = "chat";
let ns: string;
let cleanup: () => Promise<void>;
let dir: string;
let cli: ReturnType<typeof cliIn>;

function appYaml({ model = "/models/qwen3-0.6b", replicas = 1, cache = true } = {}): string {
  return `name: ${APP}
model_path: ${model}
model_id: small-chat
resources:
  gpu: "L4:1"
scaling:
  replicas: ${replicas}
${cache ? "cache:\n  size: 10Gi\n  access_mode: ReadWriteMany\n" : ""}`;
}
const writeApp = (opts?: Parameters<typeof appYaml>[0]) =>
  writeFileSync(path.join(dir, "vllm-app.yaml"), appYaml(opts));
const apiKeySecret = async () => kubectlJson(["-n", ns, "get", "secret", `${APP}-api-key`, "--show-managed-fields"]);

before(async () => {
  ({ ns, cleanup } = await withNamespaceFreed("vk-deploy"));
  dir = workdir();
  cli = cliIn(dir);
  writeApp();
  // a volume for the cache claim to bind to (the test bed has no provisioner)
  await kubectl(["apply", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: `${ns}-cache`, labels: { "vllmapp-test": ns } },
      spec: {
        capacity: { storage: "10Gi" },
        accessModes: ["ReadWriteMany"],
        hostPath: { path: "/tmp/unused" },
        claimRef: { namespace: ns, name: `${APP}-cache` },
      },
    }),
  });
});

after(async () => {
  await kubectl(["delete", "pv", "-l", `vllmapp-test=${ns}`, "--wait=false"], { allowFail: true });
  await cleanup();
});

test("deploy applies the app and waits until its replica is Ready on a node with the requested GPU type", async () => {
  const r = cli(["deploy", "-n", ns]);
  assert.equal(r.code, 0, r.stderr);
  const [summary, timeline] = r.stdout.split(/(?=^  start now )/m);
  assert.equal(
    summary,
    `${APP} (namespace ${ns})
  created   Secret/${APP}-api-key
  created   PersistentVolumeClaim/${APP}-cache
  created   Service/${APP}
  created   Deployment/${APP}
  created   NetworkPolicy/${APP}
  ready     1/1
  endpoint  http://${APP}.${ns}.svc.cluster.local:8000
`,
  );
  // the start it waited for, one line per phase (README "Start-up timeline"); the first, so none before
  assert.match(
    timeline ?? "",
    new RegExp(
      `^  start now \\(${APP}-[a-z0-9]+-[a-z0-9]+#0\\):\\n    scheduling +\\d+\\.\\d s\\n(    \\S.*\\n)*    ready +\\d+\\.\\d s.*\\n  start before:\\n    \\(none recorded\\)\\n$`,
    ),
  );
  assert.match(
    r.stderr,
    new RegExp(`^${APP}: applying 5 objects to namespace ${ns} \\(context vllmapp-testbed\\)$`, "m"),
  );
  assert.match(
    r.stderr,
    new RegExp(
      `^note: ${APP}: generated an API key \\(VLLM_API_KEY\\) into Secret ${APP}-api-key; show it with \`vllmapp status ${APP} --show-api-key\`$`,
      "m",
    ),
  );
  assert.match(r.stderr, new RegExp(`^✔ ${APP}: 1/1 ready$`, "m"));

  const pods = await podsOf(ns, APP);
  assert.equal(pods.length, 1);
  assert.ok(pods[0].status.conditions.some((c: any) => c.type === "Ready" && c.status === "True"));
  const node = await kubectlJson(["get", "node", pods[0].spec.nodeName]);
  assert.equal(node.metadata.labels["nvidia.com/gpu.product"], "NVIDIA-L4");
  assert.equal(pods[0].spec.containers[0].resources.limits["nvidia.com/gpu"], "1");
});

test("the objects carry the ApplySet labels kubectl understands, and the API key is filled once by its own field manager", async () => {
  const parent = await kubectlJson(["-n", ns, "get", "secret", `applyset-${APP}`]);
  const id = parent.metadata.labels["applyset.kubernetes.io/id"];
  assert.match(id, /^applyset-[A-Za-z0-9_-]{43}-v1$/);
  assert.equal(parent.metadata.annotations["applyset.kubernetes.io/tooling"], "vllmapp/v0.1.0");
  assert.equal(
    parent.metadata.annotations["applyset.kubernetes.io/contains-group-kinds"],
    "Deployment.apps,NetworkPolicy.networking.k8s.io,PersistentVolumeClaim,Secret,Service",
  );
  const members = await kubectlJson([
    "-n",
    ns,
    "get",
    "deployments,services,secrets,persistentvolumeclaims",
    "-l",
    `applyset.kubernetes.io/part-of=${id}`,
    "--show-managed-fields",
  ]);
  assert.deepEqual(members.items.map((o: any) => `${o.kind}/${o.metadata.name}`).sort(), [
    `Deployment/${APP}`,
    `PersistentVolumeClaim/${APP}-cache`,
    `Secret/${APP}-api-key`,
    `Service/${APP}`,
  ]);
  for (const o of members.items)
    assert.ok(
      o.metadata.managedFields.some((m: any) => m.manager === "vllmapp" && m.operation === "Apply"),
      `${o.kind} applied by vllmapp`,
    );

  const secret = await apiKeySecret();
  const keygen = secret.metadata.managedFields.find((m: any) => m.manager === "vllmapp-keygen");
  assert.ok(keygen?.fieldsV1["f:data"]["f:VLLM_API_KEY"], "the key is owned by vllmapp-keygen");
  const key = Buffer.from(secret.data.VLLM_API_KEY, "base64").toString();
  assert.match(key, /^[A-Za-z0-9_-]{43}$/);

  const shown = cli(["status", "-n", ns, "--show-api-key", "--json"]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.equal(JSON.parse(shown.stdout).apps[0].apiKey, key);
  assert.deepEqual(
    Object.keys(JSON.parse(shown.stdout).apps[0]).sort(),
    JSON_KEYS.appStatus,
    "the shared AppStatus keys (src/target.ts)",
  );
  const plain = cli(["status", "-n", ns, "--json"]);
  assert.ok(!plain.stdout.includes(key) && !plain.stderr.includes(key), "the key is printed only when asked");
});

test("re-running deploy unchanged changes nothing: same resourceVersions, same API key", async () => {
  const before = await resourceVersions(ns, APP);
  const key = (await apiKeySecret()).data.VLLM_API_KEY;
  const r = cli(["deploy", "-n", ns]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    new RegExp(
      `^  unchanged  Secret/${APP}-api-key\\n  unchanged  PersistentVolumeClaim/${APP}-cache\\n  unchanged  Service/${APP}\\n  unchanged  Deployment/${APP}\\n`,
      "m",
    ),
  );
  assert.doesNotMatch(r.stderr, /generated an API key/);
  assert.deepEqual(await resourceVersions(ns, APP), before);
  assert.equal((await apiKeySecret()).data.VLLM_API_KEY, key);
});

test("--dry-run=client and --dry-run=server print the plan and write nothing", async () => {
  writeApp({ replicas: 2 });
  const before = await resourceVersions(ns, APP);
  for (const mode of ["client", "server"]) {
    const r = cli(["deploy", "-n", ns, `--dry-run=${mode}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      `${APP} (namespace ${ns}) — dry run (${mode}), nothing written
  unchanged  Secret/${APP}-api-key
  unchanged  PersistentVolumeClaim/${APP}-cache
  unchanged  Service/${APP}
  configure  Deployment/${APP}
  create     PodDisruptionBudget/${APP}
  unchanged  NetworkPolicy/${APP}
`,
    );
  }
  const yaml = cli(["deploy", "-n", ns, "--dry-run=client", "-o", "yaml"]);
  assert.equal(yaml.code, 0, yaml.stderr);
  const docs = parseAllDocuments(yaml.stdout).map((d) => d.toJS());
  assert.deepEqual(
    docs.map((d) => `${d.kind}/${d.metadata.name}`),
    [
      `Secret/applyset-${APP}`,
      `Secret/${APP}-api-key`,
      `PersistentVolumeClaim/${APP}-cache`,
      `Service/${APP}`,
      `Deployment/${APP}`,
      `PodDisruptionBudget/${APP}`,
      `NetworkPolicy/${APP}`,
    ],
  );
  assert.equal(docs[4].spec.replicas, 2);
  const json = JSON.parse(cli(["deploy", "-n", ns, "--dry-run=client", "-o", "json"]).stdout);
  assert.deepEqual(
    json.apps[0].changes.find((c: any) => c.kind === "Deployment"),
    { kind: "Deployment", name: APP, action: "configure" },
  );
  assert.equal(json.apps[0].objects.length, 7);
  assert.deepEqual([Object.keys(json).sort(), json.dryRun], [JSON_KEYS.deployResult, "client"]);
  assert.deepEqual(
    Object.keys(json.apps[0]).sort(),
    JSON_KEYS.deployedApp,
    "the shared DeployedApp keys (src/target.ts)",
  );
  assert.deepEqual(await resourceVersions(ns, APP), before);
  assert.equal((await kubectlJson(["-n", ns, "get", "deployment", APP])).spec.replicas, 1);
});

test("changing the model and the replica count rolls out: two Ready replicas serving the new model", async () => {
  writeApp({ model: "/models/qwen3-8b", replicas: 2 });
  const r = cli(["deploy", "-n", ns]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^  configured  Deployment/${APP}$`, "m"));
  assert.match(r.stderr, new RegExp(`^✔ ${APP}: 2/2 ready$`, "m"));
  const dep = await kubectlJson(["-n", ns, "get", "deployment", APP]);
  assert.equal(dep.metadata.annotations["vllmapp.dev/model-uri"], "/models/qwen3-8b");
  const pods = await podsOf(ns, APP);
  assert.equal(pods.length, 2);
  for (const p of pods) {
    assert.equal(p.spec.containers[0].args[0], "/models/qwen3-8b");
    assert.ok(p.status.conditions.some((c: any) => c.type === "Ready" && c.status === "True"));
  }
});

test("removing cache from the YAML prunes the PVC", async () => {
  writeApp({ model: "/models/qwen3-8b", replicas: 2, cache: false });
  const r = cli(["deploy", "-n", ns]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^  pruned      PersistentVolumeClaim/${APP}-cache$`, "m"));
  await waitUntil(
    "the cache PVC to be gone",
    async () => (await kubectl(["-n", ns, "get", "pvc", `${APP}-cache`], { allowFail: true })).code !== 0,
  );
  const parent = await kubectlJson(["-n", ns, "get", "secret", `applyset-${APP}`]);
  assert.equal(
    parent.metadata.annotations["applyset.kubernetes.io/contains-group-kinds"],
    "Deployment.apps,NetworkPolicy.networking.k8s.io,PodDisruptionBudget.policy,Secret,Service",
  );
});

test("status, list and logs read the app from the cluster", async () => {
  const s = cli(["status", "-n", ns]);
  assert.equal(s.code, 0, s.stderr);
  assert.match(
    s.stdout,
    new RegExp(
      `^${APP} \\(namespace ${ns}\\)\\n  ready     2/2\\n  endpoint  http://${APP}\\.${ns}\\.svc\\.cluster\\.local:8000\\n  model     small-chat \\(/models/qwen3-8b\\)\\n  image     vllm/vllm-openai:v0\\.34\\.0\\n  age       \\d+s\\n  startup   starting \\d+\\.\\d s, ready at \\d+\\.\\d s\\n$`,
    ),
  );
  const l = cli(["list", "-n", ns]);
  assert.equal(l.code, 0, l.stderr);
  assert.match(l.stdout, new RegExp(`^NAME  READY  MODEL       AGE\\n${APP}  2/2    small-chat  \\d+s\\n$`));
  const list = JSON.parse(cli(["list", "-n", ns, "--json"]).stdout);
  assert.deepEqual(Object.keys(list).sort(), JSON_KEYS.listResult);
  assert.deepEqual(
    { ...list.apps[0], age: undefined },
    {
      name: APP,
      namespace: ns,
      ready: true,
      replicas: { ready: 2, desired: 2 },
      endpoint: null,
      modelId: "small-chat",
      image: "vllm/vllm-openai:v0.34.0",
      state: null,
      age: undefined,
    },
  );
  const logs = cli(["logs", "-n", ns]);
  assert.equal(logs.code, 0, logs.stderr);
  const pods = (await podsOf(ns, APP)).map((p) => p.metadata.name).sort();
  const lines = logs.stdout.trimEnd().split("\n");
  for (const line of lines) assert.match(line, /^\[chat-[a-z0-9]+-[a-z0-9]+\] /);
  assert.deepEqual([...new Set(lines.map((l) => /^\[([^\]]+)\]/.exec(l)![1]))], pods);
  assert.ok(lines.some((l) => l.endsWith("Application startup complete.")));
});

test("depends_on: the dependency is applied and Ready before the app that needs it", () => {
  const two = workdir({
    "vllm-app.yaml": `name: front
model_path: /models/front
resources: {gpu: "L4:1"}
depends_on: [embed]
---
name: embed
model_path: /models/embed
resources: {gpu: "A100 80G:1"}
`,
  });
  const r = cliIn(two)(["deploy", "-n", ns]);
  assert.equal(r.code, 0, r.stderr);
  const order = [/^embed: applying/m, /^✔ embed: 1\/1 ready$/m, /^front: applying/m, /^✔ front: 1\/1 ready$/m].map(
    (re) => r.stderr.search(re),
  );
  assert.ok(order.every((at) => at >= 0) && order.every((at, i) => i === 0 || at > order[i - 1]!), r.stderr);
  const gone = cliIn(two)(["delete", "-n", ns]);
  assert.equal(gone.code, 0, gone.stderr);
});

test("delete removes everything with the app's labels; the cache PVC stays unless --purge-cache", async () => {
  writeApp({ model: "/models/qwen3-8b", replicas: 2 });
  const redeploy = cli(["deploy", "-n", ns, "--no-wait"]);
  assert.equal(redeploy.code, 0, redeploy.stderr);
  const d = cli(["delete", "-n", ns]);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, new RegExp(`^  deleted  Deployment/${APP}$`, "m"));
  assert.match(d.stdout, new RegExp(`^  deleted  Secret/applyset-${APP}$`, "m"));
  assert.match(
    d.stdout,
    new RegExp(`^  kept     PersistentVolumeClaim/${APP}-cache \\(the model cache; --purge-cache deletes it\\)$`, "m"),
  );
  assert.match(d.stderr, new RegExp(`^✔ ${APP}: deleted from namespace ${ns}$`, "m"));
  assert.deepEqual(Object.keys(await resourceVersions(ns, APP)), [`PersistentVolumeClaim/${APP}-cache`]);
  assert.deepEqual(await podsOf(ns, APP), []);
  const purge = cli(["delete", "-n", ns, "--purge-cache"]);
  assert.equal(purge.code, 0, purge.stderr);
  assert.equal(purge.stdout, `${APP} (namespace ${ns})\n  deleted  PersistentVolumeClaim/${APP}-cache\n`);
  const left = await kubectlJson([
    "-n",
    ns,
    "get",
    "all,secrets,configmaps,persistentvolumeclaims,ingresses",
    "-l",
    `vllmapp.dev/app=${APP}`,
  ]);
  assert.deepEqual(left.items, []);
  const again = cli(["delete", "-n", ns]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, `${APP}: nothing to delete in namespace ${ns}\n`);
});
