/**
 * deploy --local: render → preflight (nothing started yet) → per app, deps first: before steps,
 * replace the container when its rendered spec changed, wait for /health.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import type { Plan } from "../app/plan.js";
import { AppFailedError, InterruptedError } from "../errors.js";
import { DOCKER_VLLM_CACHE } from "../render/docker.js";
import type { DockerPlan } from "../render/types.js";
import type {
  ChangeAction,
  DeployedApp,
  DeployRequest,
  DeployResult,
  StartupPhase,
  StartupReport,
  Timeline,
} from "../target.js";
import type { Ui } from "../ui/output.js";
import { apiKeyOf, docker, engineRuntimes, findContainers, labelOf, LABEL } from "./docker.js";
import { entriesOfReport } from "../startup/timeline.js";
import { recordLocalStart } from "./starts.js";
import { removeContainer, startContainer } from "./container.js";
import { lockLocalApps } from "./lock.js";
import { listenForInterrupt, stopListeningForInterrupt } from "../interrupt.js";
import { checkGpuRuntime, checkPorts, checkSecrets, ensureImage, type DockerApp } from "./preflight.js";
import { waitUntilHealthy } from "./wait.js";

/** Values of the names the plan passes with `-e NAME`, from this process's environment. */
function hostEnv(names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.filter((n) => n !== "VLLM_API_KEY").map((n) => [n, process.env[n] ?? ""]));
}

/**
 * Ctrl-C during deploy --local: a one-off step (the model copy) is stopped and nothing is started; a
 * container being replaced is started in full before the deploy stops, never left removed; the wait
 * stops on its own (wait.ts).
 */
class LocalInterrupt {
  requested = false;
  readonly steps = new AbortController();
  private readonly listener = () => {
    this.requested = true;
    this.steps.abort();
  };
  constructor() {
    listenForInterrupt(this.listener);
  }
  close(): void {
    stopListeningForInterrupt(this.listener);
  }
}

/** A one-off container before `docker run` (model copy, on_startup); its output streams as progress. */
async function runStep(step: DockerPlan["before"][number], ui: Ui, interrupt: LocalInterrupt): Promise<void> {
  const spin = await ui.spinner(step.what);
  const p = execa(step.argv[0]!, step.argv.slice(1), {
    env: hostEnv(step.envFromHost),
    extendEnv: true,
    all: true,
    buffer: false,
    reject: false,
    stdin: "ignore",
    cancelSignal: interrupt.steps.signal,
    killSignal: "SIGINT",
  });
  const tail: string[] = [];
  for await (const line of p.iterable({ from: "all" })) {
    tail.push(line);
    if (tail.length > 20) tail.shift();
    spin.update(`${step.what}: ${line}`);
  }
  const r = await p;
  if (interrupt.requested) {
    spin.stop();
    throw new InterruptedError(
      `interrupted during ${step.what}: the app's container was not started or changed; vllmapp deploy --local starts over (a model copy keeps the files it finished)`,
    );
  }
  if (r.exitCode !== 0) {
    spin.stop();
    throw new AppFailedError(
      `${step.what} failed with exit code ${r.exitCode ?? r.signal}${tail.length ? `\n  last output lines:\n${tail.map((l) => `    ${l}`).join("\n")}` : ""}`,
    );
  }
  spin.succeed(step.what);
}

export async function deployLocal(plan: Plan, req: DeployRequest, ui: Ui): Promise<DeployResult> {
  if (req.dryRun === "client") return dryRunLocal(plan);
  const release = lockLocalApps(plan.apps.map((a) => a.rendered.name));
  const interrupt = new LocalInterrupt();
  try {
    return await deployLocked(plan, req, ui, interrupt);
  } finally {
    interrupt.close();
    release();
  }
}

function baseOf(r: Plan["apps"][number]["rendered"]) {
  return {
    name: r.name,
    namespace: null,
    container: r.docker!.container,
    model: r.model,
    image: r.docker!.image,
    endpoint: `http://127.0.0.1:${r.docker!.port}`,
    requiresApiKey: r.docker!.requiresApiKey,
    objects: null,
  };
}

function dryRunLocal(plan: Plan): DeployResult {
  return {
    dryRun: "client",
    prerequisites: [],
    apps: plan.apps.map(({ rendered: r }): DeployedApp => ({
      ...baseOf(r),
      changes: [],
      ready: false,
      replicas: null,
      startup: null,
      timeline: null,
      docker: { argv: r.docker!.argv, before: r.docker!.before.map((b) => ({ what: b.what, argv: b.argv })) },
    })),
  };
}

/** The start deploy waited for, by the container's recorded start (the id `status --local` reads), into the app's history. */
async function keepLocalStart(app: string, container: string, startup: StartupReport): Promise<Timeline> {
  const startedAt = (await docker(["inspect", "--format", "{{.State.StartedAt}}", container])).stdout.trim();
  const entries = entriesOfReport(startup);
  const before = startup.phases
    .filter((p) => p.phase === "pulling" || p.phase === "downloading")
    .reduce((n, p) => n + p.seconds, 0);
  const at = Date.parse(startedAt) || Date.now();
  return recordLocalStart(app, {
    id: `${container}#${startedAt}`,
    at,
    entries,
    serverSeconds: startup.phase === "ready" ? Math.round((startup.elapsedSeconds - before) * 10) / 10 : null,
  });
}

type LocalApp = DockerApp & { timeout: number; rendered: Plan["apps"][number]["rendered"] };

/** Preflight: nothing is started until every check has passed (and the images are here). */
async function preflightLocal(
  plan: Plan,
  req: DeployRequest,
  ui: Ui,
): Promise<{ apps: LocalApp[]; pulledAt: Map<string, number> }> {
  const runtimes = await engineRuntimes();
  const apps: LocalApp[] = [];
  for (const { loaded, rendered: r } of plan.apps) {
    const [existing] = await findContainers(`${LABEL}=${r.name}`);
    apps.push({
      name: r.name,
      plan: r.docker!,
      existing,
      timeout: req.timeoutSeconds ?? loaded.config.startup_timeout,
      rendered: r,
    });
  }
  checkSecrets(apps);
  checkGpuRuntime(apps, runtimes);
  await checkPorts(apps);
  const pulledAt = new Map<string, number>();
  for (const image of new Set(apps.map((a) => a.plan.image))) {
    const at = await ensureImage(image, ui);
    if (at !== undefined) pulledAt.set(image, at);
  }
  return { apps, pulledAt };
}

async function deployLocked(plan: Plan, req: DeployRequest, ui: Ui, interrupt: LocalInterrupt): Promise<DeployResult> {
  const interruptedPreflight = () =>
    new InterruptedError("interrupted during the preflight checks: nothing was started or changed");
  // a Ctrl-C in a terminal reaches a `docker pull` too, which then fails: that is the interrupt, not a pull error
  const { apps, pulledAt } = await preflightLocal(plan, req, ui).catch((e: unknown) => {
    throw interrupt.requested ? interruptedPreflight() : e;
  });
  if (interrupt.requested) throw interruptedPreflight();
  const results: DeployedApp[] = [];
  for (const a of apps) {
    if (interrupt.requested)
      throw new InterruptedError(
        `interrupted before ${a.name} was started${results.length ? ` (deployed: ${results.map((r) => r.name).join(", ")})` : ""}; vllmapp deploy --local goes on from there`,
      );
    const { plan: docker, existing } = a;
    let action: ChangeAction = existing ? "replace" : "create";
    const before: { phase: StartupPhase; at: number }[] = pulledAt.has(docker.image)
      ? [{ phase: "pulling", at: pulledAt.get(docker.image)! }]
      : [];
    let startedAt: number | undefined;
    if (existing?.State.Running && labelOf(existing, "vllmapp.hash") === docker.hash) {
      action = "unchanged";
      ui.info(`${a.name}: unchanged (${docker.container})`);
      startedAt = existing.State.StartedAt ? Date.parse(existing.State.StartedAt) : undefined;
    } else {
      if (docker.modelCacheDir) mkdirSync(docker.modelCacheDir, { recursive: true });
      for (const step of docker.before) {
        // the model copy is the download phase; on_startup counts as starting
        if (step.what.startsWith("copy ")) before.push({ phase: "downloading", at: Date.now() });
        await runStep(step, ui, interrupt);
      }
      const env = hostEnv(docker.envFromHost);
      if (docker.apiKeyFromHost) env.VLLM_API_KEY = process.env.VLLM_API_KEY!;
      else if (docker.requiresApiKey)
        env.VLLM_API_KEY = (existing && apiKeyOf(existing)) ?? randomBytes(24).toString("base64url");
      mkdirSync(path.join(homedir(), ".cache", "huggingface"), { recursive: true });
      mkdirSync(path.join(homedir(), DOCKER_VLLM_CACHE), { recursive: true });
      if (existing) await removeContainer(existing, ui);
      startedAt = Date.now();
      await startContainer(docker, env);
      ui.success(`${a.name}: ${action === "replace" ? "replaced" : "created"} ${docker.container}`);
      if (interrupt.requested)
        throw new InterruptedError(
          `interrupted: ${a.name} was ${action === "replace" ? "replaced" : "created"} in full (${docker.container}); stopped before waiting for it (vllmapp status --local ${a.name})`,
        );
    }
    const startup = req.wait
      ? await waitUntilHealthy(
          { app: a.name, container: docker.container, port: docker.port, timeoutSeconds: a.timeout, startedAt, before },
          ui,
        )
      : null;
    results.push({
      ...baseOf(a.rendered),
      changes: [{ kind: "Container", name: docker.container, action }],
      ready: req.wait,
      replicas: req.wait ? { ready: 1, desired: 1 } : null,
      startup,
      timeline: startup ? await keepLocalStart(a.name, docker.container, startup) : null,
      docker: null,
    });
  }
  if (results.some((r) => r.requiresApiKey)) {
    ui.note(
      `the endpoint needs an API key (Authorization: Bearer …): vllmapp status --local --show-api-key${plan.app ? ` ${plan.app}` : ""}`,
    );
  }
  return { dryRun: null, prerequisites: [], apps: results };
}
