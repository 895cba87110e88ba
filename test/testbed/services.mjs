// @ts-check
// Extra services that join the test bed: an S3-compatible server (moto), an MLflow tracking server and a
// Hugging Face Hub replay (test/testbed/servers/).
// Each entry: { name, start(ctx, svcState, env) -> Promise<env additions>, stop?(svcState, fullState) }
// Services start in parallel with the cluster and Docker (env = {}), unless the entry sets
// `needsBaseEnv: true`: then it starts afterwards and env holds KUBECONFIG, VLLM_STANDIN_IMAGE, ...
//   ctx.spawn(name, bin, args, {env, cwd})  start a long-running process (recorded in state.json,
//                                           stopped automatically by down/teardown, logs in logs/<name>.log)
//   ctx.freePort()                          a free 127.0.0.1 port (bind there only)
//   ctx.waitForHttp(what, url, {proc})      poll until HTTP 200
//   ctx.workDir, ctx.log(msg), ctx.run(cmd, args, opts)
//   ctx.podHost                             optional: the real node's pod bridge address (198.19.0.1); the
//                                           servers then listen there too (same port) and export POD_* URLs
//                                           (servers/define.mjs); absent → 127.0.0.1 only
//   svcState                                a JSON object saved in state.json (for stop())
// The returned env (e.g. { MLFLOW_TRACKING_URI: 'http://127.0.0.1:PORT' }) is printed by up.mjs
// and exported to the tests by run-all.mjs.
//
// The same contract as types (lib.mjs's Ctx is the context):
/**
 * @typedef {{ name: string, pid: number, bin: string, args: string[], logFile: string, alive: () => boolean }} SpawnedProcess
 * @typedef {object} ServiceContext
 * @property {string} workDir
 * @property {string | null} podHost
 * @property {() => Promise<number>} freePort
 * @property {(msg: string) => void} log
 * @property {(name: string, bin: string, args: string[], opts?: { env?: NodeJS.ProcessEnv, cwd?: string }) => SpawnedProcess} spawn
 * @property {(what: string, url: string, opts?: { okStatus?: number, timeoutMs?: number, proc?: SpawnedProcess }) => Promise<unknown>} waitForHttp
 * @typedef {object} Service
 * @property {string} name
 * @property {boolean} [needsBaseEnv]
 * @property {(ctx: ServiceContext, svcState: Record<string, unknown>, env: Record<string, string>) => Promise<Record<string, string>>} start
 * @property {(svcState: Record<string, unknown>, fullState: unknown) => Promise<unknown>} [stop]
 */
import { service as s3 } from "./servers/s3.mjs";
import { service as mlflow } from "./servers/mlflow.mjs";
import { service as hfReplay } from "./servers/hf-replay.mjs";

/** @type {Service[]} */
export const services = [s3, mlflow, hfReplay];
