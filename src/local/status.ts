/** status and list: the apps' containers, found by label, and whether they answer /health. */
import { existsSync } from "node:fs";
import { formatAge } from "../text.js";
import type { StatusOptions } from "../commands/target.js";
import { loadApps, type CommonOptions } from "../commands/common.js";
import { UsageError } from "../errors.js";
import { apiKeyOf, findContainers, LABEL, labelOf, nameOf, publishedOf, type ContainerInfo } from "./docker.js";
import { isHealthy } from "./wait.js";

export interface LocalAppStatus {
  name: string;
  deployed: boolean;
  ready: boolean;
  /** why it is not ready */
  reason?: string;
  container?: string;
  /** Docker's state: running, exited, created, restarting, paused, dead */
  state?: string;
  endpoint?: string;
  modelId?: string;
  modelUri?: string;
  image?: string;
  created?: string;
  age?: string;
  requiresApiKey?: boolean;
  /** only with --show-api-key */
  apiKey?: string;
}

/** The apps a command is about: the one named, else the apps of the file (in deploy order). */
export function appNames(opts: CommonOptions & { appName?: string }, command: string): string[] {
  if (opts.appName) return [opts.appName];
  if (!existsSync(opts.file)) {
    throw new UsageError(`no app named and no ${opts.file} here`, `name the app (vllmapp ${command} --local APP; vllmapp list --local shows them), or pass its file with -f`);
  }
  const { apps, selected } = loadApps(opts);
  return apps.filter((a) => selected.includes(a)).map((a) => a.config.name);
}

async function statusOf(c: ContainerInfo, showApiKey: boolean): Promise<LocalAppStatus> {
  const published = publishedOf(c);
  const state = c.State.Status;
  const ready = c.State.Running && published !== undefined && (await isHealthy(published.port));
  let reason: string | undefined;
  if (c.State.OOMKilled) reason = `OOM-killed (exit code ${c.State.ExitCode})`;
  else if (state === "exited" || state === "dead") reason = `exited with code ${c.State.ExitCode}${c.State.Error ? `: ${c.State.Error}` : ""}`;
  else if (!ready) reason = state === "running" ? "starting: /health does not answer 200 yet" : state;
  const apiKey = apiKeyOf(c);
  return {
    name: labelOf(c, LABEL)!,
    deployed: true,
    ready,
    ...(reason ? { reason } : {}),
    container: nameOf(c),
    state,
    ...(published ? { endpoint: `http://${published.host}:${published.port}` } : {}),
    modelId: labelOf(c, "vllmapp.model-id"),
    modelUri: labelOf(c, "vllmapp.model-uri"),
    image: c.Config.Image,
    created: c.Created,
    age: formatAge(c.Created),
    requiresApiKey: apiKey !== undefined,
    ...(showApiKey && apiKey !== undefined ? { apiKey } : {}),
  };
}

export async function statusLocal(opts: StatusOptions): Promise<{ apps: LocalAppStatus[] }> {
  const names = appNames(opts, "status");
  const apps: LocalAppStatus[] = [];
  for (const name of names) {
    const found = await findContainers(`${LABEL}=${name}`);
    if (!found.length) apps.push({ name, deployed: false, ready: false, reason: "not deployed" });
    for (const c of found) apps.push(await statusOf(c, Boolean(opts.showApiKey)));
  }
  return { apps };
}

export async function listLocal(): Promise<{ apps: LocalAppStatus[] }> {
  const found = await findContainers(LABEL);
  return { apps: await Promise.all(found.map((c) => statusOf(c, false))) };
}
