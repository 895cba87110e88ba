/** Speculative decoding (src/render/speculative.ts): the draft model's path in --speculative-config, and its rules. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { errorsOf, firstOfKind as kind, objectsOf, planOf } from "../../support/plan.ts";

test("speculative decoding: the draft's container path in --speculative-config, merged with speculative_config; Flyte's rules", async () => {
  const yaml =
    "name: spec\nmodel_hf_path: meta-llama/Llama-3.1-8B-Instruct\ndraft_model_hf_path: meta-llama/Llama-3.2-1B-Instruct\n";
  const p = await planOf(`${yaml}speculative_config: {num_speculative_tokens: 5, prompt_lookup_max: 4}\n`);
  assert.deepEqual(p.errors, []);
  const args = p.apps[0]!.rendered.serve.args;
  assert.deepEqual(JSON.parse(args[args.indexOf("--speculative-config") + 1]!), {
    model: "meta-llama/Llama-3.2-1B-Instruct",
    num_speculative_tokens: 5,
    method: "draft_model",
    prompt_lookup_max: 4,
  });
  assert.deepEqual(await errorsOf(yaml), [
    "speculative_config: speculative_config.num_speculative_tokens is not set: vLLM needs to know how many tokens the draft proposes per step | add speculative_config: {num_speculative_tokens: 3} (3–5 is typical)",
  ]);
  assert.match(
    (await errorsOf(`${yaml}speculative_config: {model: x, num_speculative_tokens: 2}\n`)).join("\n"),
    /speculative_config\.model is set from the draft model/,
  );
  assert.match(
    (await errorsOf(`${yaml}draft_model_path: /models/d\nspeculative_config: {num_speculative_tokens: 2}\n`)).join(
      "\n",
    ),
    /both draft_model_hf_path and draft_model_path are set/,
  );
  const ngram = await planOf(
    "name: ng\nmodel_hf_path: meta-llama/Llama-3.1-8B-Instruct\nspeculative_config: {method: ngram, num_speculative_tokens: 3, prompt_lookup_max: 4}\n",
  );
  assert.deepEqual(ngram.errors, []);
  const pvc = await objectsOf(
    `name: spec\nmodel_hf_path: meta-llama/Llama-3.1-8B-Instruct\ndraft_model_path: pvc://drafts/llama-1b\nspeculative_config: {num_speculative_tokens: 3}\n`,
  );
  const pod = kind(pvc, "Deployment").spec.template.spec;
  assert.deepEqual(
    pod.volumes.find((v: any) => v.name === "draft-model"),
    { name: "draft-model", persistentVolumeClaim: { claimName: "drafts", readOnly: true } },
  );
  assert.ok(pod.containers[0].args.some((a: string) => a.includes('"model":"/mnt/draft-model/llama-1b"')));
});

test("speculative decoding without a draft: method needed, tokens a whole number, unknown keys and methods warned with a did-you-mean; the draft's revision, unless written", async () => {
  const { planSpeculative } = await import("../../../src/render/speculative.ts");
  const { appConfigSchema } = await import("../../../src/config/schema.ts");
  const z = await import("zod/mini");
  const app = (fields: Record<string, unknown>) =>
    z.parse(appConfigSchema, { name: "s", model_hf_path: "org/base", ...fields });
  const lines = (p: { problems: { path: (string | number)[]; severity: string; message: string }[] }) =>
    p.problems.map((x) => `${x.path.join(".")} ${x.severity}: ${x.message}`);
  const bare = planSpeculative(
    app({ speculative_config: { num_speculative_tokens: 1.5, prompt_lookup_mx: 4 } }),
    "kubernetes",
    new Set(["--speculative-config"]),
  );
  assert.deepEqual(lines(bare), [
    "extra_args error: --speculative-config is set by vllmapp from speculative_config and the draft model; remove it from extra_args",
    'speculative_config.prompt_lookup_mx warning: "prompt_lookup_mx" is not a --speculative-config key vllmapp knows; did you mean "prompt_lookup_max"?',
    "speculative_config.num_speculative_tokens error: num_speculative_tokens must be a whole number ≥ 1, got 1.5",
    "speculative_config.method error: speculative_config without a draft model needs method (e.g. ngram, eagle3, mtp)",
  ]);
  const typo = planSpeculative(
    app({ speculative_config: { method: "medussa", num_speculative_tokens: 2 } }),
    "docker",
    new Set(),
  );
  assert.deepEqual(lines(typo), [
    'speculative_config.method warning: "medussa" is not a built-in speculative method; did you mean "medusa"?',
  ]);
  assert.deepEqual(typo.args, ["--speculative-config", '{"num_speculative_tokens":2,"method":"medussa"}']);
  const pinned = (revision?: string) =>
    planSpeculative(
      app({
        draft_model_hf_path: "org/draft@v2",
        speculative_config: { num_speculative_tokens: 3, ...(revision ? { revision } : {}) },
      }),
      "kubernetes",
      new Set(),
    ).args[1];
  assert.equal(pinned(), '{"model":"org/draft","num_speculative_tokens":3,"method":"draft_model","revision":"v2"}');
  assert.equal(
    pinned("main"),
    '{"model":"org/draft","num_speculative_tokens":3,"method":"draft_model","revision":"main"}',
  );
});
