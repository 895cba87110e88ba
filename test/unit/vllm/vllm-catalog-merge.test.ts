// The repository check of the catalogs: merging the committed raw extractions (test/vllm-catalog/raw/, what
// extract.py wrote from each release's real parser) into the committed catalogs reproduces them byte for
// byte, so what ships is what the pipeline makes (npm run catalog -- X.Y.Z; README "Adding a vLLM release").
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const catalogs = path.join(root, "templates/vllm/catalogs");
const raw = path.join(root, "test/vllm-catalog/raw");

test("the committed catalogs are what merge.py makes of the committed raw extractions", () => {
  const sample = readdirSync(raw).filter((f) => /^\d+\.\d+\.\d+\.json$/.test(f));
  assert.ok(sample.includes("0.34.0.json"), `raw extractions: ${sample.join(", ")}`);
  const out = mkdtempSync(path.join(tmpdir(), "vllmapp-merge-"));
  try {
    execFileSync(
      "python3",
      [
        path.join(root, "test/vllm-catalog/merge.py"),
        raw,
        catalogs,
        path.join(root, "test/vllm-catalog/vectors"),
        "--out",
        out,
      ],
      { stdio: "pipe" },
    );
    const made = readdirSync(out).sort();
    assert.deepEqual(made, readdirSync(catalogs).sort());
    const differ = made.filter((f) => !readFileSync(path.join(out, f)).equals(readFileSync(path.join(catalogs, f))));
    assert.deepEqual(
      differ,
      [],
      "rerun: python3 test/vllm-catalog/merge.py test/vllm-catalog/raw templates/vllm/catalogs test/vllm-catalog/vectors",
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("a raw extraction that differs from its catalog is caught", () => {
  const out = mkdtempSync(path.join(tmpdir(), "vllmapp-merge-"));
  const tampered = mkdtempSync(path.join(tmpdir(), "vllmapp-raw-"));
  try {
    const cat = JSON.parse(readFileSync(path.join(raw, "0.34.0.json"), "utf8")) as {
      flags: { name: string; help: string }[];
    };
    cat.flags[0]!.help = "changed";
    writeFileSync(path.join(tampered, "0.34.0.json"), JSON.stringify(cat));
    execFileSync(
      "python3",
      [
        path.join(root, "test/vllm-catalog/merge.py"),
        tampered,
        catalogs,
        path.join(root, "test/vllm-catalog/vectors"),
        "--out",
        out,
      ],
      { stdio: "pipe" },
    );
    assert.equal(
      readFileSync(path.join(out, "0.34.0.json")).equals(readFileSync(path.join(catalogs, "0.34.0.json"))),
      false,
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
    rmSync(tampered, { recursive: true, force: true });
  }
});
