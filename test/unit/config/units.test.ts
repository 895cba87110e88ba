/** Quantities in exponent form: a number YAML reads as 3.7e-254 (or a string Kubernetes reads the same way). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { byteQuantityProblem, quantityValue } from "../../../src/config/units.ts";
import { parseConfigText } from "../../../src/config/load.ts";

test("a quantity in exponent form has its value (as Kubernetes' <decimalExponent> reads it)", () => {
  assert.equal(quantityValue("3.788291684928112e-254"), 3.788291684928112e-254);
  assert.equal(quantityValue("1e21"), 1e21);
  assert.equal(quantityValue("2Gi"), 2 ** 31);
  assert.throws(() => quantityValue("1e"), /not a quantity: 1e/);
});

test("a byte quantity under 1Mi in exponent form is the same error as a bare number (fuzz seed 487253237: render failed with exit 1)", () => {
  assert.deepEqual(byteQuantityProblem(3.788291684928112e-254), {
    severity: "error",
    message: "3.788291684928112e-254 is 3.788291684928112e-254 bytes: a bare number is bytes",
    hint: 'write the size with a unit, e.g. "16Gi" or "512Mi"',
  });
  assert.equal(byteQuantityProblem(1e21), undefined);
  // the loader reports it at the field, with the fix (a ConfigError: exit 2), instead of render failing later
  assert.throws(
    () =>
      parseConfigText(
        "name: a\nmodel_hf_path: Qwen/Qwen3-0.6B\nresources:\n  shm: 3.788291684928112e-254\n",
        "vllm-app.yaml",
      ),
    (e: Error) =>
      e.message ===
      'vllm-app.yaml:4:8 resources.shm: 3.788291684928112e-254 is 3.788291684928112e-254 bytes: a bare number is bytes\n  hint: write the size with a unit, e.g. "16Gi" or "512Mi"\n1 error in vllm-app.yaml',
  );
});
