/**
 * The app's start history, kept with it in the ConfigMap `<app>-starts` (data key `starts.json`: the last
 * HISTORY_LENGTH starts, newest first, phases with seconds and bytes only). A ConfigMap rather than an
 * annotation on the Deployment: writing the Deployment after every start would change the object deploy
 * applies (its resourceVersion, and a field another manager owns that GitOps tools diff), and `status`
 * must stay read-only. It is labelled as the app's (so `delete` removes it) but is no member of the
 * applyset (so a deploy never prunes it). Losing it loses only the history: writes are best effort.
 */
import { HISTORY_FIELD_MANAGER, LABEL_APP } from "../render/labels.js";
import { addToHistory, parseHistory, recordOf } from "../startup/timeline.js";
import type { StartRecord } from "../target.js";
import type { KObject, KubeApi } from "./api.js";
import { ApiError } from "./errors.js";
import type { PodStart } from "./startup.js";

export const HISTORY_KEY = "starts.json";
export const historyName = (app: string) => `${app}-starts`;

export async function readHistory(api: KubeApi, app: string, namespace: string): Promise<StartRecord[]> {
  try {
    const cm = await api.get<KObject & { data?: Record<string, string> }>(
      `/api/v1/namespaces/${namespace}/configmaps/${historyName(app)}`,
      `read ConfigMap ${historyName(app)}`,
    );
    return parseHistory(cm?.data?.[HISTORY_KEY]);
  } catch (e) {
    // a user who may not read ConfigMaps sees the current start only
    if (e instanceof ApiError && e.status === 403) return [];
    throw e;
  }
}

/** Put the start in front of the history (server-side apply of the ConfigMap); returns the new history. */
export async function recordStart(
  api: KubeApi,
  app: string,
  namespace: string,
  start: PodStart,
  history: readonly StartRecord[],
): Promise<StartRecord[]> {
  const next = addToHistory(history, recordOf(start.id, start.at, start.entries, start.serverSeconds));
  const body = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: historyName(app),
      namespace,
      labels: {
        [LABEL_APP]: app,
        "app.kubernetes.io/managed-by": "vllmapp",
        "app.kubernetes.io/component": "start-history",
      },
    },
    data: { [HISTORY_KEY]: JSON.stringify(next) },
  };
  await api.request("PATCH", `/api/v1/namespaces/${namespace}/configmaps/${historyName(app)}`, {
    query: { fieldManager: HISTORY_FIELD_MANAGER, force: true },
    body,
    contentType: "application/apply-patch+yaml",
    what: `record the start in ConfigMap ${historyName(app)}`,
  });
  return next;
}
