/**
 * LeaderWorkerSet groups as `status`, `wait` and `logs` see them, from the pods alone (the labels the LWS
 * controller puts on them): group index, leader or worker, rank. A group is ready when its leader is
 * Ready (its probes see the whole group: vLLM's /health answers only once every rank has joined) and
 * every worker runs, counted as the group's size. Pure.
 */
import type { GroupPod, GroupStatus } from "../target.js";
import { diagnosePods, type Diagnosis, type KEvent } from "./diagnose.js";
import type { LeaderWorkerSet, Node, Pod } from "./k8s-types.js";

export const LWS_LABEL_NAME = "leaderworkerset.sigs.k8s.io/name";
export const LWS_LABEL_GROUP = "leaderworkerset.sigs.k8s.io/group-index";
export const LWS_LABEL_WORKER = "leaderworkerset.sigs.k8s.io/worker-index";

export function isGroupPod(p: Pod): boolean {
  return p.metadata.labels?.[LWS_LABEL_GROUP] !== undefined && p.metadata.labels?.[LWS_LABEL_WORKER] !== undefined;
}

function groupPod(p: Pod): GroupPod {
  const rank = Number(p.metadata.labels?.[LWS_LABEL_WORKER] ?? 0);
  const main = (p.status?.containerStatuses ?? []).find((s) => s.name === "vllm");
  const ready = (p.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
  return {
    name: p.metadata.name,
    role: rank === 0 ? "leader" : "worker",
    rank,
    phase: p.status?.phase ?? "Unknown",
    ready,
    restarts: main?.restartCount ?? 0,
  };
}

/** Which pod of which group: "leader of group 0" / "worker 1 of group 0". */
export function describeGroupPod(p: Pod): string | undefined {
  if (!isGroupPod(p)) return undefined;
  const g = groupPod(p);
  return `${g.role === "leader" ? "leader" : `worker ${g.rank}`} of group ${p.metadata.labels![LWS_LABEL_GROUP]}`;
}

/** The groups the pods form, by index; `size`: pods per group (leaderWorkerTemplate.size). */
export function groupsOf(pods: readonly Pod[], size: number): GroupStatus[] {
  const by = new Map<number, GroupPod[]>();
  for (const p of pods.filter((x) => isGroupPod(x) && !x.metadata.deletionTimestamp)) {
    const g = Number(p.metadata.labels![LWS_LABEL_GROUP]);
    by.set(g, [...(by.get(g) ?? []), groupPod(p)]);
  }
  return [...by.entries()]
    .sort(([a], [b]) => a - b)
    .map(([index, members]) => {
      const sorted = members.sort((a, b) => a.rank - b.rank);
      const leader = sorted.find((m) => m.role === "leader");
      const workersUp = sorted.filter((m) => m.role === "worker").every((m) => m.phase === "Running");
      return { index, size, pods: sorted, ready: Boolean(leader?.ready) && workersUp && sorted.length >= size };
    });
}

/** One line per group for `status`: "group 0: 1/2 up — leader Running, not ready; worker 1 Pending". */
export function formatGroup(g: GroupStatus): string {
  const up = g.pods.filter((p) => (p.role === "leader" ? p.ready : p.phase === "Running")).length;
  const pods = g.pods.map(
    (p) =>
      `${p.role === "leader" ? "leader" : `worker ${p.rank}`} ${p.phase}${p.role === "leader" && p.phase === "Running" && !p.ready ? " (not ready)" : ""}${p.restarts ? `, ${p.restarts} restarts` : ""}`,
  );
  const missing = g.size - g.pods.length;
  if (missing > 0) pods.push(`${missing} pod${missing === 1 ? "" : "s"} not created yet`);
  return `group ${g.index}: ${g.ready ? "ready" : `${up}/${g.size} up`} — ${pods.join("; ")}`;
}

/** Ready groups of desired, from the LWS's pods (the controller's status lags, and kwok has none). */
export function groupState(
  lws: LeaderWorkerSet,
  pods: readonly Pod[],
): { ready: number; desired: number; done: boolean; groups: GroupStatus[]; pods: Pod[] } {
  const mine = pods.filter((p) => p.metadata.labels?.[LWS_LABEL_NAME] === lws.metadata.name);
  const groups = groupsOf(mine, lws.spec?.leaderWorkerTemplate?.size ?? 1);
  const desired = lws.spec?.replicas ?? 1;
  const ready = Math.min(desired, groups.filter((g) => g.ready).length);
  return { ready, desired, done: ready >= desired, groups, pods: mine };
}

/** Why a group is not ready: the most telling pod's reason, named by its role and rank. */
export function diagnoseGroups(
  lws: LeaderWorkerSet,
  pods: readonly Pod[],
  events: readonly KEvent[],
  nodes?: readonly Node[],
): Diagnosis | undefined {
  if (!pods.length) {
    return {
      reason: `LeaderWorkerSet ${lws.metadata.name} has no pods yet`,
      hint:
        "is the LeaderWorkerSet controller running? kubectl get pods -n lws-system; kubectl describe leaderworkerset " +
        lws.metadata.name,
      fatal: false,
    };
  }
  const found = [...pods]
    .sort((x, y) => x.metadata.name.localeCompare(y.metadata.name))
    .map((p) => ({ p, d: diagnosePods([p], events, nodes) }))
    .filter((x): x is { p: Pod; d: Diagnosis } => x.d !== undefined);
  const pick = found.find((x) => x.d.fatal) ?? found[0];
  if (!pick) return undefined;
  const who = describeGroupPod(pick.p);
  return who ? { ...pick.d, reason: `${who} (${pick.p.metadata.name}): ${pick.d.reason}` } : pick.d;
}
