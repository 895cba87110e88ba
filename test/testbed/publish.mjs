// Publish the tiny model (tiny-model.mjs) in every form vllmapp reads, once the test bed's servers are up.
//
//   import { publishTinyModel } from './publish.mjs';
//   const env = await publishTinyModel({ modelDir, workDir, env });
//     modelDir  the tiny model folder (ensureTinyModel().dir)
//     workDir   the test bed work dir (the hf-replay started from it reads <workDir>/hf-replay/repos.json)
//     env       the test bed env so far: HF_ENDPOINT, AWS_ENDPOINT_URL, MLFLOW_TRACKING_URI (each optional:
//               a form whose server is absent is not published)
//     hfRepo, bucket, prefix, runName   optional, defaults below
//   → { VLLM_TINY_MODEL_DIR, VLLM_TINY_MODEL_HF, VLLM_TINY_MODEL_S3, VLLM_TINY_MODEL_MLFLOW_RUN,
//       AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION }
//
// HF: `hfRepo` (org/name) served by the hf-replay with real downloads. S3: the files under
// s3://<bucket>/<prefix>/ (bucket created when missing). MLflow: a FINISHED run named `runName` in the
// Default experiment whose artifact `model` holds the files; the tracking server addresses artifacts in S3
// (--no-serve-artifacts, root s3://vllmapp-mlflow/artifacts), so the run's output resolves to
// s3://vllmapp-mlflow/artifacts/<experiment>/<run id>/artifacts/model, which vLLM streams or rclone copies.
// Idempotent: a second call reuses the run of that name and rewrites the objects.
import fs from "node:fs";
import path from "node:path";
import { publishHfRepo } from "./servers/hf-replay.mjs";
import { S3_CREDENTIALS } from "./servers/s3.mjs";

export const TINY_HF_REPO = "vllmapp-test/tiny-llama";
export const TINY_S3_BUCKET = "vllmapp-models";
export const TINY_S3_PREFIX = "tiny";
export const TINY_MLFLOW_RUN = "tiny-llama-run";

/** @typedef {{ info: { run_id: string, artifact_uri: string, status: string } }} MlflowRun  the fields read here */

/** @param {string} endpoint */
async function s3Client(endpoint) {
  const { S3Client } = await import("@aws-sdk/client-s3");
  return new S3Client({
    endpoint,
    forcePathStyle: true,
    region: S3_CREDENTIALS.AWS_DEFAULT_REGION,
    credentials: {
      accessKeyId: S3_CREDENTIALS.AWS_ACCESS_KEY_ID,
      secretAccessKey: S3_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
    },
  });
}

/**
 * Upload every file of `dir` to s3://bucket/prefix/ (creating the bucket when missing).
 * @param {{ endpoint: string, dir: string, bucket: string, prefix: string }} opts
 */
export async function uploadDir({ endpoint, dir, bucket, prefix }) {
  const { CreateBucketCommand, HeadBucketCommand, PutObjectCommand } = await import("@aws-sdk/client-s3");
  const s3 = await s3Client(endpoint);
  try {
    try {
      await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    } catch {
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    }
    /** @param {string} f */
    const key = (f) => [prefix.replace(/^\/+|\/+$/g, ""), f].filter(Boolean).join("/");
    for (const f of fs.readdirSync(dir).sort()) {
      const p = path.join(dir, f);
      if (!fs.statSync(p).isFile()) continue;
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key(f), Body: fs.readFileSync(p) }));
    }
  } finally {
    s3.destroy();
  }
}

/**
 * One call of MLflow's REST API; its JSON answer.
 * @param {string} base @param {string} endpoint @param {Record<string, unknown>} body
 * @returns {Promise<unknown>}
 */
async function mlflow(base, endpoint, body, method = "POST") {
  const query = method === "GET" ? `?${new URLSearchParams(/** @type {Record<string, string>} */ (body))}` : "";
  const url = `${base.replace(/\/+$/, "")}/api/2.0/mlflow/${endpoint}${query}`;
  const res = await fetch(url, {
    method,
    headers: { "content-type": "application/json" },
    ...(method === "POST" ? { body: JSON.stringify(body) } : {}),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`MLflow ${endpoint} answered ${res.status}: ${JSON.stringify(json).slice(0, 300)}`);
  return json;
}

/**
 * A FINISHED MLflow run named `runName` whose artifact `model` holds the files of `dir`; returns its info.
 * @param {{ trackingUri: string, s3Endpoint: string, dir: string, runName: string }} opts
 */
export async function publishMlflowRun({ trackingUri, s3Endpoint, dir, runName }) {
  const found = /** @type {{ runs?: MlflowRun[] }} */ (
    await mlflow(trackingUri, "runs/search", {
      experiment_ids: ["0"],
      filter: `attributes.run_name = '${runName}'`,
      max_results: 1,
    })
  );
  let run = found.runs?.[0];
  if (!run) {
    run = /** @type {{ run: MlflowRun }} */ (
      await mlflow(trackingUri, "runs/create", {
        experiment_id: "0",
        run_name: runName,
        start_time: Date.now(),
        tags: [{ key: "mlflow.runName", value: runName }],
      })
    ).run;
  }
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(run.info.artifact_uri.replace(/\/+$/, ""));
  if (!m) throw new Error(`MLflow run ${run.info.run_id} has artifacts at ${run.info.artifact_uri}, not in S3`);
  await uploadDir({ endpoint: s3Endpoint, dir, bucket: /** @type {string} */ (m[1]), prefix: `${m[2]}/model` });
  if (run.info.status !== "FINISHED")
    await mlflow(trackingUri, "runs/update", { run_id: run.info.run_id, status: "FINISHED", end_time: Date.now() });
  return { runId: run.info.run_id, artifactUri: `${run.info.artifact_uri.replace(/\/+$/, "")}/model` };
}

/**
 * @param {{ modelDir: string, workDir: string, env?: Record<string, string | undefined>, hfRepo?: string,
 *   bucket?: string, prefix?: string, runName?: string }} opts
 */
export async function publishTinyModel({
  modelDir,
  workDir,
  env = {},
  hfRepo = TINY_HF_REPO,
  bucket = TINY_S3_BUCKET,
  prefix = TINY_S3_PREFIX,
  runName = TINY_MLFLOW_RUN,
}) {
  const dir = path.resolve(modelDir);
  if (!fs.existsSync(path.join(dir, "config.json"))) throw new Error(`${dir} is not a model folder (no config.json)`);
  /** @type {Record<string, string>} */
  const out = { VLLM_TINY_MODEL_DIR: dir };
  if (env.HF_ENDPOINT) {
    publishHfRepo({ workDir, repo: hfRepo, dir });
    const r = await fetch(`${env.HF_ENDPOINT}/api/models/${hfRepo}/revision/main`);
    if (!r.ok)
      throw new Error(
        `the hf-replay at ${env.HF_ENDPOINT} does not serve ${hfRepo} (${r.status}); was it started from ${workDir}?`,
      );
    out.VLLM_TINY_MODEL_HF = hfRepo;
  }
  if (env.AWS_ENDPOINT_URL) {
    await uploadDir({ endpoint: env.AWS_ENDPOINT_URL, dir, bucket, prefix });
    out.VLLM_TINY_MODEL_S3 = `s3://${bucket}/${prefix}/`;
    Object.assign(out, S3_CREDENTIALS);
    if (env.MLFLOW_TRACKING_URI) {
      await publishMlflowRun({ trackingUri: env.MLFLOW_TRACKING_URI, s3Endpoint: env.AWS_ENDPOINT_URL, dir, runName });
      out.VLLM_TINY_MODEL_MLFLOW_RUN = runName;
    }
  }
  return out;
}
