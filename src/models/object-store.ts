/**
 * Checking an s3:// source with the AWS SDK for JavaScript v3 (loaded only here), with the standard
 * credential chain (env, shared config/credentials files and profiles, SSO, web identity, instance role)
 * and S3-compatible endpoints from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL (else the app's env_vars):
 * the prefix exists, holds config.json and weight files, and their total size.
 */
import { gb } from "../fit/fit.js";
import {
  BackendUnreachable,
  CredentialsProblem,
  SourceProblem,
  networkCause,
  redactUrl,
  type ModelFacts,
} from "./facts.js";

export interface S3Location {
  bucket: string;
  /** without leading or trailing slash; "" for the bucket's root */
  prefix: string;
}

interface Listing {
  files: { name: string; size: number }[];
  folders: string[];
}

type S3 = {
  client: import("@aws-sdk/client-s3").S3Client;
  sdk: typeof import("@aws-sdk/client-s3");
  endpoint?: string;
};

async function s3Client(appEndpoint?: string): Promise<S3> {
  const mod = await import("@aws-sdk/client-s3");
  // the bundle hands a CommonJS module back as its default export
  const sdk = "S3Client" in mod ? mod : (mod as { default: typeof mod }).default;
  const endpoint = process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || appEndpoint;
  const client = new sdk.S3Client({
    region: process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || "us-east-1",
    followRegionRedirects: true,
    maxAttempts: 2,
    // a store that does not answer is reported, not waited on (as the Hub and MLflow checks do)
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 20_000 },
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
  });
  return { client, sdk, endpoint };
}

/** What went wrong, in words, without credentials. */
function s3Failure(e: unknown, uri: string, s3: S3): Error {
  const err = e as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number }; message?: string };
  const where = s3.endpoint ? ` at ${redactUrl(s3.endpoint)}` : "";
  const cause = networkCause(e);
  if (cause)
    return new BackendUnreachable(
      `cannot reach S3${where} (${cause})`,
      "check the network, or AWS_ENDPOINT_URL for an S3-compatible store",
    );
  const code = err.name ?? err.Code ?? "";
  if (code === "CredentialsProviderError") {
    return new CredentialsProblem(
      `no AWS credentials found to read ${uri}`,
      "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where an instance/pod role applies",
    );
  }
  if (code === "NoSuchBucket") return new SourceProblem(`bucket ${uri.split("/")[2]} does not exist${where}`);
  if (code === "AccessDenied" || err.$metadata?.httpStatusCode === 403) {
    return new CredentialsProblem(
      `access denied reading ${uri}${where}`,
      "the credentials the AWS SDK found need s3:ListBucket and s3:GetObject on it",
    );
  }
  if (code === "InvalidAccessKeyId" || code === "SignatureDoesNotMatch")
    return new CredentialsProblem(`S3 rejected the AWS credentials (${code}) reading ${uri}`);
  return new SourceProblem(
    `cannot read ${uri}${where}: ${code || "error"}${err.message && err.message !== code ? `: ${err.message}` : ""}`,
  );
}

async function list(s3: S3, loc: S3Location, uri: string): Promise<Listing> {
  const out: Listing = { files: [], folders: [] };
  const prefix = loc.prefix ? `${loc.prefix}/` : "";
  let token: string | undefined;
  try {
    do {
      const page = await s3.client.send(
        new s3.sdk.ListObjectsV2Command({
          Bucket: loc.bucket,
          Prefix: prefix,
          Delimiter: "/",
          ContinuationToken: token,
        }),
      );
      for (const o of page.Contents ?? [])
        if (o.Key && o.Key !== prefix) out.files.push({ name: o.Key.slice(prefix.length), size: o.Size ?? 0 });
      for (const p of page.CommonPrefixes ?? [])
        if (p.Prefix) out.folders.push(p.Prefix.slice(prefix.length).replace(/\/$/, ""));
      token = page.NextContinuationToken;
    } while (token);
  } catch (e) {
    throw s3Failure(e, uri, s3);
  }
  return out;
}

const names = (l: Listing) => [...l.folders.map((f) => `${f}/`), ...l.files.map((f) => f.name)];

function parent(loc: S3Location): S3Location {
  return { bucket: loc.bucket, prefix: loc.prefix.split("/").slice(0, -1).join("/") };
}

/** The names (files, and folders with a trailing /) directly under an s3:// prefix. */
export async function listS3(loc: S3Location, appEndpoint?: string): Promise<string[]> {
  const s3 = await s3Client(appEndpoint);
  return names(await list(s3, loc, `s3://${loc.bucket}/${loc.prefix}`));
}

export async function checkS3Source(
  loc: S3Location,
  opts: { uri: string; streamModel: boolean; appEndpoint?: string },
): Promise<ModelFacts> {
  const s3 = await s3Client(opts.appEndpoint);
  const { uri } = opts;
  const here = await list(s3, loc, uri);
  if (!here.files.length && !here.folders.length) {
    const up = loc.prefix ? names(await list(s3, parent(loc), uri)) : [];
    throw new SourceProblem(
      `nothing at ${uri}`,
      up.length
        ? `s3://${loc.bucket}/${parent(loc).prefix ? `${parent(loc).prefix}/` : ""} has: ${up.slice(0, 10).join(", ")}`
        : undefined,
    );
  }
  const folders = here.folders.length ? `; folders: ${here.folders.map((f) => `${f}/`).join(", ")}` : "";
  const safetensors = here.files.filter((f) => f.name.endsWith(".safetensors"));
  const bins = here.files.filter((f) => /\.(bin|pt)$/.test(f.name));
  if (!here.files.some((f) => f.name === "config.json")) {
    throw new SourceProblem(
      `${uri} has no config.json, so vLLM cannot load it`,
      `it has: ${names(here).slice(0, 10).join(", ")}${here.folders.length ? " (is the model in a folder below?)" : ""}`,
    );
  }
  if (!safetensors.length && !bins.length) {
    throw new SourceProblem(
      `${uri} has no weight files (*.safetensors)`,
      `it has: ${here.files
        .map((f) => f.name)
        .slice(0, 10)
        .join(", ")}${folders}`,
    );
  }
  if (!safetensors.length && opts.streamModel) {
    throw new SourceProblem(
      `${uri} has only PyTorch weights (*.bin); stream_model (Run:ai streamer) loads *.safetensors only`,
      "set stream_model: false to copy the model first, or convert it to safetensors",
    );
  }
  const weights = safetensors.length ? safetensors : bins;
  let configText: string;
  try {
    const obj = await s3.client.send(
      new s3.sdk.GetObjectCommand({
        Bucket: loc.bucket,
        Key: loc.prefix ? `${loc.prefix}/config.json` : "config.json",
      }),
    );
    configText = await obj.Body!.transformToString();
  } catch (e) {
    throw s3Failure(e, `${uri}/config.json`, s3);
  }
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(configText) as Record<string, unknown>;
  } catch {
    throw new SourceProblem(`${uri}/config.json is not valid JSON`);
  }
  const weightBytes = weights.reduce((a, f) => a + f.size, 0);
  return {
    checked: `${uri}: config.json, ${weights.length} weight file${weights.length === 1 ? "" : "s"}, ${gb(weightBytes)}`,
    config,
    weightBytes,
  };
}

/** One small file under an s3:// prefix (e.g. adapter_config.json), or undefined when there is none. */
export async function readS3File(loc: S3Location, file: string, appEndpoint?: string): Promise<string | undefined> {
  const s3 = await s3Client(appEndpoint);
  const key = loc.prefix ? `${loc.prefix}/${file}` : file;
  try {
    const obj = await s3.client.send(new s3.sdk.GetObjectCommand({ Bucket: loc.bucket, Key: key }));
    return await obj.Body!.transformToString();
  } catch (e) {
    const code = (e as { name?: string }).name;
    if (code === "NoSuchKey") return undefined;
    throw s3Failure(e, `s3://${loc.bucket}/${key}`, s3);
  }
}
