/**
 * The Kubernetes target: deploy (preflight → server-side apply with pruning → wait), logs, status,
 * delete, list. Loaded only by the commands that talk to a cluster.
 */
import { existsSync } from "node:fs";
import { deployWaves, loadApps, renderAll, type CommonOptions } from "../commands/common.js";
import type { DeleteOptions, DeployOptions, LogsOptions, StatusOptions, TargetDriver } from "../commands/target.js";
import { parseDuration } from "../config/units.js";
import { ClusterError, ConfigError, UsageError } from "../errors.js";
import { makeResolver } from "../models/resolve.js";
import type { Ui } from "../ui/output.js";
import { KubeApi } from "./api.js";
import { applyAppSet, API_KEY, validateOnServer } from "./apply.js";
import { buildAppSet } from "./applyset.js";
import { connect, namespaceFor } from "./connection.js";
import { deleteApp } from "./delete.js";
import { formatDelete, formatDeploy, formatList, formatStatus, type DeployResult, type DeployedApp } from "./format.js";
import { streamLogs } from "./logs.js";
import { preflight, writePrerequisites } from "./preflight.js";
import { appStatus, listApps, serviceUrl } from "./status.js";
import { waitForApp } from "./wait.js";

/** How long deploy waits when --timeout is not given: the startup probe's budget plus time to schedule and pull. */
const WAIT_MARGIN_SECONDS = 600;

async function openApi(opts: CommonOptions): Promise<KubeApi> {
  return new KubeApi(await connect(opts));
}

/**
 * The apps a command acts on: APP (its namespace from the file if the file names it), else the apps
 * of -f. Namespace: --namespace, else the app's `namespace`, else the context's.
 */
function appsOf(opts: CommonOptions & { appName?: string }): { name: string; fileNamespace?: string }[] {
  if (opts.appName) {
    let fileNamespace: string | undefined;
    if (existsSync(opts.file)) {
      try {
        fileNamespace = loadApps({ ...opts, app: undefined }).apps.find((a) => a.config.name === opts.appName)?.config.namespace;
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
      }
    }
    return [{ name: opts.appName, fileNamespace }];
  }
  if (!existsSync(opts.file)) {
    throw new UsageError(`no app given, and ${opts.file} does not exist`, "name the app (vllmapp status APP), or point -f at its vllm-app.yaml");
  }
  return loadApps(opts).selected.map((a) => ({ name: a.config.name, fileNamespace: a.config.namespace }));
}

async function targets(opts: CommonOptions & { appName?: string }): Promise<{ api: KubeApi; apps: { name: string; namespace: string }[] }> {
  const wanted = appsOf(opts);
  const api = await openApi(opts);
  return { api, apps: wanted.map((a) => ({ name: a.name, namespace: namespaceFor(api.conn, opts.namespace, a.fileNamespace) })) };
}

async function deploy(opts: DeployOptions, ui: Ui): Promise<DeployResult> {
  const dryRun = opts.dryRun ?? "none";
  const timeoutFlag = opts.timeout === undefined ? undefined : parseDuration(opts.timeout);
  if (opts.timeout !== undefined && timeoutFlag === undefined) throw new UsageError(`--timeout ${opts.timeout}: not a duration`, "write e.g. 90s, 20m, 1h");
  // the context's namespace is the default of apps that name none; a broken kubeconfig is reported
  // after the app file's own errors
  const connected = await openApi(opts).then((a) => a, (e: unknown) => e);
  const { loaded, rendered, warnings } = await renderAll({
    opts,
    defaultNamespace: connected instanceof KubeApi ? namespaceFor(connected.conn) : undefined,
    resolve: makeResolver({ ...opts, ui, mode: "deploy" }),
  });
  ui.diagnostics(warnings);
  if (!(connected instanceof KubeApi)) throw connected;
  const api = connected;
  const inputs = rendered.map((r, i) => {
    const app = loaded.apps[i]!.config;
    const namespace = namespaceFor(api.conn, opts.namespace, app.namespace);
    return { app, namespace, objects: (r.objects ?? []).map((o) => ({ ...o, metadata: { ...o.metadata, namespace } })) };
  });
  const pre = await preflight(api, inputs, { createNamespace: opts.createNamespace, createSecrets: opts.createSecrets, env: process.env });
  if (dryRun === "server" && pre.namespaces.length) {
    throw new ClusterError(`namespace ${pre.namespaces.join(", ")} does not exist yet, and a server-side dry run needs it`, "create it first, or use --dry-run=client");
  }
  const prerequisites =
    dryRun === "client"
      ? [...pre.namespaces.map((n) => `Namespace/${n}`), ...pre.apps.flatMap((a) => a.secretWrites.map((s) => `Secret/${s.name} (keys ${Object.keys(s.data).join(", ")})`))]
      : await writePrerequisites(api, pre, dryRun === "server" ? "All" : undefined);
  const result: DeployResult = { ...(dryRun !== "none" ? { dryRun, output: opts.output } : {}), prerequisites, apps: [] };
  const sets = new Map(pre.apps.map((p) => [p, buildAppSet(p.app, p.namespace, p.objects)]));
  if (dryRun === "none") await validateOnServer(api, [...sets.values()], Boolean(opts.forceConflicts));
  const deployOne = async (prepared: (typeof pre.apps)[number], model: DeployedApp["model"], appUi: Ui): Promise<DeployedApp> => {
    const { app, namespace } = prepared;
    const set = sets.get(prepared)!;
    if (dryRun === "none") appUi.info(`${app.name}: applying ${set.members.length} objects to namespace ${namespace} (context ${api.conn.context})`);
    const changes = await applyAppSet(api, set, app.name, { dryRun, force: Boolean(opts.forceConflicts) });
    const svc = set.members.find((m) => m.kind === "Service");
    const done: DeployedApp = { name: app.name, namespace, model, changes, ...(svc ? { endpoint: serviceUrl(svc, namespace) } : {}) };
    if (dryRun !== "none") done.objects = [set.parent, ...set.members];
    else {
      if (changes.some((c) => c.kind === "Secret" && c.name === `${app.name}-api-key` && c.action === "create")) {
        appUi.note(`${app.name}: generated an API key (${API_KEY}) into Secret ${app.name}-api-key; show it with \`vllmapp status ${app.name} --show-api-key\``);
      }
      if (opts.wait) {
        const timeoutSeconds = timeoutFlag ?? (parseDuration(app.startup_timeout) ?? 1800) + WAIT_MARGIN_SECONDS;
        done.ready = await waitForApp(api, { app: app.name, namespace, timeoutSeconds, ui: appUi });
      } else appUi.success(`${app.name}: applied (--no-wait: not waiting for readiness)`);
    }
    return done;
  };
  // Apps that do not depend on each other are applied and waited for at once; a wave starts when
  // every app of the waves before it is ready.
  const prepared = new Map(loaded.apps.map((a, i) => [a, { pre: pre.apps[i]!, model: rendered[i]!.model }]));
  const deployed = new Map<string, DeployedApp>();
  for (const wave of deployWaves(loaded.apps)) {
    const waveUi = wave.length > 1 ? ui.withoutSpinner() : ui;
    const settled = await Promise.allSettled(
      wave.map((a) =>
        deployOne(prepared.get(a)!.pre, prepared.get(a)!.model, waveUi).catch((e: Error) => {
          // say it now: the other apps of the wave may still be loading for a while
          if (wave.length > 1) waveUi.error(`${a.config.name}: ${e.message}`);
          throw e;
        }),
      ),
    );
    const failed = settled.find((x): x is PromiseRejectedResult => x.status === "rejected");
    if (failed) throw failed.reason;
    wave.forEach((a, i) => deployed.set(`${a.file}\0${a.config.name}`, (settled[i] as PromiseFulfilledResult<DeployedApp>).value));
  }
  result.apps = loaded.apps.map((a) => deployed.get(`${a.file}\0${a.config.name}`)!);
  return result;
}

async function logs(opts: LogsOptions, ui: Ui): Promise<void> {
  const { api, apps } = await targets(opts);
  await streamLogs(api, apps, opts, ui);
}

async function status(opts: StatusOptions, ui: Ui) {
  const { api, apps } = await targets(opts);
  const statuses = await Promise.all(apps.map((a) => appStatus(api, a.name, a.namespace, opts.showApiKey)));
  const missing = statuses.find((s) => !s.deployed);
  if (opts.appName && missing) throw new ClusterError(`no app "${missing.name}" in namespace ${missing.namespace}`, `see the apps there: vllmapp list -n ${missing.namespace}`);
  if (opts.showApiKey) for (const s of statuses.filter((x) => x.deployed && !x.apiKey)) ui.note(`${s.name} has no API key${s.requiresApiKey ? " yet" : " (requires_auth: false)"}`);
  return { apps: statuses };
}

async function remove(opts: DeleteOptions, ui: Ui) {
  const { api, apps } = await targets(opts);
  const results = [];
  for (const a of apps) results.push(await deleteApp(api, a.name, a.namespace, { purgeCache: opts.purgeCache, wait: opts.wait, ui }));
  return { apps: results };
}

async function list(opts: CommonOptions, ui: Ui) {
  const api = await openApi(opts);
  const result = await listApps(api, namespaceFor(api.conn, opts.namespace));
  if (!result.apps.length) ui.note(`no vllmapp apps in namespace ${result.namespace}`);
  return result;
}

export const kubernetesDriver: TargetDriver = {
  deploy,
  logs,
  status,
  delete: remove,
  list,
  format: (kind, result) => {
    switch (kind) {
      case "deploy":
        return formatDeploy(result as DeployResult);
      case "status":
        return formatStatus(result as Parameters<typeof formatStatus>[0]);
      case "delete":
        return formatDelete(result as Parameters<typeof formatDelete>[0]);
      case "list":
        return formatList(result as Parameters<typeof formatList>[0]);
    }
  },
};
