/**
 * Run outputs and registered models in MLflow, through its REST API 2.0 (README "Model sources"):
 * `run_name` = a run id or an `mlflow.runName`; `task_name` = an experiment (its newest FINISHED run);
 * output X = the artifact path X under the run's artifact URI; `models:/NAME/VERSION` and
 * `models:/NAME@alias` through the model registry.
 * Credentials: MLFLOW_TRACKING_TOKEN (bearer), MLFLOW_TRACKING_USERNAME/PASSWORD or user:password in the
 * tracking URI (basic); never shown.
 */
import type { RunOutputRef } from "../config/schema.js";
import { BackendUnreachable, SourceProblem, networkCause, redactUrl, timedFetch } from "./facts.js";
import { listS3 } from "./object-store.js";

export interface Resolved {
  uri: string;
  /** the run it came from, for the vllmapp.dev/model-source annotation */
  run: string;
}

interface Run {
  info: { run_id: string; run_name?: string; status: string; artifact_uri: string };
}

class Mlflow {
  readonly shown: string;
  private readonly base: string;
  private readonly auth?: string;
  constructor(trackingUri: string) {
    const u = new URL(trackingUri);
    const user = process.env.MLFLOW_TRACKING_USERNAME ?? decodeURIComponent(u.username);
    const pass = process.env.MLFLOW_TRACKING_PASSWORD ?? decodeURIComponent(u.password);
    u.username = "";
    u.password = "";
    this.base = u.toString().replace(/\/+$/, "");
    this.shown = redactUrl(this.base);
    if (process.env.MLFLOW_TRACKING_TOKEN) this.auth = `Bearer ${process.env.MLFLOW_TRACKING_TOKEN}`;
    else if (user) this.auth = `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
  }

  /** GET with a query, or POST with a JSON body; undefined when MLflow says the resource does not exist. */
  async call<T>(
    endpoint: string,
    args: Record<string, unknown>,
    method: "GET" | "POST" = "GET",
  ): Promise<T | undefined> {
    const url = `${this.base}/api/2.0/mlflow/${endpoint}${method === "GET" ? `?${new URLSearchParams(args as Record<string, string>)}` : ""}`;
    let res: Response;
    try {
      res = await timedFetch(url, {
        method,
        headers: {
          ...(this.auth ? { authorization: this.auth } : {}),
          ...(method === "POST" ? { "content-type": "application/json" } : {}),
        },
        ...(method === "POST" ? { body: JSON.stringify(args) } : {}),
      });
    } catch (e) {
      throw new BackendUnreachable(
        `cannot reach MLflow at ${this.shown} (${networkCause(e) ?? (e as Error).message})`,
        "check runs.tracking_uri and that the tracking server is up",
      );
    }
    const body = (await res.json().catch(() => ({}))) as { error_code?: string; message?: string } & T;
    if (res.ok) return body;
    if (body.error_code === "RESOURCE_DOES_NOT_EXIST" || res.status === 404) return undefined;
    if (res.status === 401 || res.status === 403) {
      throw new SourceProblem(
        `MLflow at ${this.shown} refused the request (${res.status})`,
        "set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD",
      );
    }
    throw new SourceProblem(
      `MLflow at ${this.shown} answered ${res.status} ${body.error_code ?? ""} to ${endpoint}: ${body.message ?? ""}`.trim(),
    );
  }

  async experimentIds(): Promise<string[]> {
    const r = await this.call<{ experiments?: { experiment_id: string }[] }>(
      "experiments/search",
      { max_results: 1000 },
      "POST",
    );
    return (r?.experiments ?? []).map((e) => e.experiment_id);
  }

  async searchRuns(experimentIds: string[], filter: string, maxResults: number): Promise<Run[]> {
    if (!experimentIds.length) return [];
    const r = await this.call<{ runs?: Run[] }>(
      "runs/search",
      { experiment_ids: experimentIds, filter, order_by: ["attributes.start_time DESC"], max_results: maxResults },
      "POST",
    );
    return r?.runs ?? [];
  }

  async getRun(id: string): Promise<Run | undefined> {
    return (await this.call<{ run: Run }>("runs/get", { run_id: id }))?.run;
  }
}

const quote = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
const runLabel = (r: Run) => (r.info.run_name ? `${r.info.run_name} (${r.info.run_id})` : r.info.run_id);
const listed = (runs: Run[]) => runs.map((r) => `${r.info.run_name ?? r.info.run_id} (${r.info.status})`).join(", ");

async function findRun(ml: Mlflow, ref: RunOutputRef): Promise<Run> {
  if (ref.run_name !== undefined) {
    const name = ref.run_name;
    let run = /^[0-9a-f]{32}$/.test(name) ? await ml.getRun(name) : undefined;
    const ids = run ? [] : await ml.experimentIds();
    run ??= (await ml.searchRuns(ids, `attributes.run_name = ${quote(name)}`, 1))[0];
    if (!run) {
      const recent = await ml.searchRuns(ids, "", 5);
      throw new SourceProblem(
        `no MLflow run with id or name "${name}" at ${ml.shown}`,
        recent.length ? `recent runs: ${listed(recent)}` : "the tracking server has no runs",
      );
    }
    if (run.info.status !== "FINISHED")
      throw new SourceProblem(
        `MLflow run ${runLabel(run)} has not succeeded: it is ${run.info.status}`,
        "deploy a FINISHED run",
      );
    return run;
  }
  const task = ref.task_name!;
  const exp = await ml.call<{ experiment: { experiment_id: string } }>("experiments/get-by-name", {
    experiment_name: task,
  });
  if (!exp) {
    const r = await ml.call<{ experiments?: { name: string }[] }>("experiments/search", { max_results: 20 }, "POST");
    throw new SourceProblem(
      `no MLflow experiment named "${task}" at ${ml.shown}`,
      `experiments: ${(r?.experiments ?? []).map((e) => e.name).join(", ") || "(none)"}`,
    );
  }
  const [run] = await ml.searchRuns([exp.experiment.experiment_id], "attributes.status = 'FINISHED'", 1);
  if (!run) {
    const recent = await ml.searchRuns([exp.experiment.experiment_id], "", 5);
    throw new SourceProblem(
      `MLflow experiment "${task}" has no FINISHED run`,
      recent.length ? `its runs: ${listed(recent)}` : "it has no runs",
    );
  }
  return run;
}

/** The URI of `path` under a run's artifacts, checked to be one vLLM can load from. */
function artifactUri(run: Run, path: string): string {
  const root = run.info.artifact_uri.replace(/\/+$/, "");
  if (root.startsWith("mlflow-artifacts:")) {
    throw new SourceProblem(
      `the artifacts of MLflow run ${runLabel(run)} are proxied by the tracking server (${root}); vLLM cannot load from there`,
      "run the tracking server with --no-serve-artifacts and an s3:// or gs:// --default-artifact-root, or log the model to an object store",
    );
  }
  if (!/^(s3|gs):\/\//.test(root)) {
    throw new SourceProblem(
      `the artifacts of MLflow run ${runLabel(run)} are at ${root}, which vLLM cannot load from`,
      "use an s3:// or gs:// artifact root",
    );
  }
  return `${root}/${path.replace(/^\/+|\/+$/g, "")}`;
}

/** Outputs (top-level artifact names) of a run, when its artifacts are in S3; undefined when vllmapp cannot list them. */
async function outputsOf(run: Run, appEndpoint?: string): Promise<string[] | undefined> {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(run.info.artifact_uri.replace(/\/+$/, ""));
  if (!m) return undefined;
  return (await listS3({ bucket: m[1]!, prefix: m[2]! }, appEndpoint)).map((n) => n.replace(/\/$/, "")).sort();
}

export async function resolveMlflowRunOutput(
  ref: RunOutputRef,
  trackingUri: string,
  appEndpoint?: string,
): Promise<Resolved> {
  const ml = new Mlflow(trackingUri);
  const run = await findRun(ml, ref);
  const uri = artifactUri(run, ref.output);
  const outputs = await outputsOf(run, appEndpoint);
  if (outputs && !outputs.includes(ref.output.split("/")[0]!)) {
    throw new SourceProblem(
      `MLflow run ${runLabel(run)} has no output "${ref.output}"`,
      outputs.length ? `its outputs: ${outputs.join(", ")}` : "it has no artifacts",
    );
  }
  return { uri, run: `mlflow run ${run.info.run_id}` };
}

interface ModelVersion {
  name: string;
  version: string;
  status?: string;
  source?: string;
  storage_location?: string;
  run_id?: string;
}

export async function resolveMlflowModel(
  name: string,
  selector: { version?: string; alias?: string },
  trackingUri: string,
): Promise<Resolved> {
  const ml = new Mlflow(trackingUri);
  const mv =
    selector.version !== undefined
      ? (await ml.call<{ model_version: ModelVersion }>("model-versions/get", { name, version: selector.version }))
          ?.model_version
      : (await ml.call<{ model_version: ModelVersion }>("registered-models/alias", { name, alias: selector.alias! }))
          ?.model_version;
  const want = selector.version !== undefined ? `version ${selector.version}` : `alias @${selector.alias}`;
  if (!mv) {
    const model = (
      await ml.call<{ registered_model: { aliases?: { alias: string; version: string }[] } }>("registered-models/get", {
        name,
      })
    )?.registered_model;
    if (!model) {
      const r = await ml.call<{ registered_models?: { name: string }[] }>("registered-models/search", {
        max_results: 20,
      });
      throw new SourceProblem(
        `no registered model "${name}" in MLflow at ${ml.shown}`,
        `registered models: ${(r?.registered_models ?? []).map((m) => m.name).join(", ") || "(none)"}`,
      );
    }
    const versions =
      (
        await ml.call<{ model_versions?: ModelVersion[] }>("model-versions/search", {
          filter: `name=${quote(name)}`,
          max_results: 50,
        })
      )?.model_versions ?? [];
    const aliases = (model.aliases ?? []).map((a) => `@${a.alias} → ${a.version}`);
    throw new SourceProblem(
      `registered model "${name}" has no ${want}`,
      `versions: ${versions.map((v) => v.version).join(", ") || "(none)"}${aliases.length ? `; aliases: ${aliases.join(", ")}` : ""}`,
    );
  }
  if (mv.status && mv.status !== "READY")
    throw new SourceProblem(`models:/${name} ${want} (version ${mv.version}) is ${mv.status}, not READY`);
  const source = mv.storage_location || mv.source || "";
  const runRef = /^runs:\/([^/]+)\/?(.*)$/.exec(source);
  if (runRef) {
    const run = await ml.getRun(runRef[1]!);
    if (!run)
      throw new SourceProblem(
        `models:/${name} version ${mv.version} comes from run ${runRef[1]}, which MLflow no longer has`,
      );
    return { uri: artifactUri(run, runRef[2]!), run: `mlflow run ${run.info.run_id}` };
  }
  if (!/^(s3|gs):\/\//.test(source)) {
    throw new SourceProblem(
      `models:/${name} version ${mv.version} is stored at ${source || "(no location)"}, which vLLM cannot load from`,
      "register model versions whose files are in s3:// or gs://",
    );
  }
  return {
    uri: source.replace(/\/+$/, ""),
    run: mv.run_id ? `mlflow run ${mv.run_id}` : `models:/${name}/${mv.version}`,
  };
}
