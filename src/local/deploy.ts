/**
 * deploy --local: render → preflight (nothing started yet) → per app, deps first: before steps,
 * replace the container when its rendered spec changed, wait for /health.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import type { DeployOptions } from "../commands/target.js";
import { renderAll } from "../commands/common.js";
import { parseDuration } from "../config/units.js";
import { AppFailedError, UsageError } from "../errors.js";
import type { DockerPlan } from "../render/app.js";
import { jsonDocument } from "../render/format.js";
import type { Ui } from "../ui/output.js";
import { apiKeyOf, engineRuntimes, findContainers, labelOf, LABEL } from "./docker.js";
import { removeContainer, startContainer } from "./container.js";
import { checkGpuRuntime, checkPorts, checkSecrets, ensureImage, type PlannedApp } from "./preflight.js";
import { waitUntilHealthy } from "./wait.js";

export interface DeployedApp {
  name: string;
  container: string;
  action: "created" | "replaced" | "unchanged";
  endpoint: string;
  modelId: string;
  image: string;
  /** false with --no-wait */
  ready: boolean;
  requiresApiKey: boolean;
}

/** --dry-run=client: the apps as `render -o json` prints them (the fields read here) */
interface PlannedRun {
  name: string;
  docker: { argv: string[]; before?: { what: string; argv: string[] }[] };
}

export type DeployResult = { dryRun?: false; apps: DeployedApp[] } | { dryRun: true; apps: PlannedRun[] };

/** Values of the names the plan passes with `-e NAME`, from this process's environment. */
function hostEnv(names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.filter((n) => n !== "VLLM_API_KEY").map((n) => [n, process.env[n] ?? ""]));
}

/** A one-off container before `docker run` (model copy, on_startup); its output streams as progress. */
async function runStep(step: DockerPlan["before"][number], ui: Ui): Promise<void> {
  const spin = await ui.spinner(step.what);
  const p = execa(step.argv[0]!, step.argv.slice(1), { env: hostEnv(step.envFromHost), extendEnv: true, all: true, buffer: false, reject: false, stdin: "ignore" });
  const tail: string[] = [];
  for await (const line of p.iterable({ from: "all" })) {
    tail.push(line);
    if (tail.length > 20) tail.shift();
    spin.update(`${step.what}: ${line}`);
  }
  const r = await p;
  if (r.exitCode !== 0) {
    spin.stop();
    throw new AppFailedError(`${step.what} failed with exit code ${r.exitCode ?? r.signal}${tail.length ? `\n  last output lines:\n${tail.map((l) => `    ${l}`).join("\n")}` : ""}`);
  }
  spin.succeed(step.what);
}

function timeoutFor(opts: DeployOptions, startupTimeout: string | number): number {
  if (opts.timeout === undefined) return parseDuration(startupTimeout) ?? 1800;
  const t = parseDuration(opts.timeout);
  if (t === undefined) throw new UsageError(`--timeout ${opts.timeout}: not a duration`, "write it like 90s, 10m or 1h");
  return t;
}

export async function deployLocal(opts: DeployOptions, ui: Ui): Promise<DeployResult> {
  if (opts.dryRun === "server") throw new UsageError("--dry-run=server asks a Kubernetes API server; with --local use --dry-run=client");
  const { makeResolver } = await import("../models/resolve.js");
  const { loaded, rendered, warnings } = await renderAll({ opts, resolve: makeResolver({ ...opts, ui, mode: "deploy" }), dockerGpus: opts.gpus });
  ui.diagnostics(warnings);
  if (opts.dryRun === "client") return { dryRun: true, ...(jsonDocument(rendered) as { apps: PlannedRun[] }) };

  // preflight: nothing is started until every check has passed
  const runtimes = await engineRuntimes();
  const apps: (PlannedApp & { timeout: number; modelId: string })[] = [];
  for (const r of rendered) {
    const config = loaded.apps.find((a) => a.config.name === r.name)!.config;
    const [existing] = await findContainers(`${LABEL}=${r.name}`);
    apps.push({ name: r.name, plan: r.docker!, existing, timeout: timeoutFor(opts, config.startup_timeout), modelId: r.model.servedAs });
  }
  checkSecrets(apps);
  checkGpuRuntime(apps, runtimes);
  await checkPorts(apps);
  for (const image of new Set(apps.map((a) => a.plan.image))) await ensureImage(image, ui);

  const results: DeployedApp[] = [];
  for (const a of apps) {
    const { plan, existing } = a;
    let action: DeployedApp["action"] = existing ? "replaced" : "created";
    if (existing?.State.Running && labelOf(existing, "vllmapp.hash") === plan.hash) {
      action = "unchanged";
      ui.info(`${a.name}: unchanged (${plan.container})`);
    } else {
      if (plan.modelCacheDir) mkdirSync(plan.modelCacheDir, { recursive: true });
      for (const step of plan.before) await runStep(step, ui);
      const env = hostEnv(plan.envFromHost);
      if (plan.requiresApiKey) env.VLLM_API_KEY = (existing && apiKeyOf(existing)) ?? randomBytes(24).toString("base64url");
      mkdirSync(path.join(homedir(), ".cache", "huggingface"), { recursive: true });
      if (existing) await removeContainer(existing, ui);
      await startContainer(plan, env);
      ui.success(`${a.name}: ${action} ${plan.container}`);
    }
    if (opts.wait) await waitUntilHealthy({ app: a.name, container: plan.container, port: plan.port, timeoutSeconds: a.timeout }, ui);
    results.push({
      name: a.name,
      container: plan.container,
      action,
      endpoint: `http://127.0.0.1:${plan.port}`,
      modelId: a.modelId,
      image: plan.image,
      ready: opts.wait,
      requiresApiKey: plan.requiresApiKey,
    });
  }
  if (results.some((r) => r.requiresApiKey)) {
    ui.note(`the endpoint needs an API key (Authorization: Bearer …): vllmapp status --local --show-api-key${opts.app ? ` ${opts.app}` : ""}`);
  }
  return { apps: results };
}
