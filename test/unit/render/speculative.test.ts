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
