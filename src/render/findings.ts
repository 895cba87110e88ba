/** Building render's findings. Pure. */
import type { Finding } from "../errors.js";

/** An error at `path` in vllm-app.yaml, with a hint when there is one. */
export function errorOf(path: Finding["path"], message: string, hint?: string): Finding {
  return { path, severity: "error", message, ...(hint ? { hint } : {}) };
}
