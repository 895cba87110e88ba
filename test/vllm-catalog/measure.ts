// Maintainer tool: the validator's agreement with the real parser on any corpus file that run.sh wrote
// (raw/<v>.vectors.json, raw/<v>.heldout.json, vectors/<v>.json, heldout/<v>.json).
//   node --import tsx test/vllm-catalog/measure.ts FILE... [--list N]
import { readFileSync } from "node:fs";
import { OWNED_FLAGS, validateExtraArgs } from "../../src/vllm/serve-args.ts";

interface Vector {
  set: string;
  argv: string[];
  ok: boolean;
  error?: string;
}
const args = process.argv.slice(2);
const li = args.indexOf("--list");
const listN = li >= 0 ? Number(args.splice(li, 2)[1]) : 0;
const owned = new RegExp(`^(${Object.keys(OWNED_FLAGS).join("|")})(=|$)`);
for (const file of args) {
  const { vllm_version: version, vectors } = JSON.parse(readFileSync(file, "utf8")) as {
    vllm_version: string;
    vectors: Vector[];
  };
  let counted = 0;
  const bad: string[] = [];
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
      bad.push(
        `${JSON.stringify(v.argv)}: vLLM ${v.ok ? "accepts" : `rejects (${v.error})`}; vllmapp: ${errors.map((e) => e.message).join("; ") || "accepts"}`,
      );
  }
  console.log(
    `${file}: vLLM ${version}: ${((100 * (counted - bad.length)) / counted).toFixed(2)} % of ${counted} (${bad.length} disagree)`,
  );
  for (const b of bad.slice(0, listN)) console.log(`  ${b.slice(0, 400)}`);
}
