/**
 * The fit check for `vllmapp init`, before any vllm-app.yaml exists: from a Hugging Face repo or an s3://
 * prefix, suggest a GPU count (or type) and refuse GPUs the model cannot fit. Quiet when the model's
 * backend cannot be read: init does not need it.
 */
import { findGpuType, parseGpuString } from "../config/gpus.js";
import { HF_REPO } from "../config/schema.js";
import { checkFit, describeFit, gpuLabel, servingOptions, suggestGpus, type GpuChoice } from "../fit/fit.js";
import { modelShape, type ModelShape } from "../fit/model.js";
import { SourceProblem } from "./facts.js";

const known = new Map<string, Promise<{ shape: ModelShape; weights: number } | undefined>>();
/** why a model could not be sized (the backend's answer), for init to say so */
const unsized = new Map<string, string>();

/** config.json and weight bytes of the model init was given, or undefined when they cannot be read. */
function factsOf(model: string): Promise<{ shape: ModelShape; weights: number } | undefined> {
  let p = known.get(model);
  if (!p) {
    p = (async () => {
      const s3 = /^s3:\/\/([^/]+)\/?(.*?)\/*$/.exec(model);
      const facts = HF_REPO.test(model)
        ? await (await import("./hf.js")).checkHfSource(...(model.split("@", 2) as [string, string | undefined]))
        : s3
          ? await (
              await import("./object-store.js")
            ).checkS3Source({ bucket: s3[1]!, prefix: s3[2]! }, { uri: model, streamModel: true })
          : undefined;
      if (!facts) unsized.set(model, "only Hugging Face repos and s3:// prefixes can be sized before a deploy");
      const shape = facts?.config && modelShape(facts.config);
      if (facts && (!shape || "problem" in shape || facts.weightBytes === undefined))
        unsized.set(model, "its config.json or weight sizes could not be read");
      return shape && !("problem" in shape) && facts.weightBytes !== undefined
        ? { shape, weights: facts.weightBytes }
        : undefined;
    })().catch((e) => {
      if (e instanceof SourceProblem) {
        unsized.set(model, e.message);
        return undefined;
      }
      throw e;
    });
    known.set(model, p);
  }
  return p;
}

/** Why `model` could not be sized (after suggestGpu or checkGpuFit gave no answer), or undefined when it was. */
export async function whyUnsized(model: string): Promise<string | undefined> {
  await factsOf(model);
  return unsized.get(model);
}

/** The bytes of the model's weights, or undefined when they cannot be read (whyUnsized says why). */
export async function weightBytes(model: string): Promise<number | undefined> {
  return (await factsOf(model))?.weights;
}

/** "TYPE:N": the fewest GPUs of `type` (else a bigger type) that hold the model and its whole context, else its weights. */
export async function suggestGpu(model: string, type = "L4"): Promise<string | undefined> {
  const f = await factsOf(model);
  if (!f) return undefined;
  const s = suggestGpus(f.shape, f.weights, servingOptions([]), findGpuType(type));
  const pick = s.fullContext ?? s.fits;
  return pick && gpuLabel(pick);
}

/** Why the model cannot fit `gpu` ("TYPE:N"), with the GPUs that would; undefined when it fits or cannot be told. */
export async function checkGpuFit(model: string, gpu: string): Promise<{ message: string; hint?: string } | undefined> {
  const asked = parseGpuString(gpu);
  const type = asked && findGpuType(asked.type);
  const f = type ? await factsOf(model) : undefined;
  if (!asked || !type || !f) return undefined;
  const choice: GpuChoice = { type, count: asked.count };
  const serving = servingOptions(["--tensor-parallel-size", String(choice.count)]);
  const r = checkFit(f.shape, f.weights, choice, serving);
  if (r.fits) return undefined;
  return describeFit(model, f.shape, r, choice, serving, suggestGpus(f.shape, f.weights, serving, type)).error;
}
