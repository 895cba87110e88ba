/**
 * Pod Security and Kubernetes versions in what `render` prints: every golden case's pods meet restricted
 * (the admission's own verdict is test/integration/render-server-dry-run.test.ts), security.profile opts
 * out and render says the level, and --kube-version renders the form each minor takes (built CLI: the exit
 * codes and stderr users see).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import path from "node:path";
import { plan, type Plan } from "../../../src/app/plan.ts";
import { nodePlanIo } from "../../../src/app/node-io.ts";
import { podSecurityLevelOf } from "../../../src/render/security.ts";
import type { K8sObject } from "../../../src/render/types.ts";
import { ROOT, runCli, workdir } from "../../support/cli.ts";
import { planYaml } from "../../support/plan.ts";

const planOf = (yaml: string, opts: { kubeMinor?: number } = {}): Promise<Plan> => planYaml(yaml, opts);

/** Every pod template of the objects: Deployment, LeaderWorkerSet leader and worker, Job. */
function podsOf(objects: readonly K8sObject[]): { name: string; spec: any }[] {
  return objects.flatMap((o: any) => {
    const lws = o.spec?.leaderWorkerTemplate;
    if (lws)
      return [
        { name: `${o.metadata.name} leader`, spec: lws.leaderTemplate.spec },
        { name: `${o.metadata.name} worker`, spec: lws.workerTemplate.spec },
      ];
    return o.spec?.template?.spec?.containers
      ? [{ name: `${o.kind}/${o.metadata.name}`, spec: o.spec.template.spec }]
      : [];
  });
}

const BASE = "name: qwen\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources: {gpu: L4:1}\n";

test("every golden case renders pods that meet Pod Security restricted, run as UID 10001 and mount no service-account token", async () => {
  const cases = path.join(ROOT, "test", "golden", "cases");
  let pods = 0;
  for (const name of readdirSync(cases)) {
    const p = await plan(
      { file: path.join(cases, name, "vllm-app.yaml"), target: "kubernetes", params: new Map() },
      nodePlanIo({ hostHome: "/home/dev" }),
    );
    for (const a of p.apps) {
      for (const pod of podsOf(a.rendered.objects ?? [])) {
        pods++;
        assert.deepEqual(podSecurityLevelOf(pod.spec), { level: "restricted", reasons: [] }, `${name}: ${pod.name}`);
        assert.equal(pod.spec.securityContext.runAsUser, 10001, `${name}: ${pod.name}`);
        assert.equal(
          pod.spec.automountServiceAccountToken,
          a.loaded.config.service_account ? undefined : false,
          `${name}: ${pod.name}`,
        );
        for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
          assert.ok(
            c.resources?.requests?.cpu && c.resources?.requests?.memory && c.resources?.limits?.memory,
            `${name}: ${pod.name} ${c.name} has resources`,
          );
        }
      }
      assert.equal(a.rendered.problems.filter((x) => /Pod Security/.test(x.message)).length, 0, name);
    }
  }
  assert.ok(pods > 20, `${pods} pod templates`);
});

test("security.profile baseline: the image's user, seccomp RuntimeDefault, no escalation; render notes the level and why", async () => {
  const p = await planOf(`${BASE}security: {profile: baseline}\n`);
  assert.deepEqual(p.errors, []);
  const pod = (p.apps[0]!.rendered.objects!.find((o) => o.kind === "Deployment") as any).spec.template.spec;
  assert.deepEqual(pod.securityContext, { seccompProfile: { type: "RuntimeDefault" } });
  assert.deepEqual(pod.containers[0].securityContext, { allowPrivilegeEscalation: false });
  assert.equal(
    pod.volumes.some((v: any) => v.name === "home"),
    false,
  );
  const notes = p.apps[0]!.rendered.problems.filter((x) => /Pod Security/.test(x.message));
  assert.deepEqual(
    notes.map((n) => [n.severity, n.path.join(".")]),
    [["note", "security.profile"]],
  );
  assert.match(
    notes[0]!.message,
    /^the pod meets Pod Security "baseline" \(security.profile baseline\), not "restricted": runAsNonRoot is not true \(vllm\); capabilities are not dropped \(ALL\) \(vllm\)$/,
  );
});

test("security.profile privileged: IPC_LOCK and SYS_PTRACE, seccomp Unconfined; render says only enforce=privileged admits it", async () => {
  const p = await planOf(`${BASE}security: {profile: privileged}\n`);
  const c = (p.apps[0]!.rendered.objects!.find((o) => o.kind === "Deployment") as any).spec.template.spec.containers[0];
  assert.deepEqual(c.securityContext, {
    seccompProfile: { type: "Unconfined" },
    capabilities: { add: ["IPC_LOCK", "SYS_PTRACE"] },
  });
  const note = p.apps[0]!.rendered.problems.find((x) => /Pod Security/.test(x.message))!;
  assert.match(note.message, /meets Pod Security "privileged" .*adds IPC_LOCK, SYS_PTRACE/);
  assert.match(note.hint!, /only enforce=privileged admits it/);
});

test("a pod_template that takes restricted away is a warning naming what it broke", async () => {
  const p = await planOf(
    `${BASE}pod_template: {spec: {containers: [{name: vllm, securityContext: {runAsNonRoot: false}}]}}\n`,
  );
  const w = p.apps[0]!.rendered.problems.find((x) => /Pod Security/.test(x.message))!;
  assert.equal(w.severity, "warning");
  assert.match(
    w.message,
    /meets Pod Security "baseline" \(security.profile restricted, with pod_template or --templates\), not "restricted": runAsNonRoot is not true \(vllm\)$/,
  );
});

test("security.profile: an unknown level is exit 2 naming the levels", () => {
  const dir = workdir({ "vllm-app.yaml": `${BASE}security: {profile: strict}\n` });
  const r = runCli(["render", "--dry-run"], { cwd: dir });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /security\.profile/);
  assert.match(r.stderr, /restricted/);
});

test("render --kube-version: preStop.sleep from 1.30, exec [sleep, 10] with a warning on 1.28/1.29, exit 2 below or malformed", () => {
  const dir = workdir({ "vllm-app.yaml": BASE });
  const preStop = (args: string[]) => {
    const r = runCli(["render", "--dry-run", "-o", "json", ...args], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const dep = JSON.parse(r.stdout).apps[0].objects.find((o: any) => o.kind === "Deployment");
    return { preStop: dep.spec.template.spec.containers[0].lifecycle.preStop, stderr: r.stderr };
  };
  for (const v of [[], ["--kube-version", "1.30"], ["--kube-version", "v1.36.2"]]) {
    const r = preStop(v);
    assert.deepEqual(r.preStop, { sleep: { seconds: 10 } }, v.join(" "));
    assert.doesNotMatch(r.stderr, /supported range/);
  }
  for (const v of ["1.29", "1.28"]) {
    const r = preStop(["--kube-version", v]);
    assert.deepEqual(r.preStop, { exec: { command: ["sleep", "10"] } }, v);
    assert.match(
      r.stderr,
      new RegExp(`warning: .*Kubernetes ${v.replace(".", "\\.")} is below the supported range \\(1\\.30 to 1\\.36\\)`),
    );
  }
  const old = runCli(["render", "--dry-run", "--kube-version", "1.27"], { cwd: dir });
  assert.equal(old.code, 2);
  assert.match(
    old.stderr,
    /--kube-version 1\.27: vllmapp renders for Kubernetes 1\.28 and newer \(supported: 1\.30 to 1\.36\)/,
  );
  const bad = runCli(["render", "--dry-run", "--kube-version", "latest"], { cwd: dir });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--kube-version latest is not a Kubernetes version/);
  const local = runCli(["render", "--dry-run", "--local", "--kube-version", "1.30"], { cwd: dir });
  assert.equal(local.code, 2);
  assert.match(local.stderr, /--kube-version has no effect on the Docker target/);
});

test("--kube-version 1.29 converts the LeaderWorkerSet's leader and worker too; on_shutdown's exec is kept", async () => {
  const lws = await planOf(
    "name: big\nmodel_hf_path: meta-llama/Llama-3.1-405B-Instruct\nresources: {gpu: H100:8}\nparallelism: {tensor: 8, pipeline: 2, nodes: 2}\n",
    { kubeMinor: 29 },
  );
  assert.deepEqual(lws.errors, []);
  const spec = (lws.apps[0]!.rendered.objects!.find((o) => o.kind === "LeaderWorkerSet") as any).spec
    .leaderWorkerTemplate;
  for (const t of [spec.leaderTemplate, spec.workerTemplate])
    assert.deepEqual(t.spec.containers[0].lifecycle.preStop, { exec: { command: ["sleep", "10"] } });
  const hook = await planOf(`${BASE}on_shutdown: "echo bye"\n`, { kubeMinor: 29 });
  const c = (hook.apps[0]!.rendered.objects!.find((o) => o.kind === "Deployment") as any).spec.template.spec
    .containers[0];
  assert.equal(c.lifecycle.preStop.exec.command[0], "/bin/sh");
});

test("two replicas or an autoscaler up to 2+: a PodDisruptionBudget (maxUnavailable 1) and a preferred spread over nodes and zones; one replica gets neither", async () => {
  const spread = (sel: string) =>
    ["kubernetes.io/hostname", "topology.kubernetes.io/zone"].map((topologyKey) => ({
      maxSkew: 1,
      topologyKey,
      whenUnsatisfiable: "ScheduleAnyway",
      labelSelector: { matchLabels: { "vllmapp.dev/app": sel } },
    }));
  for (const scaling of ["scaling: {replicas: 2}\n", "scaling: {replicas: [1, 3], metric: {concurrency: 8}}\n"]) {
    const p = await planOf(`${BASE}${scaling}`);
    assert.deepEqual(p.errors, []);
    const objs = p.apps[0]!.rendered.objects!;
    const pdb = objs.find((o) => o.kind === "PodDisruptionBudget") as any;
    assert.deepEqual(
      [pdb.apiVersion, pdb.metadata.name, pdb.spec],
      [
        "policy/v1",
        "qwen",
        {
          maxUnavailable: 1,
          selector: { matchLabels: { "vllmapp.dev/app": "qwen" } },
          unhealthyPodEvictionPolicy: "AlwaysAllow",
        },
      ],
      scaling,
    );
    assert.deepEqual(
      (objs.find((o) => o.kind === "Deployment") as any).spec.template.spec.topologySpreadConstraints,
      spread("qwen"),
      scaling,
    );
  }
  for (const scaling of [
    "",
    "scaling: {replicas: 1}\n",
    "scaling: {replicas: [0, 1], metric: {concurrency: 8}, wake: http-add-on}\n",
  ]) {
    const objs = (await planOf(`${BASE}${scaling}`)).apps[0]!.rendered.objects!;
    assert.equal(
      objs.some((o) => o.kind === "PodDisruptionBudget"),
      false,
      scaling,
    );
    assert.equal(
      (objs.find((o) => o.kind === "Deployment") as any).spec.template.spec.topologySpreadConstraints,
      undefined,
      scaling,
    );
  }
});

test("NetworkPolicy by default: the pod's ports from anywhere; multi-node, every port between the group's own pods only; network_policy: false renders none", async () => {
  const np = (objs: K8sObject[]) => objs.find((o) => o.kind === "NetworkPolicy") as any;
  const single = np(
    (
      await planOf(
        `${BASE}port: 8080\npod_template: {spec: {containers: [{name: sidecar, image: busybox, ports: [{containerPort: 9100}]}]}}\n`,
      )
    ).apps[0]!.rendered.objects!,
  );
  assert.deepEqual(single.spec, {
    podSelector: { matchLabels: { "vllmapp.dev/app": "qwen" } },
    policyTypes: ["Ingress"],
    ingress: [
      {
        ports: [
          { port: 8080, protocol: "TCP" },
          { port: 9100, protocol: "TCP" },
        ],
      },
    ],
  });
  const multi = np(
    (
      await planOf(
        "name: big\nmodel_hf_path: meta-llama/Llama-3.1-405B-Instruct\nresources: {gpu: H100:8}\nparallelism: {tensor: 8, pipeline: 2, nodes: 2}\n",
      )
    ).apps[0]!.rendered.objects!,
  );
  assert.deepEqual(multi.spec.ingress, [
    { ports: [{ port: 8000, protocol: "TCP" }] },
    { from: [{ podSelector: { matchLabels: { "vllmapp.dev/app": "big" } } }] },
  ]);
  assert.equal(np((await planOf(`${BASE}network_policy: false\n`)).apps[0]!.rendered.objects!), undefined);
});
