/**
 * The Kubernetes target: deploy a Plan (preflight → server-side apply with pruning → wait, wave by
 * wave), logs, status, delete, list. Loaded only by the commands that talk to a cluster.
 */
import { setMaxListeners } from "node:events";
import type { Plan, PlannedApp } from "../app/plan.js";
import { ClusterError, InterruptedError } from "../errors.js";
import { apiKeyRef, imageOf } from "../render/labels.js";
import type { AppRef, Timeline, DeployedApp, DeployRequest, DeployResult, Session, Target } from "../target.js";
import type { Ui } from "../ui/output.js";
import { KubeApi, OUTAGE_SECONDS } from "./api.js";
import { applyAppSet, API_KEY, validateOnServer } from "./apply.js";
import { buildAppSet, type AppSet } from "./applyset.js";
import { benchCluster } from "./bench.js";
import { connect, namespaceFor, type ConnectionOptions } from "./connection.js";
import { deleteApp } from "./delete.js";
import { streamLogs } from "./logs.js";
import { listenForInterrupt, stopListeningForInterrupt } from "../interrupt.js";
import { lockApps } from "./lock.js";
import { clusterReads } from "./plan-reads.js";
import { preflight, writePrerequisites, type Prepared } from "./preflight.js";
import { serviceUrl } from "./read.js";
import { appStatus, listApps, type NamespaceReads } from "./status.js";
import { waitForApp, waitForGroups } from "./wait.js";
import type { PodStart } from "./startup.js";
import { readHistory, recordStart } from "./starts.js";
import { currentAndPrevious } from "../startup/timeline.js";

/** How long deploy waits when --timeout is not given: the startup probe's budget plus time to schedule and pull. */
const WAIT_MARGIN_SECONDS = 600;

/**
 * The start deploy waited for, put in the app's history (best effort: a user who may not write ConfigMaps
 * is told once), and the timeline of it and the start before.
 */
async function keepStart(
  api: KubeApi,
  app: string,
  namespace: string,
  start: PodStart | undefined,
  ui: Ui,
): Promise<Timeline> {
  let history = await readHistory(api, app, namespace).catch(() => []);
  if (start?.entries.some((e) => e.phase === "ready")) {
    try {
      history = await recordStart(api, app, namespace, start, history);
    } catch (e) {
      ui.warn(
        `${app}: the start was not recorded in ConfigMap ${app}-starts (${e instanceof Error ? e.message.split("\n")[0] : String(e)}); status --timeline shows the current start only`,
      );
    }
  }
  return currentAndPrevious(start, history);
}

/** A control-plane restart while a command runs is said as it happens: lost, then back. */
function sayOutages(api: KubeApi, ui: Ui): void {
  api.onOutage = (e) =>
    e.kind === "lost"
      ? ui.warn(`${e.why}; retrying for up to ${OUTAGE_SECONDS} s`)
      : ui.info(`the Kubernetes API at ${api.conn.server} answers again (after ${e.seconds.toFixed(1)} s)`);
}

type Phase = "preflight" | "validate" | "apply";

/**
 * Ctrl-C during deploy. In the phases that write nothing of the apps (preflight, the server-side
 * validation) every request is aborted at once; during an app's apply the apply is finished (an app is
 * never left half-applied) and the deploy stops before waiting; the wait stops on its own (wait.ts).
 */
class DeployInterrupt {
  phase: Phase = "preflight";
  requested = false;
  private readonly abort = new AbortController();
  private readonly listener = () => {
    this.requested = true;
    if (this.phase !== "apply") this.abort.abort();
  };
  constructor(private readonly api: KubeApi) {
    // every request of the preflight and validation listens on it, hundreds at once for many apps
    setMaxListeners(0, this.abort.signal);
    api.stop = this.abort.signal;
    listenForInterrupt(this.listener);
  }
  /** Into the apply: requests are no longer aborted. */
  applying(): void {
    this.phase = "apply";
    this.api.stop = undefined;
  }
  /** The error to throw for a request aborted by Ctrl-C, else `e` itself. */
  explain(e: unknown, prerequisites: readonly string[]): unknown {
    if (!this.requested || this.phase === "apply") return e;
    const what =
      this.phase === "preflight"
        ? "during the preflight checks"
        : "while the API server validated the objects (a dry run)";
    return new InterruptedError(
      `interrupted ${what}: nothing of the apps was applied${prerequisites.length ? ` (created before: ${prerequisites.join(", ")})` : ""}`,
    );
  }
  close(): void {
    this.api.stop = undefined;
    stopListeningForInterrupt(this.listener);
  }
}

/** What a deploy wrote before the apps (for an interrupt's message) and the release of its locks. */
interface Progress {
  prerequisites: string[];
  release: () => Promise<void>;
}

async function deploy(api: KubeApi, plan: Plan, req: DeployRequest, ui: Ui): Promise<DeployResult> {
  sayOutages(api, ui);
  const interrupt = new DeployInterrupt(api);
  const progress: Progress = { prerequisites: [], release: async () => {} };
  try {
    return await deployPhases(api, plan, req, ui, interrupt, progress);
  } catch (e) {
    throw interrupt.explain(e, progress.prerequisites);
  } finally {
    interrupt.close();
    await progress.release();
  }
}

async function deployPhases(
  api: KubeApi,
  plan: Plan,
  req: DeployRequest,
  ui: Ui,
  interrupt: DeployInterrupt,
  progress: Progress,
): Promise<DeployResult> {
  const { dryRun } = req;
  // the plan's objects as they are: the plan decided the namespace, the PodTemplate, the budget, the GPU nodes' labels and the waves
  const inputs = plan.apps.map((p) => ({
    app: p.loaded.config,
    namespace: namespaceOf(p),
    file: p.loaded.file,
    objects: p.rendered.objects ?? [],
    podTemplateProblem: p.podTemplate?.problem,
    gpuScheme: p.gpuScheme,
  }));
  const pre = await preflight(api, inputs, {
    createNamespace: req.createNamespace,
    createSecrets: req.createSecrets,
    env: process.env,
  });
  for (const w of pre.warnings) ui.warn(w);
  for (const n of pre.notes) ui.note(n);
  if (dryRun === "server" && pre.namespaces.length) {
    throw new ClusterError(
      `namespace ${pre.namespaces.join(", ")} does not exist yet, and a server-side dry run needs it`,
      "create it first, or use --dry-run=client",
    );
  }
  const prepared = [...pre.apps.values()];
  const prerequisites =
    dryRun === "client"
      ? [
          ...pre.namespaces.map((n) => `Namespace/${n}`),
          ...prepared.flatMap((a) =>
            a.secretWrites.map((s) => `Secret/${s.name} (keys ${Object.keys(s.data).join(", ")})`),
          ),
        ]
      : await writePrerequisites(api, pre, dryRun === "server" ? "All" : undefined);
  if (dryRun === "none") progress.prerequisites = prerequisites;
  // preflight's results by app name: each planned app finds its own
  const sets = new Map(prepared.map((p) => [p.app.name, buildAppSet(p.app, p.namespace, p.objects)]));
  if (dryRun === "none") {
    progress.release = await lockApps(
      api,
      prepared.map((a) => ({ name: a.app.name, namespace: a.namespace })),
      ui,
    );
    interrupt.phase = "validate";
    await validateOnServer(api, [...sets.values()], req.forceConflicts);
  }
  interrupt.applying();
  // Apps that do not depend on each other are applied and waited for at once; a wave starts when
  // every app of the waves before it is ready.
  const deployed = new Map<PlannedApp, DeployedApp>();
  for (const wave of plan.waves) {
    const waveUi = wave.length > 1 ? ui.withoutSpinner() : ui;
    const settled = await Promise.allSettled(
      wave.map((a) =>
        deployOne(
          api,
          req,
          interrupt,
          { planned: a, prepared: pre.apps.get(a.loaded.config.name)!, set: sets.get(a.loaded.config.name)! },
          waveUi,
        ).catch((e: Error) => {
          // say it now: the other apps of the wave may still be loading for a while
          if (wave.length > 1) waveUi.error(`${a.loaded.config.name}: ${e.message}`);
          throw e;
        }),
      ),
    );
    const failed = settled.find((x): x is PromiseRejectedResult => x.status === "rejected");
    if (failed) throw failed.reason;
    wave.forEach((a, i) => deployed.set(a, (settled[i] as PromiseFulfilledResult<DeployedApp>).value));
  }
  return { dryRun: dryRun === "none" ? null : dryRun, prerequisites, apps: plan.apps.map((a) => deployed.get(a)!) };
}

/** One app of a deploy: as planned, as the preflight prepared it, as an ApplySet. */
interface AppDeploy {
  planned: PlannedApp;
  prepared: Prepared;
  set: AppSet;
}

/** Apply one app's set, then (a real deploy with --wait) wait until it is ready. */
async function deployOne(
  api: KubeApi,
  req: DeployRequest,
  interrupt: DeployInterrupt,
  { planned, prepared, set }: AppDeploy,
  appUi: Ui,
): Promise<DeployedApp> {
  const { dryRun } = req;
  const { app, namespace } = prepared;
  if (dryRun === "none")
    appUi.info(
      `${app.name}: applying ${set.members.length} objects to namespace ${namespace} (context ${api.conn.context})`,
    );
  if (interrupt.requested)
    throw new InterruptedError(
      `interrupted before ${app.name} was applied: nothing of it was written (vllmapp deploy applies it)`,
    );
  const changes = await applyAppSet(api, set, app.name, { dryRun, force: req.forceConflicts });
  if (interrupt.requested && dryRun === "none") {
    throw new InterruptedError(
      `interrupted: ${app.name} was applied in full (${changes.map((c) => `${c.action} ${c.kind}/${c.name}`).join(", ")}); stopped before waiting for it (vllmapp status ${app.name})`,
    );
  }
  const svc = set.members.find((m) => m.kind === "Service");
  const done: DeployedApp = {
    name: app.name,
    namespace,
    container: null,
    model: planned.rendered.model,
    image: imageOf(app),
    changes,
    endpoint: svc ? serviceUrl(svc, namespace) : null,
    ready: false,
    replicas: null,
    startup: null,
    timeline: null,
    requiresApiKey: apiKeyRef(app) !== undefined,
    objects: dryRun !== "none" ? [set.parent, ...set.members] : null,
    docker: null,
  };
  if (dryRun !== "none") return done;
  if (changes.some((c) => c.kind === "Secret" && c.name === `${app.name}-api-key` && c.action === "create")) {
    appUi.note(
      `${app.name}: generated an API key (${API_KEY}) into Secret ${app.name}-api-key; show it with \`vllmapp status ${app.name} --show-api-key\``,
    );
  }
  if (!req.wait) {
    appUi.success(`${app.name}: applied (--no-wait: not waiting for readiness)`);
    return done;
  }
  const timeoutSeconds = req.timeoutSeconds ?? (planned.startupSeconds ?? app.startup_timeout) + WAIT_MARGIN_SECONDS;
  if (set.members.some((m) => m.kind === "LeaderWorkerSet")) {
    // a group's start-up is several pods: the phases are read for single-pod apps
    done.replicas = await waitForGroups(api, { app: app.name, namespace, timeoutSeconds, ui: appUi });
  } else {
    const { startup, start, ...replicas } = await waitForApp(api, {
      app: app.name,
      namespace,
      timeoutSeconds,
      ui: appUi,
    });
    done.replicas = replicas;
    done.startup = startup;
    done.timeline = await keepStart(api, app.name, namespace, start, appUi);
  }
  done.ready = true;
  return done;
}

/** The namespace the plan decided (a plan for Kubernetes always has one: the session gave the default). */
function namespaceOf(p: PlannedApp): string {
  if (p.namespace === undefined) throw new Error(`${p.loaded.config.name} was planned without a namespace`);
  return p.namespace;
}

function located(
  api: KubeApi,
  opts: ConnectionOptions,
  apps: readonly AppRef[],
): { name: string; namespace: string }[] {
  return apps.map((a) => ({ name: a.name, namespace: namespaceFor(api.conn, opts.namespace, a.fileNamespace) }));
}

export const kubernetesTarget: Target = {
  kind: "kubernetes",
  async connect(opts): Promise<Session> {
    const api = new KubeApi(await connect(opts));
    return {
      defaultNamespace: namespaceFor(api.conn),
      reads: clusterReads(async () => api),
      async serverMinor() {
        // the first request of a deploy: Ctrl-C here is Ctrl-C in the preflight (nothing written yet)
        const stop = new AbortController();
        const listener = () => stop.abort();
        listenForInterrupt(listener);
        api.stop = stop.signal;
        try {
          // "30" or, on some managed services, "30+"; an unreachable server fails later, where deploy applies
          const v = await api
            .get<{ major?: string; minor?: string }>("/version", "read the API server's version")
            .catch(() => undefined);
          if (stop.signal.aborted)
            throw new InterruptedError("interrupted during the preflight checks: nothing of the apps was applied");
          const minor = Number.parseInt(v?.minor ?? "", 10);
          return v?.major === "1" && Number.isFinite(minor) ? minor : undefined;
        } finally {
          api.stop = undefined;
          stopListeningForInterrupt(listener);
        }
      },
      deploy: (plan, req, ui) => deploy(api, plan, req, ui),
      async status(apps, req, ui) {
        sayOutages(api, ui);
        const reads: NamespaceReads = new Map();
        const statuses = await Promise.all(
          located(api, opts, apps).map((a) => appStatus(api, a.name, a.namespace, req.showApiKey, reads)),
        );
        if (req.showApiKey)
          for (const s of statuses.filter((x) => x.deployed && !x.apiKey))
            ui.note(`${s.name} has no API key${s.requiresApiKey ? " yet" : " (requires_auth: false)"}`);
        return { apps: statuses };
      },
      logs: (apps, req, ui, write) => (sayOutages(api, ui), streamLogs(api, located(api, opts, apps), req, ui, write)),
      async delete(apps, req, ui) {
        sayOutages(api, ui);
        const results = [];
        for (const a of located(api, opts, apps))
          results.push(await deleteApp(api, a.name, a.namespace, { purgeCache: req.purgeCache, wait: req.wait, ui }));
        return { apps: results };
      },
      bench: (app, req, ui) =>
        benchCluster(api, app.name, namespaceFor(api.conn, opts.namespace, app.fileNamespace), req, ui),
      async list(ui) {
        const result = await listApps(api, namespaceFor(api.conn, opts.namespace));
        if (!result.apps.length) ui.note(`no vllmapp apps in namespace ${result.namespace}`);
        return result;
      },
    };
  },
};
