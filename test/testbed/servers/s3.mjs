// @ts-check
// An S3-compatible server for the test bed: moto in server mode, from PyPI.
// Exports AWS_ENDPOINT_URL, and POD_AWS_ENDPOINT_URL with a pod host (through forward.mjs). moto accepts any
// credentials; S3_CREDENTIALS are the ones the test bed uses and prints (publish.mjs returns them).
import path from "node:path";
import { defineServer, ensureVenv, venvPython } from "./define.mjs";

/** What the test bed's S3 accepts (moto accepts any key; these are the ones the bed prints and uses). */
export const S3_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: "testing",
  AWS_SECRET_ACCESS_KEY: "testing",
  AWS_DEFAULT_REGION: "us-east-1",
};

export const { start, service } = defineServer("s3", async (/** @type {number} */ port) => {
  const venv = await ensureVenv("moto", "moto[server]==5.2.5");
  const url = `http://127.0.0.1:${port}`;
  return {
    bin: venvPython(venv),
    args: [path.join(venv, "bin", "moto_server"), "-H", "127.0.0.1", "-p", String(port)],
    health: `${url}/moto-api/data.json`,
    exports: { AWS_ENDPOINT_URL: url },
    podExports: (/** @type {string} */ podUrl) => ({ POD_AWS_ENDPOINT_URL: podUrl }),
  };
});
