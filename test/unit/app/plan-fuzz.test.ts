/**
 * Fuzzing the config loader and renderer over mutated real configurations (templates/examples and
 * the golden cases): whatever the input, the result is a render or a user error (exit 2), never an
 * exception of the exit-1 class; each input ends quickly; a valid input renders to the same bytes
 * twice. Bounded for CI; VLLMAPP_FUZZ_RUNS=5000 runs longer, VLLMAPP_FUZZ_SEED=N replays a failure.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { fuzzParameters, mutate, mutationArb, renderInput, seedConfigs, seedDir } from "../../fuzz/config-mutations.ts";

/** one input, load and render both, must end within this */
const PER_INPUT_MS = 2_000;
const seeds = seedConfigs();
const dirs = seeds.map(seedDir);

/** A byte-level change after encoding: a flipped byte, a UTF-16 or Latin-1 re-encoding. */
const bytesArb = fc.option(
  fc.oneof(
    fc.record({ kind: fc.constant("byte" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({
      kind: fc.constant("encoding" as const),
      encoding: fc.constantFrom("utf16le" as const, "latin1" as const),
      bom: fc.boolean(),
    }),
  ),
  { freq: 4 },
);

type ByteChange =
  | { kind: "byte"; at: number; value: number }
  | { kind: "encoding"; encoding: "utf16le" | "latin1"; bom: boolean }
  | null;

function encode(text: string, change: ByteChange): string | Uint8Array {
  if (!change) return text;
  if (change.kind === "encoding") {
    const body = Buffer.from(text, change.encoding);
    return change.bom && change.encoding === "utf16le" ? Buffer.concat([Buffer.from([0xff, 0xfe]), body]) : body;
  }
  const b = Buffer.from(text, "utf8");
  if (b.length) b[change.at % b.length] = change.value;
  return b;
}

test(
  "fuzz: mutated real configs load and render, or fail as user errors; valid ones render deterministically",
  { timeout: 10 * 60_000 },
  async () => {
    const params = fuzzParameters(3000);
    let rendered = 0;
    let userErrors = 0;
    let slowest = 0;
    const property = fc.asyncProperty(
      fc.integer({ min: 0, max: seeds.length - 1 }),
      fc.array(mutationArb, { minLength: 0, maxLength: 4 }),
      bytesArb,
      async (i, mutations, bytes) => {
        const seed = seeds[i]!;
        const content = encode(mutate(seed.text, mutations), bytes);
        const first = await renderInput(dirs[i]!, content, seed.target);
        slowest = Math.max(slowest, first.ms);
        assert.ok(first.ms < PER_INPUT_MS, `${seed.name}: took ${Math.round(first.ms)} ms`);
        if (first.kind === "user-error") {
          userErrors++;
          assert.equal(first.exitCode, 2, first.message);
          assert.match(first.message, /vllm-app\.yaml/, "a user error names the file");
          return;
        }
        rendered++;
        const again = await renderInput(dirs[i]!, content, seed.target);
        assert.equal(again.kind, "rendered");
        assert.equal(again.kind === "rendered" && again.yaml, first.yaml, "same input, same YAML bytes");
        assert.equal(again.kind === "rendered" && again.json, first.json, "same input, same JSON bytes");
      },
    );
    try {
      await fc.assert(property, params);
    } catch (e) {
      throw new Error(
        `fuzz failed with seed ${params.seed}; replay: VLLMAPP_FUZZ_SEED=${params.seed} VLLMAPP_FUZZ_RUNS=${params.numRuns} node --import tsx --test test/unit/app/plan-fuzz.test.ts\n${(e as Error).message}\ncause: ${String((e as Error).cause instanceof Error ? ((e as Error).cause as Error).stack : (e as Error).cause)}`,
      );
    }
    console.log(
      `# fuzz: seed ${params.seed}, ${params.numRuns} inputs: ${rendered} rendered, ${userErrors} user errors, slowest ${Math.round(slowest)} ms`,
    );
    // the mix must exercise both paths, or the mutations are too weak (or too strong) to mean anything
    assert.ok(
      rendered > params.numRuns! / 20 && userErrors > params.numRuns! / 20,
      `rendered ${rendered}, user errors ${userErrors}`,
    );
  },
);
