// An S3-compatible server for the test bed: moto in server mode, from PyPI.
// Exports AWS_ENDPOINT_URL. moto accepts any credentials; tests set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.
import path from 'node:path';
import { defineServer, ensureVenv, venvPython } from './define.mjs';

export const { start, service } = defineServer('s3', async (port) => {
  const venv = await ensureVenv('moto', 'moto[server]==5.2.5');
  const url = `http://127.0.0.1:${port}`;
  return {
    bin: venvPython(venv),
    args: [path.join(venv, 'bin', 'moto_server'), '-H', '127.0.0.1', '-p', String(port)],
    health: `${url}/moto-api/data.json`,
    exports: { AWS_ENDPOINT_URL: url },
  };
});
