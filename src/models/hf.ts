/**
 * Checking a Hugging Face source with @huggingface/hub (loaded only here): the repo exists, the revision
 * exists, a gated repo is readable with the local HF_TOKEN, and config.json plus the weight files' sizes.
 * The endpoint is $HF_ENDPOINT, as huggingface_hub has it; the token $HF_TOKEN, else the token file
 * `huggingface-cli login` writes.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { gb } from "../fit/fit.js";
import { BackendUnreachable, SourceProblem, networkCause, redactUrl, timedFetch, type ModelFacts } from "./facts.js";

export function hfEndpoint(): string {
  const endpoint = (process.env.HF_ENDPOINT || "https://huggingface.co").replace(/\/+$/, "");
  // fetch refuses a URL with credentials in it, with an error that quotes the URL, password and all
  if (redactUrl(endpoint) !== endpoint) {
    throw new SourceProblem(
      `HF_ENDPOINT ${redactUrl(endpoint)} has credentials in its URL, which cannot be sent that way`,
      "drop them from HF_ENDPOINT: the Hub and its mirrors take a bearer token, HF_TOKEN",
    );
  }
  return endpoint;
}

function hfToken(): string | undefined {
  const env = process.env.HF_TOKEN || process.env.HUGGING_FACE_HUB_TOKEN;
  if (env) return env.trim();
  const file =
    process.env.HF_TOKEN_PATH ??
    path.join(process.env.HF_HOME ?? path.join(homedir(), ".cache", "huggingface"), "token");
  try {
    return readFileSync(file, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

type HubError = { statusCode: number; message: string };

function hubStatus(e: unknown): number | undefined {
  return typeof (e as HubError)?.statusCode === "number" ? (e as HubError).statusCode : undefined;
}

/** The Hub's own words, without the "URL: …" trailer the client appends. */
function hubMessage(e: unknown): string {
  return String((e as Error).message ?? e).replace(/\.?\s*URL: .*$/s, "");
}

/** The Hub client (loaded lazily), where it is and who asks, as every request of one check uses them. */
interface HubSession {
  hub: typeof import("@huggingface/hub");
  endpoint: string;
  token: string | undefined;
  common: { hubUrl: string; accessToken: string | undefined; fetch: typeof timedFetch };
  /** the repo's page, for hints (credentials redacted) */
  page: string;
}

/** A failure to reach the Hub at all as BackendUnreachable with the fix; any other error as it was. */
function unreachable(s: HubSession, e: unknown): unknown {
  const cause = networkCause(e);
  return cause
    ? new BackendUnreachable(
        `cannot reach the Hugging Face Hub at ${redactUrl(s.endpoint)} (${cause})`,
        "check the network, set HF_ENDPOINT to a mirror, or pass --offline to skip the Hub checks",
      )
    : e;
}

/**
 * Check a Hugging Face source: the repo and revision exist, config.json is readable (a gated repo with the
 * local HF_TOKEN) and valid JSON, and there are weight files; the facts the fit check needs.
 */
export async function checkHfSource(repo: string, revision?: string): Promise<ModelFacts> {
  const hub = await import("@huggingface/hub");
  const endpoint = hfEndpoint();
  const token = hfToken();
  if (token && !token.startsWith("hf_")) {
    throw new SourceProblem(
      "HF_TOKEN is not a Hugging Face access token (they start with hf_)",
      "create one at https://huggingface.co/settings/tokens",
    );
  }
  const s: HubSession = {
    hub,
    endpoint,
    token,
    common: { hubUrl: endpoint, accessToken: token, fetch: timedFetch },
    page: `${redactUrl(endpoint)}/${repo}`,
  };
  const info = await readRepoInfo(s, repo, revision);
  const gated = info.gated !== false;
  const files: { path: string; size: number }[] = [];
  try {
    for await (const f of s.hub.listFiles({ repo, revision: info.sha, ...s.common }))
      if (f.type === "file") files.push(f);
  } catch (e) {
    throw unreachable(s, e);
  }
  const configText = await readConfigJson(s, repo, info, files);
  const weights = weightFiles(repo, files);
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(configText) as Record<string, unknown>;
  } catch {
    throw new SourceProblem(`config.json of ${repo} is not valid JSON`);
  }
  const weightBytes = weights.reduce((a, f) => a + f.size, 0);
  return {
    checked: `${repo}@${info.sha.slice(0, 12)}${gated ? ` (gated, readable with HF_TOKEN)` : ""}: config.json, ${weights.length} weight file${weights.length === 1 ? "" : "s"}, ${gb(weightBytes)}`,
    config,
    weightBytes,
    gated,
  };
}

type RepoInfo = { sha: string; gated: false | "auto" | "manual" };

/** The repo's commit and gating; a repo or revision the Hub does not know (or hides) is a SourceProblem saying which. */
async function readRepoInfo(s: HubSession, repo: string, revision: string | undefined): Promise<RepoInfo> {
  try {
    return await s.hub.modelInfo({ name: repo, revision, additionalFields: ["sha"], ...s.common });
  } catch (e) {
    const status = hubStatus(e);
    if (status !== 401 && status !== 404) throw unreachable(s, e);
    if (revision) {
      const exists = await s.hub.modelInfo({ name: repo, ...s.common }).then(
        () => true,
        () => false,
      );
      if (exists)
        throw new SourceProblem(
          `${repo} has no revision "${revision}"`,
          `use a branch, tag or commit of ${s.page}, or drop @${revision}`,
        );
    }
    throw new SourceProblem(
      `Hugging Face repo ${repo} not found${s.token ? "" : " (or it is private and HF_TOKEN is not set)"}`,
      `check the name at ${s.page}`,
    );
  }
}

/** config.json's text at the repo's commit; missing, or gated away from this token, is a SourceProblem with the fix. */
async function readConfigJson(
  s: HubSession,
  repo: string,
  info: RepoInfo,
  files: readonly { path: string }[],
): Promise<string> {
  try {
    const blob = await s.hub.downloadFile({ repo, path: "config.json", revision: info.sha, xet: false, ...s.common });
    if (!blob) {
      throw new SourceProblem(
        `${repo} has no config.json, so vLLM cannot load it`,
        `its files: ${files
          .map((f) => f.path)
          .slice(0, 8)
          .join(", ")}`,
      );
    }
    return await blob.text();
  } catch (e) {
    const status = hubStatus(e);
    if (status === 401 || status === 403) {
      throw new SourceProblem(
        s.token
          ? `HF_TOKEN cannot read ${repo}: it is gated (${info.gated} approval) and the token's account has no access`
          : `${repo} is gated (${info.gated} approval) and HF_TOKEN is not set`,
        s.token
          ? `request access at ${s.page} with the account the token belongs to`
          : `request access at ${s.page}, then export HF_TOKEN (and list HF_TOKEN under secrets so the server can download it)`,
      );
    }
    if (status !== undefined) throw new SourceProblem(`cannot read config.json of ${repo}: ${hubMessage(e)}`);
    throw unreachable(s, e);
  }
}

/** The files vLLM loads weights from: *.safetensors, else *.bin / *.pt; none is a SourceProblem. */
function weightFiles<F extends { path: string }>(repo: string, files: readonly F[]): F[] {
  const safetensors = files.filter((f) => f.path.endsWith(".safetensors"));
  const weights = safetensors.length ? safetensors : files.filter((f) => /\.(bin|pt)$/.test(f.path));
  if (!weights.length) {
    throw new SourceProblem(
      `${repo} has no weight files (*.safetensors or *.bin)`,
      `its files: ${files
        .map((f) => f.path)
        .slice(0, 8)
        .join(", ")}`,
    );
  }
  return weights;
}

/** One small file of a repo (e.g. a LoRA adapter's adapter_config.json), or undefined when the repo has none. */
export async function readHfFile(repo: string, file: string, revision?: string): Promise<string | undefined> {
  const hub = await import("@huggingface/hub");
  const endpoint = hfEndpoint();
  const token = hfToken();
  try {
    const blob = await hub.downloadFile({
      repo,
      path: file,
      revision,
      xet: false,
      hubUrl: endpoint,
      accessToken: token,
      fetch: timedFetch,
    });
    return blob ? await blob.text() : undefined;
  } catch (e) {
    const status = hubStatus(e);
    if (status === 404)
      throw new SourceProblem(
        `Hugging Face repo ${repo}${revision ? `@${revision}` : ""} not found${token ? "" : " (or it is private and HF_TOKEN is not set)"}`,
        `check the name at ${redactUrl(endpoint)}/${repo}`,
      );
    if (status === 401 || status === 403)
      throw new SourceProblem(
        `${repo} cannot be read${token ? " with HF_TOKEN" : " without HF_TOKEN"} (gated or private)`,
        `request access at ${redactUrl(endpoint)}/${repo}`,
      );
    if (status !== undefined) throw new SourceProblem(`cannot read ${file} of ${repo}: ${hubMessage(e)}`);
    const cause = networkCause(e);
    if (cause)
      throw new BackendUnreachable(
        `cannot reach the Hugging Face Hub at ${redactUrl(endpoint)} (${cause})`,
        "check the network, set HF_ENDPOINT to a mirror, or pass --offline to skip the Hub checks",
      );
    throw e;
  }
}
