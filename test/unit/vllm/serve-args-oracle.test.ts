// vllmapp's extra_args validator against the real parser's verdicts: the oracle vectors that
// test/vllm-catalog/run.sh generates from each vLLM release (accept/reject of `vllm serve MODEL ... ARGV`).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { OWNED_FLAGS, validateExtraArgs } from "../../../src/vllm/serve-args.ts";
import { catalogIndex } from "../../../src/vllm/catalog.ts";

interface Vector {
  set: "real-world" | "edge" | "gen";
  name?: string;
  argv: string[];
  ok: boolean;
  error?: string;
}

const dir = new URL("../../vllm-catalog/vectors/", import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith(".json"));
const owned = new RegExp(`^(${Object.keys(OWNED_FLAGS).join("|")})(=|$)`);

export function agreement(version: string) {
  const { vectors } = JSON.parse(readFileSync(new URL(`${version}.json`, dir), "utf8")) as { vectors: Vector[] };
  const disagreements: { v: Vector; ours: string }[] = [];
  let counted = 0;
  const perSet: Record<string, { n: number; agree: number }> = {};
  for (const v of vectors) {
    // vllmapp sets these itself (policy, not parser fidelity): it always refuses them
    if (v.argv.some((a) => owned.test(a.replace(/_/g, "-")))) continue;
    counted++;
    const r = validateExtraArgs(
      v.argv.map((value, i) => ({ value, path: ["extra_args", i] })),
      true,
      { version },
    );
    const errors = r.problems.filter((p) => p.severity === "error");
    const s = (perSet[v.set] ??= { n: 0, agree: 0 });
    s.n++;
    if ((errors.length === 0) === v.ok) s.agree++;
    else disagreements.push({ v, ours: errors.map((e) => e.message).join("; ") || "accepted" });
  }
  return { counted, disagreements, perSet };
}

test("every release with vectors has a catalog", () => {
  assert.ok(files.length >= 1);
  for (const f of files) assert.ok(catalogIndex().releases.includes(f.replace(/\.json$/, "")), f);
});

for (const f of files) {
  const version = f.replace(/\.json$/, "");
  test(`vLLM ${version}: the validator agrees with the real parser`, () => {
    const { counted, disagreements, perSet } = agreement(version);
    const rate = (counted - disagreements.length) / counted;
    const list = disagreements.map(
      (d) => `${JSON.stringify(d.v.argv)}: vLLM ${d.v.ok ? "accepts" : `rejects (${d.v.error})`}; vllmapp: ${d.ours}`,
    );
    const rw = perSet["real-world"]!;
    assert.equal(
      rw.agree,
      rw.n,
      `real-world configurations must all agree:\n${list.filter((_, i) => disagreements[i]!.v.set === "real-world").join("\n")}`,
    );
    assert.ok(
      rate >= 0.995,
      `agreement ${(rate * 100).toFixed(2)} % < 99.5 % on ${counted} vectors:\n${list.slice(0, 60).join("\n")}`,
    );
  });
}
