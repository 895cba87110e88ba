/**
 * service_account, parallelism (LeaderWorkerSet), lora, speculative decoding: rendered in-process on the
 * source, as users write them, and the errors a user must see (exit 2 with the numbers).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { plan, type Plan } from "../../src/app/plan.ts";
import { nodePlanIo } from "../../src/app/node-io.ts";
import type { K8sObject } from "../../src/render/types.ts";
import { workdir } from "../helpers.ts";

async function planOf(yaml: string, target: "kubernetes" | "docker" = "kubernetes", files: Record<string, string> = {}): Promise<Plan> {
  const dir = workdir({ "vllm-app.yaml": yaml, ...files });
  return plan({ file: path.join(dir, "vllm-app.yaml"), target, params: new Map() }, nodePlanIo({ hostHome: "/home/dev" }));
}

async function objectsOf(yaml: string): Promise<K8sObject[]> {
  const p = await planOf(yaml);
  assert.deepEqual(p.errors, []);
  return p.apps[0]!.rendered.objects!;
}

const kind = (objs: K8sObject[], k: string) => objs.find((o) => o.kind === k) as any;
const errorsOf = async (yaml: string, target: "kubernetes" | "docker" = "kubernetes") => (await planOf(yaml, target)).errors.map((e) => `${e.path}: ${e.message}${e.hint ? ` | ${e.hint}` : ""}`);

const BASE = "name: finetuned\nmodel_path: s3://ml-models/qwen3/\nstream_model: false\nresources: {gpu: L4:1}\n";

test("service_account sets the pod's serviceAccountName, and nothing else in any object changes", async () => {
  const without = await objectsOf(BASE);
  const withSa = await objectsOf(`${BASE}service_account: model-reader\n`);
  const dep = kind(withSa, "Deployment");
  assert.equal(dep.spec.template.spec.serviceAccountName, "model-reader");
  delete dep.spec.template.spec.serviceAccountName;
  assert.deepEqual(withSa, without);
});

test("service_account: a Kubernetes name; on Docker a note, not an error", async () => {
  assert.match((await errorsOf(`${BASE}service_account: Model_Reader\n`)).join("\n"), /service_account: not a Kubernetes ServiceAccount name/);
  const p = await planOf(`${BASE}service_account: model-reader\n`, "docker");
  assert.deepEqual(p.errors, []);
  assert.ok(p.warnings.some((w) => w.severity === "note" && /service_account model-reader is a Kubernetes identity/.test(w.message)));
});

test("check with service_account and no credentials on this machine: the S3 source is 'not checked from here', not an error", async () => {
  const { sourceResolver } = await import("../../src/models/resolve.ts");
  const saved = { ...process.env };
  const home = workdir();
  // no keys, no profile files, no instance metadata lookups (nothing leaves this machine)
  for (const k of Object.keys(process.env)) if (k.startsWith("AWS_")) delete process.env[k];
  Object.assign(process.env, { HOME: home, AWS_EC2_METADATA_DISABLED: "true", AWS_CONFIG_FILE: path.join(home, "none"), AWS_SHARED_CREDENTIALS_FILE: path.join(home, "none") });
  try {
    const resolve = sourceResolver({ mode: "check", jobOutput: () => Promise.reject(new Error("unused")) });
    const dir = workdir({ "vllm-app.yaml": `${BASE}service_account: model-reader\n` });
    const p = await plan({ file: path.join(dir, "vllm-app.yaml"), target: "kubernetes", params: new Map() }, nodePlanIo({ resolve }));
    assert.deepEqual(p.errors, []);
    const notes = p.reports[0]!.diagnostics.map((d) => `${d.severity}: ${d.message}`);
    assert.ok(notes.some((n) => /^note: not checked from here: no AWS credentials found to read s3:\/\/ml-models\/qwen3; the pod reads it as service account model-reader/.test(n)), notes.join("\n"));
    const without = await plan({ file: path.join(workdir({ "vllm-app.yaml": BASE }), "vllm-app.yaml"), target: "kubernetes", params: new Map() }, nodePlanIo({ resolve }));
    assert.match(without.errors.map((e) => e.message).join("\n"), /no AWS credentials found/);
  } finally {
    process.env = saved;
  }
});
