/**
 * service_account (rendered by src/render/kubernetes.ts): the pod's serviceAccountName and its token, the
 * name's rules, and what deploy and check say when this machine has no credentials for the model's bucket.
 * Rendered in-process on the source, as users write them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { workdir } from "../../support/cli.ts";
import { errorsOf, firstOfKind as kind, objectsOf, planOf, planYaml } from "../../support/plan.ts";

const BASE = "name: finetuned\nmodel_path: s3://ml-models/qwen3/\nstream_model: false\nresources: {gpu: L4:1}\n";

test("service_account sets the pod's serviceAccountName and keeps its token mounted, and nothing else in any object changes", async () => {
  const without = await objectsOf(BASE);
  assert.equal(kind(without, "Deployment").spec.template.spec.automountServiceAccountToken, false);
  const withSa = await objectsOf(`${BASE}service_account: model-reader\n`);
  const dep = kind(withSa, "Deployment");
  assert.equal(dep.spec.template.spec.serviceAccountName, "model-reader");
  assert.equal(dep.spec.template.spec.automountServiceAccountToken, undefined);
  delete dep.spec.template.spec.serviceAccountName;
  delete kind(without, "Deployment").spec.template.spec.automountServiceAccountToken;
  assert.deepEqual(withSa, without);
});

test("service_account: a Kubernetes name; on Docker a note, not an error", async () => {
  assert.match(
    (await errorsOf(`${BASE}service_account: Model_Reader\n`)).join("\n"),
    /service_account: not a Kubernetes ServiceAccount name/,
  );
  const p = await planOf(`${BASE}service_account: model-reader\n`, "docker");
  assert.deepEqual(p.errors, []);
  assert.ok(p.warnings.some((w) => w.severity === "note" && /^model-reader is a Kubernetes identity/.test(w.message)));
});

test("service_account and no credentials on this machine: deploy warns 'not checked from here', check still fails", async () => {
  const { sourceResolver } = await import("../../../src/models/resolve.ts");
  const saved = { ...process.env };
  const home = workdir();
  // no keys, no profile files, no instance metadata lookups (nothing leaves this machine)
  for (const k of Object.keys(process.env)) if (k.startsWith("AWS_")) delete process.env[k];
  Object.assign(process.env, {
    HOME: home,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_CONFIG_FILE: path.join(home, "none"),
    AWS_SHARED_CREDENTIALS_FILE: path.join(home, "none"),
  });
  try {
    const planWith = async (mode: "deploy" | "check", yaml: string) => {
      const resolve = sourceResolver({ mode, jobOutput: () => Promise.reject(new Error("unused")) });
      return planYaml(yaml, { resolve, hostHome: home });
    };
    const deploy = await planWith("deploy", `${BASE}service_account: model-reader\n`);
    assert.deepEqual(deploy.errors, []);
    const warnings = deploy.reports[0]!.diagnostics.map((d) => `${d.severity}: ${d.message}`);
    assert.ok(
      warnings.some((n) =>
        /^warning: no AWS credentials found to read s3:\/\/ml-models\/qwen3, so it was not checked from here: the pods get their own credentials from service account model-reader/.test(
          n,
        ),
      ),
      warnings.join("\n"),
    );
    const check = await planWith("check", `${BASE}service_account: model-reader\n`);
    assert.match(check.errors.map((e) => e.message).join("\n"), /no AWS credentials found/);
    const without = await planWith("deploy", BASE);
    assert.match(without.errors.map((e) => e.message).join("\n"), /no AWS credentials found/);
  } finally {
    process.env = saved;
  }
});
