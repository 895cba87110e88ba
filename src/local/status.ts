/** status and list: the apps' containers, found by label, and whether they answer /health. */
import type { AppRef, AppStatus, AppSummary, ListResult, StatusRequest, StatusResult } from "../target.js";
import { formatAge } from "../text.js";
import { apiKeyOf, findContainers, LABEL, labelOf, nameOf, publishedOf, type ContainerInfo } from "./docker.js";
import { describeCurrent } from "../startup/phases.js";
import { readStartup } from "./startup.js";
import { currentAndPrevious, entriesOfReport } from "../startup/timeline.js";
import { readLocalHistory } from "./starts.js";
import { isHealthy } from "./wait.js";
import { adapterNamesOf } from "../render/lora.js";

/** The LoRA adapters the server lists in /v1/models (the models with a parent), or undefined when it does not answer. */
async function servedAdapters(port: number, apiKey: string | undefined): Promise<string[] | undefined> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/v1/models`, {
      headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
      signal: AbortSignal.timeout(5_000),
    });
    if (!r.ok) return undefined;
    const body = (await r.json()) as { data?: { id: string; parent?: string | null }[] };
    return (body.data ?? []).filter((m) => m.parent).map((m) => m.id);
  } catch {
    return undefined;
  }
}

const NOT_DEPLOYED: Omit<AppStatus, "name"> = {
  namespace: null,
  container: null,
  deployed: false,
  ready: false,
  replicas: null,
  state: null,
  reason: null,
  hint: null,
  endpoint: null,
  ingress: [],
  route: null,
  startup: null,
  timeline: null,
  modelId: null,
  modelUri: null,
  modelSource: null,
  image: null,
  created: null,
  age: null,
  description: null,
  links: [],
  requiresApiKey: false,
  apiKey: null,
  groups: null,
  adapters: [],
};

/** `withStartup`: read the log for the start's phases (status); list does without. */
async function statusOf(c: ContainerInfo, showApiKey: boolean, withStartup: boolean): Promise<AppStatus> {
  const published = publishedOf(c);
  const state = c.State.Status;
  const [ready, startup] = await Promise.all([
    c.State.Running && published !== undefined && isHealthy(published.port),
    withStartup ? readStartup(c) : null,
  ]);
  const during = startup && startup.phase !== "ready" ? ` while ${startup.phase}` : "";
  let reason: string | null = null;
  if (c.State.OOMKilled) reason = `OOM-killed${during} (exit code ${c.State.ExitCode})`;
  else if (state === "exited" || state === "dead")
    reason = `exited with code ${c.State.ExitCode}${during}${c.State.Error ? `: ${c.State.Error}` : ""}`;
  else if (!ready)
    reason =
      state === "running"
        ? `starting: ${startup ? describeCurrent(startup) : "/health does not answer 200 yet"}`
        : state;
  const apiKey = apiKeyOf(c);
  const adapters =
    (ready && published ? await servedAdapters(published.port, apiKey) : undefined) ?? adapterNamesOf(c.Args ?? []);
  return {
    ...NOT_DEPLOYED,
    name: labelOf(c, LABEL)!,
    container: nameOf(c),
    deployed: true,
    ready,
    replicas: { ready: ready ? 1 : 0, desired: 1 },
    state,
    reason,
    startup,
    timeline: currentAndPrevious(
      startup ? { id: `${nameOf(c)}#${c.State.StartedAt}`, entries: entriesOfReport(startup) } : undefined,
      withStartup ? readLocalHistory(labelOf(c, LABEL)!) : [],
    ),
    endpoint: published ? `http://${published.host}:${published.port}` : null,
    modelId: labelOf(c, "vllmapp.model-id") ?? null,
    modelUri: labelOf(c, "vllmapp.model-uri") ?? null,
    image: c.Config.Image,
    created: c.Created,
    age: formatAge(c.Created) ?? null,
    requiresApiKey: apiKey !== undefined,
    apiKey: showApiKey && apiKey !== undefined ? apiKey : null,
    adapters,
  };
}

export async function statusLocal(refs: readonly AppRef[], req: StatusRequest): Promise<StatusResult> {
  const apps: AppStatus[] = [];
  for (const { name } of refs) {
    const found = await findContainers(`${LABEL}=${name}`);
    if (!found.length) apps.push({ ...NOT_DEPLOYED, name, links: [], ingress: [] });
    for (const c of found) apps.push(await statusOf(c, req.showApiKey, true));
  }
  return { apps };
}

export async function listLocal(): Promise<ListResult> {
  const found = await findContainers(LABEL);
  const apps = await Promise.all(
    found.map(async (c): Promise<AppSummary> => {
      const s = await statusOf(c, false, false);
      return {
        name: s.name,
        namespace: null,
        ready: s.ready,
        replicas: s.replicas!,
        endpoint: s.endpoint,
        modelId: s.modelId,
        image: s.image,
        age: s.age,
        state: s.state,
      };
    }),
  );
  return { namespace: null, apps };
}
