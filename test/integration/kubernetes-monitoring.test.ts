/**
 * monitoring: against the test bed's API server with prometheus-operator's CRDs (test/fixtures/crds):
 * without them the deploy stops naming how to install them; a Prometheus whose selectors leave out the
 * PodMonitor is a warning naming the label to add; the PodMonitor, the dashboard ConfigMap and the
 * PrometheusRule land; with the label, no warning; dropping dashboard and alerts prunes them; delete
 * removes the rest.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { ROOT, workdir } from "../support/cli.ts";
import { cliIn, kubectl, kubectlJson, withNamespaceFreed } from "./kubernetes-support.ts";

const CRDS = [
  "monitoring.coreos.com_podmonitors.yaml",
  "monitoring.coreos.com_prometheusrules.yaml",
  "monitoring.coreos.com_prometheuses.yaml",
].map((f) => path.join(ROOT, "test", "fixtures", "crds", f));
const files = (list: string[]) => list.flatMap((f) => ["-f", f]);

let ns: string;
let promNs: string;
let cleanup: () => Promise<void>;
let cleanupProm: () => Promise<void>;
let dir: string;
let cli: ReturnType<typeof cliIn>;

function write(monitoring: string) {
  writeFileSync(
    path.join(dir, "vllm-app.yaml"),
    `name: watched\nmodel_path: /models/tiny\nmodel_id: tiny\nresources: {cpu: "1", memory: 2Gi}\nmonitoring:\n${monitoring}`,
  );
}

before(async () => {
  ({ ns, cleanup } = await withNamespaceFreed("vk-mon"));
  ({ ns: promNs, cleanup: cleanupProm } = await withNamespaceFreed("vk-prom"));
  dir = workdir();
  cli = cliIn(dir);
});

after(async () => {
  await cleanup();
  await cleanupProm();
  await kubectl(["delete", ...files(CRDS), "--ignore-not-found", "--wait=false"], { allowFail: true });
});

test("without prometheus-operator's CRDs the deploy stops before anything is written, naming how to install them", async () => {
  await kubectl(["delete", ...files(CRDS), "--ignore-not-found", "--wait=true"]);
  write("  alerts: true\n");
  const r = cli(["deploy", "-n", ns]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(
    r.stderr,
    /^ {2}- the cluster serves no PodMonitor \(monitoring\.coreos\.com\/v1\): the CRD podmonitors\.monitoring\.coreos\.com is not installed$/m,
  );
  assert.match(
    r.stderr,
    /^ {2}- the cluster serves no PrometheusRule \(monitoring\.coreos\.com\/v1\): the CRD prometheusrules\.monitoring\.coreos\.com is not installed$/m,
  );
  assert.match(
    r.stderr,
    /^ {2}hint: install prometheus-operator \(its CRDs: kubectl apply --server-side -f https:\/\/github\.com\/prometheus-operator\/prometheus-operator\/releases\/download\/v0\.93\.0\/stripped-down-crds\.yaml; or the kube-prometheus-stack chart\), or set monitoring\.pod_monitor: false \(and drop dashboard\/alerts\) and scrape vLLM yourself$/m,
  );
  assert.equal(
    (await kubectl(["-n", ns, "get", "deployment", "watched"], { allowFail: true })).code,
    1,
    "nothing was applied",
  );
});

test("a Prometheus that selects other PodMonitors is a warning naming the label to add; the objects land", async () => {
  await kubectl(["apply", "--server-side", ...files(CRDS)]);
  await kubectl(["wait", "--for=condition=Established", ...files(CRDS), "--timeout=60s"]);
  await kubectl(["-n", promNs, "apply", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "monitoring.coreos.com/v1",
      kind: "Prometheus",
      metadata: { name: "k8s" },
      spec: {
        podMonitorSelector: { matchLabels: { release: "kps" } },
        podMonitorNamespaceSelector: {},
        ruleSelector: {},
        ruleNamespaceSelector: {},
      },
    }),
  });
  write("  dashboard: true\n  alerts: true\n");
  const r = cli(["deploy", "-n", ns, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `^warning: watched: no Prometheus selects PodMonitor ${ns}/watched: Prometheus ${promNs}/k8s selects PodMonitors labelled release=kps; add monitoring\\.labels: \\{release: kps\\}$`,
      "m",
    ),
  );
  assert.doesNotMatch(r.stderr, /selects PrometheusRule/, "its rule selectors take every rule");
  const changes = JSON.parse(r.stdout).apps[0].changes.map((c: any) => `${c.kind}/${c.name}`);
  for (const o of ["PodMonitor/watched", "PrometheusRule/watched", "ConfigMap/watched-dashboard"])
    assert.ok(changes.includes(o), `${o} in ${changes}`);
  const pm = await kubectlJson(["-n", ns, "get", "podmonitor", "watched"]);
  assert.deepEqual(pm.spec.selector.matchLabels, {
    "vllmapp.dev/app": "watched",
    "app.kubernetes.io/component": "model-server",
  });
  assert.deepEqual(pm.spec.podMetricsEndpoints, [{ port: "http", path: "/metrics", interval: "30s" }]);
  const pod = (await kubectlJson(["-n", ns, "get", "pods", "-l", "vllmapp.dev/app=watched"])).items[0];
  for (const [k, v] of Object.entries(pm.spec.selector.matchLabels))
    assert.equal(pod.metadata.labels[k], v, "the PodMonitor selects the server's pods");
  assert.ok(
    pod.spec.containers[0].ports.some((p: any) => p.name === "http"),
    "on the port it names",
  );
  const rule = await kubectlJson(["-n", ns, "get", "prometheusrule", "watched"]);
  assert.ok(
    rule.spec.groups[0].rules.some(
      (x: any) =>
        x.alert === "VllmKvCacheNearlyFull" &&
        x.expr.includes('vllmapp_dev_app="watched"') &&
        !x.expr.includes("namespace="),
    ),
  );
  const cm = await kubectlJson(["-n", ns, "get", "configmap", "watched-dashboard"]);
  assert.equal(cm.metadata.labels.grafana_dashboard, "1");
  assert.equal(JSON.parse(cm.data["vllm-watched.json"]).uid, "vllmapp-watched");
});

test("with the label the Prometheus selects there is no warning; what the file drops is pruned; delete removes the rest", async () => {
  write("  labels: {release: kps}\n");
  const r = cli(["deploy", "-n", ns]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /Prometheus/);
  assert.match(r.stdout, /^ {2}pruned +PrometheusRule\/watched$/m);
  assert.match(r.stdout, /^ {2}pruned +ConfigMap\/watched-dashboard$/m);
  assert.equal((await kubectlJson(["-n", ns, "get", "podmonitor", "watched"])).metadata.labels.release, "kps");
  const d = cli(["delete", "watched", "-n", ns, "--json"]);
  assert.equal(d.code, 0, d.stderr);
  assert.ok(JSON.parse(d.stdout).apps[0].deleted.includes("PodMonitor/watched"));
  assert.equal((await kubectl(["-n", ns, "get", "podmonitors,prometheusrules", "-o", "name"])).stdout.trim(), "");
});
