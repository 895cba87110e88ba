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
  const common = { hubUrl: endpoint, accessToken: token, fetch: timedFetch };
  const unreachable = (e: unknown) => {
    const cause = networkCause(e);
    return cause
      ? new BackendUnreachable(
          `cannot reach the Hugging Face Hub at ${redactUrl(endpoint)} (${cause})`,
          "check the network, set HF_ENDPOINT to a mirror, or pass --offline to skip the Hub checks",
        )
      : e;
  };
  const page = `${redactUrl(endpoint)}/${repo}`;

  let info: { sha: string; gated: false | "auto" | "manual" };
  try {
    info = await hub.modelInfo({ name: repo, revision, additionalFields: ["sha"], ...common });
  } catch (e) {
    const status = hubStatus(e);
    if (status !== 401 && status !== 404) throw unreachable(e);
    if (revision) {
      const exists = await hub.modelInfo({ name: repo, ...common }).then(
        () => true,
        () => false,
      );
      if (exists)
        throw new SourceProblem(
          `${repo} has no revision "${revision}"`,
          `use a branch, tag or commit of ${page}, or drop @${revision}`,
        );
    }
    throw new SourceProblem(
      `Hugging Face repo ${repo} not found${token ? "" : " (or it is private and HF_TOKEN is not set)"}`,
      `check the name at ${page}`,
    );
  }
  const gated = info.gated !== false;

  const files: { path: string; size: number }[] = [];
  try {
    for await (const f of hub.listFiles({ repo, revision: info.sha, ...common })) if (f.type === "file") files.push(f);
  } catch (e) {
    throw unreachable(e);
  }

  let configText: string;
  try {
    const blob = await hub.downloadFile({ repo, path: "config.json", revision: info.sha, xet: false, ...common });
    if (!blob) {
      throw new SourceProblem(
        `${repo} has no config.json, so vLLM cannot load it`,
        `its files: ${files
          .map((f) => f.path)
          .slice(0, 8)
          .join(", ")}`,
      );
    }
    configText = await blob.text();
  } catch (e) {
    const status = hubStatus(e);
    if (status === 401 || status === 403) {
      throw new SourceProblem(
        token
          ? `HF_TOKEN cannot read ${repo}: it is gated (${info.gated} approval) and the token's account has no access`
          : `${repo} is gated (${info.gated} approval) and HF_TOKEN is not set`,
        token
          ? `request access at ${page} with the account the token belongs to`
          : `request access at ${page}, then export HF_TOKEN (and list HF_TOKEN under secrets so the server can download it)`,
      );
    }
    if (status !== undefined) throw new SourceProblem(`cannot read config.json of ${repo}: ${hubMessage(e)}`);
    throw unreachable(e);
  }

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
