/** Where a LoRA adapter comes from (lora.adapters[].source), parsed. Pure. */
import { HF_REPO } from "../config/schema.js";
import { parseModelPath, type ObjectStoreScheme } from "./source.js";

export type AdapterSource =
  | { kind: "hf"; repo: string; revision?: string }
  | { kind: ObjectStoreScheme; uri: string; bucket: string; prefix: string }
  | { kind: "pvc"; claim: string; subPath: string }
  | { kind: "path"; path: string };

/** An adapter's source as written: hf://org/name or org/name (vLLM downloads it), s3://, gs://, az://, pvc://, an absolute path. */
export function parseAdapterSource(value: string): AdapterSource | { message: string; hint?: string } {
  const v = value.trim();
  const hf = /^(?:hf:\/\/)?([^@\s]+)(?:@(\S+))?$/.exec(v);
  if (hf && !v.startsWith("/") && !/^[a-z0-9+.-]+:\/\//i.test(v.replace(/^hf:\/\//, "")) && HF_REPO.test(hf[1]!))
    return hf[2] ? { kind: "hf", repo: hf[1]!, revision: hf[2] } : { kind: "hf", repo: hf[1]! };
  const src = parseModelPath(v, { backend: "kubernetes" });
  if ("message" in src)
    return {
      message: src.message.replace("model_path", "source"),
      hint: src.hint
        ?.replace("model_path takes", "an adapter source is")
        .replace("a Hugging Face repo goes in model_hf_path", "or a Hugging Face repo org/name"),
    };
  if (src.kind === "run_output" || src.kind === "mlflow_model")
    return {
      message: `"${v}" is not an adapter source`,
      hint: "write org/name (Hugging Face), s3://, gs://, az://, pvc://CLAIM/path or an absolute path",
    };
  return src;
}
