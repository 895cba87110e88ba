// The validator on corpora it was not built from: test/vllm-catalog/extract.py `heldout_corpus` draws, with
// a fixed seed, other values, other config fields, other spellings and pairs of flags than the oracle
// vectors and the catalog's probes, and records the real parser's verdicts. The catalogs and the
// validator never read these files; only this test does (0.34.0, the default image's release, 0.33.0, 0.19.0
// and the patch releases catalogued since).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { OWNED_FLAGS, validateExtraArgs } from "../../../src/vllm/serve-args.ts";

interface Vector {
  set: string;
  argv: string[];
  ok: boolean;
  error?: string;
}

const owned = new RegExp(`^(${Object.keys(OWNED_FLAGS).join("|")})(=|$)`);

// every release whose held-out corpus is kept: 0.34.0, 0.33.0, 0.19.0 and the patch releases' catalogs
const versions = readdirSync(new URL("../../vllm-catalog/heldout/", import.meta.url))
  .filter((f) => /^\d+\.\d+\.\d+\.json$/.test(f))
  .map((f) => f.slice(0, -".json".length));
test("held-out corpora are kept for the default image's release, 0.33.0 and 0.19.0 at least", () => {
  for (const v of ["0.34.0", "0.33.0", "0.19.0"]) assert.ok(versions.includes(v), v);
});

for (const version of versions) {
  test(`vLLM ${version}: the validator agrees with the real parser on the held-out corpus`, () => {
    const file = new URL(`../../vllm-catalog/heldout/${version}.json`, import.meta.url);
    const { vllm_version, vectors } = JSON.parse(readFileSync(file, "utf8")) as {
      vllm_version: string;
      vectors: Vector[];
    };
    assert.equal(vllm_version, version);
    let counted = 0;
    const disagree: string[] = [];
    for (const v of vectors) {
      if (v.argv.some((a) => owned.test(a.replace(/_/g, "-")))) continue;
      counted++;
      const r = validateExtraArgs(
        v.argv.map((value, i) => ({ value, path: ["extra_args", i] })),
        true,
        { version },
      );
      const errors = r.problems.filter((p) => p.severity === "error");
      if ((errors.length === 0) !== v.ok)
        disagree.push(
          `${JSON.stringify(v.argv)}: vLLM ${v.ok ? "accepts" : `rejects (${v.error})`}; vllmapp: ${errors.map((e) => e.message).join("; ") || "accepts"}`,
        );
    }
    assert.ok(counted >= 2000, `only ${counted} held-out vectors`);
    const rate = (counted - disagree.length) / counted;
    assert.ok(
      rate >= 0.995,
      `agreement ${(rate * 100).toFixed(2)} % < 99.5 % on ${counted} held-out vectors:\n${disagree.slice(0, 40).join("\n")}`,
    );
  });
}
