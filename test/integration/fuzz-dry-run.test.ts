/**
 * What the fuzzer renders, the API server accepts: mutated real configurations that vllmapp renders
 * (without a user error) are sent, a sample of them, through
 * `kubectl apply --server-side --dry-run=server` against the test bed's real kube-apiserver.
 * An object vllmapp renders from a config it accepted must never be refused by the server.
 * VLLMAPP_FUZZ_SAMPLE sets the sample size (default 20), VLLMAPP_FUZZ_SEED replays a run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { fuzzParameters, mutate, mutationArb, renderInput, seedConfigs, seedDir } from "../fuzz/config-mutations.ts";
import { dryRunNamespace, kubectlSync } from "./crd-fixtures.ts";

const NS = dryRunNamespace(`fuzz-dry-run-${process.pid}`);
const SAMPLE = Number(process.env.VLLMAPP_FUZZ_SAMPLE ?? 20);
const kubectl = kubectlSync;

test(
  `a sample of ${SAMPLE} fuzzed configs that render: the API server accepts every object`,
  { timeout: 15 * 60_000 },
  async () => {
    const seeds = seedConfigs().filter((s) => s.target === "kubernetes");
    const dirs = seeds.map(seedDir);
    const { seed } = fuzzParameters(0);
    // draw mutated inputs from a fixed seed until SAMPLE of them render
    const inputs = fc.sample(
      fc.tuple(fc.integer({ min: 0, max: seeds.length - 1 }), fc.array(mutationArb, { minLength: 0, maxLength: 3 })),
      { seed, numRuns: 4000 },
    );
    const accepted: { name: string; yaml: string; kinds: number }[] = [];
    for (const [i, mutations] of inputs) {
      if (accepted.length >= SAMPLE) break;
      const out = await renderInput(dirs[i]!, mutate(seeds[i]!.text, mutations), "kubernetes", NS);
      if (out.kind !== "rendered") continue;
      const kinds = out.apps.reduce((n, a) => n + (a.objects?.length ?? 0), 0);
      if (kinds) accepted.push({ name: `${seeds[i]!.name} ${JSON.stringify(mutations)}`, yaml: out.yaml, kinds });
    }
    assert.equal(
      accepted.length,
      SAMPLE,
      `only ${accepted.length} of ${inputs.length} fuzzed inputs rendered (seed ${seed})`,
    );
    for (const a of accepted) {
      const applied = kubectl(
        ["apply", "--server-side", "--field-manager=vllmapp", "--dry-run=server", "-f", "-"],
        a.yaml,
      );
      const ctx = `seed ${seed} (replay: VLLMAPP_FUZZ_SEED=${seed}), input ${a.name}\n${applied.stderr}\n${a.yaml}`;
      assert.equal(applied.code, 0, ctx);
      assert.equal(
        applied.stdout
          .trim()
          .split("\n")
          .filter((l) => /serverside-applied \(server dry run\)$/.test(l)).length,
        a.kinds,
        ctx,
      );
    }
  },
);
