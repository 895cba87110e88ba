// @ts-check
// An MLflow tracking server for the test bed, from PyPI: SQLite backend store in the work dir, and run
// artifacts addressed directly in S3 (--no-serve-artifacts), so a run's artifact URI is s3://vllmapp-mlflow/….
// Exports MLFLOW_TRACKING_URI (and POD_MLFLOW_TRACKING_URI with a pod host, through forward.mjs).
import path from "node:path";
import { defineServer, ensureVenv, venvPython } from "./define.mjs";

export const ARTIFACT_ROOT = "s3://vllmapp-mlflow/artifacts";

export const { start, service } = defineServer(
  "mlflow",
  async (/** @type {number} */ port, /** @type {string} */ workDir) => {
    const venv = await ensureVenv("mlflow", "mlflow==3.17.2");
    const url = `http://127.0.0.1:${port}`;
    return {
      bin: venvPython(venv),
      args: [
        path.join(venv, "bin", "mlflow"),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
        "--workers",
        "1",
        "--backend-store-uri",
        `sqlite:///${path.join(workDir, "mlflow.db")}`,
        "--default-artifact-root",
        ARTIFACT_ROOT,
        "--no-serve-artifacts",
      ],
      // no background job runner (a pool of huey workers that the registry and tracking APIs do not need)
      env: { MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false" },
      health: `${url}/health`,
      exports: { MLFLOW_TRACKING_URI: url },
      podExports: (/** @type {string} */ podUrl) => ({ POD_MLFLOW_TRACKING_URI: podUrl }),
    };
  },
);
