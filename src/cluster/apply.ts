/**
 * Server-side apply of one app's set (field manager `vllmapp`), the generated API key, and pruning of
 * the members an earlier deploy created that the new render no longer has (ApplySet, KEP-3659).
 * The same walk answers `--dry-run=client` (compares with the live objects, writes nothing) and
 * `--dry-run=server` (the apply sent with dryRun=All).
 */
import { randomBytes } from "node:crypto";
import type { K8sObject } from "../render/types.js";
import type { Change, ChangeAction } from "../target.js";
import { FIELD_MANAGER } from "../render/labels.js";
import { ClusterError } from "../errors.js";
import { describe, type KObject, type KubeApi } from "./api.js";
import {
  ANN_GROUP_KINDS,
  ANN_TOOLING,
  LABEL_PART_OF,
  formatGroupKinds,
  groupKindOf,
  parseGroupKinds,
  splitGroupKind,
  type AppSet,
} from "./applyset.js";
import { ApiError } from "./errors.js";

export type DryRun = "none" | "client" | "server";
/** What an apply does to an object; "replace" is Docker's alone. */
type Action = Exclude<ChangeAction, "replace">;

export const API_KEY = "VLLM_API_KEY";
const KEYGEN_MANAGER = "vllmapp-keygen";
/** applied first, so the pod finds its Secrets, ConfigMaps and volumes */
const FIRST_WAVE = new Set(["Secret", "ConfigMap", "PersistentVolumeClaim"]);

function isApiKeySecret(o: K8sObject, app: string): boolean {
  return o.kind === "Secret" && o.metadata.name === `${app}-api-key`;
}

/** Is every field of `want` present with the same value in `have`? (client-side "unchanged") */
export function isSubset(want: unknown, have: unknown): boolean {
  if (Array.isArray(want))
    return Array.isArray(have) && want.length === have.length && want.every((w, i) => isSubset(w, have[i]));
  if (want && typeof want === "object") {
    return (
      Boolean(have) &&
      typeof have === "object" &&
      Object.entries(want).every(([k, v]) => isSubset(v, (have as Record<string, unknown>)[k]))
    );
  }
  return String(want) === String(have);
}

function comparable(o: KObject | undefined): string {
  if (!o) return "";
  const { managedFields: _m, resourceVersion: _r, ...metadata } = o.metadata as Record<string, unknown>;
  const { status: _s, ...rest } = o as Record<string, unknown>;
  return JSON.stringify({ ...rest, metadata });
}

async function ssa(
  api: KubeApi,
  obj: K8sObject,
  opts: { manager: string; force: boolean; dryRun?: "All" },
): Promise<KObject> {
  return api.request("PATCH", await api.pathOf(obj), {
    query: { fieldManager: opts.manager, force: opts.force || undefined, dryRun: opts.dryRun },
    body: obj,
    contentType: "application/apply-patch+yaml",
    what: `apply ${describe(obj)}`,
  });
}

/** Run all, then throw every failure at once (a server-side dry run reports all rejections). */
async function settleAll<T>(jobs: Promise<T>[]): Promise<T[]> {
  const done = await Promise.allSettled(jobs);
  const failed = done.filter((d): d is PromiseRejectedResult => d.status === "rejected").map((d) => d.reason as Error);
  if (failed.length === 1) throw failed[0];
  if (failed.length) throw new ClusterError(failed.map((e) => e.message).join("\n"), (failed[0] as ClusterError).hint);
  return done.map((d) => (d as PromiseFulfilledResult<T>).value);
}

/** Members of the set in the cluster (by the part-of label) that `keep` does not name. */
async function pruneCandidates(api: KubeApi, set: AppSet, groupKinds: string[]): Promise<KObject[]> {
  const keep = new Set(set.members.map((m) => `${groupKindOf(m)}/${m.metadata.name}`));
  const namespace = set.parent.metadata.namespace!;
  const lists = await Promise.all(
    groupKinds.map(async (gk) => {
      const { kind, group } = splitGroupKind(gk);
      const version = await api.preferredVersion(group);
      if (!version || !(await api.resource(version, kind))) return [];
      const list = await api.request<{ items: KObject[] }>("GET", await api.path(version, kind, namespace), {
        query: { labelSelector: `${LABEL_PART_OF}=${set.id}` },
        what: `list ${gk} of the applyset`,
      });
      return list.items
        .map((o) => ({ ...o, apiVersion: version, kind }))
        .filter((o) => !keep.has(`${gk}/${o.metadata.name}`));
    }),
  );
  return lists.flat();
}

/**
 * Send every object of every set with dryRun=All before anything is written: a rejection (422, a 409
 * without --force-conflicts, a missing CRD) then stops the deploy with nothing of it applied, every
 * rejection named at once.
 */
export async function validateOnServer(api: KubeApi, sets: readonly AppSet[], force: boolean): Promise<void> {
  await settleAll(
    sets.flatMap((set) =>
      [set.parent, ...set.members].map((o) => ssa(api, o, { manager: FIELD_MANAGER, force, dryRun: "All" })),
    ),
  );
}

type Recorder = (o: K8sObject, before: KObject | undefined, after?: KObject) => void;

/** The writes of an apply: the parent (listing old and new group-kinds), then the members in two waves. */
async function writeSet(
  api: KubeApi,
  set: AppSet,
  app: string,
  write: { manager: string; force: boolean; dryRun?: "All" },
  allGks: readonly string[],
  live: readonly (KObject | undefined)[],
  record: Recorder,
): Promise<void> {
  // the parent first, listing old and new group-kinds, so an interrupted deploy still prunes later
  const parentWithAll = {
    ...set.parent,
    metadata: {
      ...set.parent.metadata,
      annotations: { ...set.parent.metadata.annotations, [ANN_GROUP_KINDS]: allGks.join(",") },
    },
  };
  await ssa(api, parentWithAll, write);
  for (const wave of [
    set.members.filter((m) => FIRST_WAVE.has(m.kind)),
    set.members.filter((m) => !FIRST_WAVE.has(m.kind)),
  ]) {
    await settleAll(
      wave.map(async (m) => {
        let applied = await ssa(api, m, write);
        if (
          isApiKeySecret(m, app) &&
          !write.dryRun &&
          !(applied as { data?: Record<string, string> }).data?.[API_KEY]
        ) {
          // once, under its own field manager: re-applying the (data-less) Secret never touches it
          const key = randomBytes(32).toString("base64url");
          applied = await ssa(
            api,
            {
              apiVersion: "v1",
              kind: "Secret",
              metadata: { name: m.metadata.name, namespace: m.metadata.namespace },
              data: { [API_KEY]: Buffer.from(key).toString("base64") },
            },
            { manager: KEYGEN_MANAGER, force: false },
          );
        }
        record(m, live[set.members.indexOf(m)], applied);
      }),
    );
  }
}

/** An apply that stopped part-way (the API server went away): what was written, what was not, and that a re-run finishes it. */
function partialApply(e: unknown, set: AppSet, changes: readonly Change[]): unknown {
  if (!(e instanceof ClusterError)) return e;
  // in the set's order, not the order the concurrent writes of a wave happened to finish in
  const done = new Set(changes.map((c) => `${c.kind}/${c.name}`));
  const members = set.members.map((m) => `${m.kind}/${m.metadata.name}`);
  const missing = members.filter((n) => !done.has(n));
  const written = members.filter((n) => done.has(n));
  const applied = written.length ? written.join(", ") : "none of its objects";
  return new ClusterError(
    `${e.message}\n  the apply stopped part-way: applied ${applied}; not applied ${missing.join(", ")}`,
    `run the same vllmapp deploy again once the API server answers: server-side apply is idempotent and the ApplySet (Secret ${set.parent.metadata.name}) lists every kind, so the re-run applies the rest and prunes what an earlier deploy left`,
  );
}

export async function applyAppSet(
  api: KubeApi,
  set: AppSet,
  app: string,
  opts: { dryRun: DryRun; force: boolean },
): Promise<Change[]> {
  const get = async (o: K8sObject) => api.get(await api.pathOf(o), `read ${describe(o)}`);
  const [parentLive, ...live] = await Promise.all([get(set.parent), ...set.members.map(get)]);
  const tooling = parentLive?.metadata.annotations?.[ANN_TOOLING];
  if (tooling && !tooling.startsWith("vllmapp/")) {
    throw new ClusterError(
      `Secret ${set.parent.metadata.name} in ${set.parent.metadata.namespace} is the applyset of another tool (${tooling})`,
      "rename the app, or delete that applyset if it is stale",
    );
  }
  const newGks = set.members.map(groupKindOf);
  const allGks = [
    ...new Set([...parseGroupKinds(parentLive?.metadata.annotations?.[ANN_GROUP_KINDS]), ...newGks]),
  ].sort();
  const dryRun = opts.dryRun === "server" ? ("All" as const) : undefined;
  const write = { manager: FIELD_MANAGER, force: opts.force, dryRun };
  const changes: Change[] = [];
  const actionOf = (o: K8sObject, before: KObject | undefined, after: KObject | undefined): Action => {
    if (!before) return "create";
    switch (opts.dryRun) {
      case "client":
        return isSubset(o, before) ? "unchanged" : "configure";
      case "server":
        return comparable(before) === comparable(after) ? "unchanged" : "configure";
      default:
        return before.metadata.resourceVersion === after?.metadata.resourceVersion ? "unchanged" : "configure";
    }
  };
  const record = (o: K8sObject, before: KObject | undefined, after?: KObject) =>
    changes.push({ kind: o.kind, name: o.metadata.name, action: actionOf(o, before, after) });

  if (opts.dryRun === "client") {
    set.members.forEach((m, i) => record(m, live[i]));
  } else if (dryRun) {
    await writeSet(api, set, app, write, allGks, live, record);
  } else {
    try {
      await writeSet(api, set, app, write, allGks, live, record);
    } catch (e) {
      throw partialApply(e, set, changes);
    }
  }
  // no parent yet: no earlier deploy labelled anything for this set (the parent is always written first)
  const prune = parentLive ? await pruneCandidates(api, set, allGks) : [];
  for (const o of prune) changes.push({ kind: o.kind, name: o.metadata.name, action: "prune" });
  if (opts.dryRun === "none") {
    await settleAll(
      prune.map(async (o) => {
        try {
          await api.request("DELETE", await api.pathOf(o), {
            query: { propagationPolicy: "Background" },
            what: `prune ${describe(o)}`,
          });
        } catch (e) {
          if (!(e instanceof ApiError && e.status === 404)) throw e;
        }
      }),
    );
    if (allGks.join(",") !== formatGroupKinds(newGks)) await ssa(api, set.parent, write);
  }
  const order = new Map(set.members.map((m, i) => [`${m.kind}/${m.metadata.name}`, i]));
  return changes.sort((a, b) => (order.get(`${a.kind}/${a.name}`) ?? 1e9) - (order.get(`${b.kind}/${b.name}`) ?? 1e9));
}
