/** What checking a model source against its backend yields, and how it fails. */

/** What the backend says about the model's bytes. */
export interface ModelFacts {
  /** one line for `vllmapp check`: what was found where */
  checked: string;
  /** config.json, when it could be read */
  config?: Record<string, unknown>;
  /** total size of the weight files */
  weightBytes?: number;
  /** Hugging Face: the repo is gated */
  gated?: boolean;
}

/** The source is wrong: missing, empty, not readable with the credentials at hand. */
export class SourceProblem extends Error {
  readonly hint?: string;
  constructor(message: string, hint?: string) {
    super(message);
    this.hint = hint;
  }
}

/** This machine's credentials cannot read the source (none found, denied, rejected): the pod's may (service_account). */
export class CredentialsProblem extends SourceProblem {}

/** The backend could not be reached at all (network, DNS, timeout). */
export class BackendUnreachable extends SourceProblem {}

/** fetch with a deadline, so a black-holed backend fails instead of hanging. */
export const timedFetch: typeof fetch = (input, init) =>
  fetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(20_000) });

/** A network failure's cause, without URLs' credentials: "ECONNREFUSED", "ENOTFOUND", "timed out". */
export function networkCause(e: unknown): string | undefined {
  const err = e as { name?: string; code?: string; cause?: { code?: string; message?: string } };
  if (err?.name === "TimeoutError" || err?.name === "AbortError") return "timed out";
  const code = err?.cause?.code ?? err?.code;
  if (code && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(code)) return code;
  if (err?.name === "TypeError" && /fetch failed/.test(String((e as Error).message)))
    return err.cause?.message ?? "fetch failed";
  return undefined;
}

/** A URL as shown to the user: no user:password@. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, "$1");
}
