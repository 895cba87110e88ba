/**
 * `vllmapp init` and the cluster's GPU node labels: asked on a terminal (the current kube context's
 * kind is the default), given with --cluster, or read from the current kube context (GKE context names,
 * EKS and AKS API server hosts), and written as node_labels.scheme.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { clusterKindOf, currentContext } from "../../src/commands/cluster-kind.ts";
import { BIN, ROOT, runCli, workdir } from "../support/cli.ts";

function kubeconfig(dir: string, context: string, server: string): string {
  const file = path.join(dir, "kubeconfig");
  writeFileSync(
    file,
    `apiVersion: v1\nkind: Config\ncurrent-context: ${context}\ncontexts:\n- name: ${context}\n  context: {cluster: c, user: u}\nclusters:\n- name: c\n  cluster: {server: "${server}"}\nusers:\n- name: u\n  user: {token: t}\n`,
  );
  return file;
}

const NO_HUB = { HF_ENDPOINT: "http://127.0.0.1:2" };

test("the kind of cluster is read from the context's name or API server", () => {
  assert.equal(clusterKindOf({ name: "gke_my-project_us-central1_prod", server: "https://34.1.2.3" })?.scheme, "gke");
  assert.equal(
    clusterKindOf({ name: "prod", server: "https://ABCD1234.gr7.us-west-2.eks.amazonaws.com" })?.scheme,
    "karpenter",
  );
  assert.equal(
    clusterKindOf({
      name: "arn:aws:eks:us-west-2:111122223333:cluster/prod",
      server: "https://192.0.2.1" /* a documentation address, never contacted */,
    })?.scheme,
    "karpenter",
  );
  assert.equal(
    clusterKindOf({ name: "prod", server: "https://prod-dns-1a2b3c.hcp.westeurope.azmk8s.io:443" })?.scheme,
    "aks",
  );
  assert.equal(clusterKindOf({ name: "kind-dev", server: "https://127.0.0.1:6443" }), undefined);
  const dir = workdir();
  assert.deepEqual(
    currentContext({
      KUBECONFIG: `${path.join(dir, "missing")}${path.delimiter}${kubeconfig(dir, "gke_p_z_c", "https://34.1.2.3")}`,
    }),
    { name: "gke_p_z_c", server: "https://34.1.2.3" },
  );
  assert.equal(currentContext({ KUBECONFIG: path.join(dir, "missing") }), undefined);
});

test("init --yes in a GKE/AKS context writes the cloud's scheme and says why; --cluster overrides; a type the cloud lacks is an error with --cluster", () => {
  const dir = workdir();
  const gke = runCli(["init", "g", "--model", "Qwen/Qwen3-0.6B", "--gpu", "T4:1", "--yes"], {
    cwd: dir,
    env: { ...NO_HUB, KUBECONFIG: kubeconfig(dir, "gke_p_us-central1_prod", "https://34.1.2.3") },
  });
  assert.equal(gke.code, 0, gke.stderr);
  assert.match(
    gke.stderr,
    /^note: the kube context gke_p_us-central1_prod is a GKE cluster: wrote node_labels: \{scheme: gke\} \(pass --cluster gfd if its GPU nodes run the NVIDIA GPU operator\)$/m,
  );
  assert.match(
    readFileSync(path.join(dir, "g", "vllm-app.yaml"), "utf8"),
    /^node_labels: \{scheme: gke\} +# GPU nodes are selected by cloud\.google\.com\/gke-accelerator$/m,
  );
  const rendered = runCli(["render", "-f", "g/vllm-app.yaml"], { cwd: dir });
  assert.equal(rendered.code, 0, rendered.stderr);
  assert.match(
    readFileSync(path.join(dir, "rendered", "qwen3-0-6b", "deployment-qwen3-0-6b.yaml"), "utf8"),
    /- key: cloud\.google\.com\/gke-accelerator\n\s+operator: In\n\s+values:\n\s+- nvidia-tesla-t4/,
  );
  const aks = kubeconfig(dir, "prod", "https://prod-dns-1a2b3c.hcp.westeurope.azmk8s.io:443");
  const gfd = runCli(["init", "o", "--model", "Qwen/Qwen3-0.6B", "--gpu", "T4:1", "--yes", "--cluster", "gfd"], {
    cwd: dir,
    env: { ...NO_HUB, KUBECONFIG: aks },
  });
  assert.equal(gfd.code, 0, gfd.stderr);
  assert.doesNotMatch(readFileSync(path.join(dir, "o", "vllm-app.yaml"), "utf8"), /node_labels/);
  // read from the context, not asked for: a type the cloud lacks keeps the default (deploy says what the nodes have)
  const l4 = runCli(["init", "l", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4:1", "--yes"], {
    cwd: dir,
    env: { ...NO_HUB, KUBECONFIG: aks },
  });
  assert.equal(l4.code, 0, l4.stderr);
  assert.doesNotMatch(readFileSync(path.join(dir, "l", "vllm-app.yaml"), "utf8"), /node_labels/);
  const bad = runCli(["init", "b", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4:1", "--yes", "--cluster", "aks"], {
    cwd: dir,
    env: NO_HUB,
  });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error: --cluster aks: Azure offers no L4 VM size vllmapp knows/m);
  const typo = runCli(["init", "t", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4:1", "--yes", "--cluster", "azure"], {
    cwd: dir,
    env: NO_HUB,
  });
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /^error: --cluster: expected gfd, gke, eks \(or karpenter\) or aks, got "azure"/m);
});

test("on a terminal, init asks how GPU nodes are labelled, with the context's kind as the default", () => {
  const dir = workdir();
  const r = spawnSync(
    "python3",
    [
      path.join(ROOT, "test", "e2e", "terminal.py"),
      dir,
      JSON.stringify([
        ["Model", "\r"],
        ["App name", "\r"],
        ["GPU type", "t4"],
        ["T4 (16 GB)", "\r"],
        ["GPUs per replica", "\r"],
        ["GPU nodes labelled", "\r"],
        ["API key", "\r"],
      ]),
      "--",
      process.execPath,
      BIN,
      "init",
    ],
    {
      encoding: "utf8",
      env: {
        ...process.env,
        NO_COLOR: "1",
        CI: undefined,
        ...NO_HUB,
        KUBECONFIG: kubeconfig(workdir(), "prod", "https://prod-dns-1a2b3c.hcp.westeurope.azmk8s.io:443"),
      },
      timeout: 90_000,
    },
  );
  assert.equal(r.status, 0, r.stderr);
  const { code, output } = JSON.parse(r.stdout) as { code: number; output: string };
  assert.equal(code, 0, output);
  assert.match(output, /AKS \(the Azure VM size, node\.kubernetes\.io\/instance-type\)/);
  assert.match(readFileSync(path.join(dir, "vllm-app.yaml"), "utf8"), /^node_labels: \{scheme: aks\}/m);
});
