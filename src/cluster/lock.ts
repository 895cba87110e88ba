/**
 * One deploy of an app at a time: a Lease (coordination.k8s.io/v1) `vllmapp-deploy-<app>` in the app's
 * namespace, held from the apply to the end of the wait, renewed every 10 s, deleted at the end. A second
 * deploy of the same app finds it held and stops before writing anything, saying who holds it; a lock
 * whose holder died (kill -9, a lost laptop) expires 30 s after its last renewal and is taken over, at
 * once if the holder was a process on this machine that is gone.
 */
import { hostname, userInfo } from "node:os";
import { ClusterError } from "../errors.js";
import { isRunning } from "../pid.js";
import type { Ui } from "../ui/output.js";
import type { KObject, KubeApi } from "./api.js";
import { ApiError } from "./errors.js";

export const LEASE_SECONDS = 30;
const RENEW_MS = 10_000;

type Lease = KObject & {
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string };
};

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export function leaseName(app: string): string {
  return `vllmapp-deploy-${app}`;
}

function holder(): string {
  let user = "someone";
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (a container's random uid)
  }
  return `${user}@${hostname()} (vllmapp pid ${process.pid})`;
}

/**
 * A holder on this machine whose process is gone (a deploy that failed to release its lock because the
 * API server was away, or was killed): its lock need not be waited out.
 */
export function deadHolder(identity: string | undefined): boolean {
  const m = /^.*@(.+) \(vllmapp pid (\d+)\)$/.exec(identity ?? "");
  return Boolean(m && m[1] === hostname() && !isRunning(Number(m[2])));
}

/** Seconds until a lease expires (negative: expired). */
export function leaseRemaining(l: Lease, now: number): number {
  const renewed = Date.parse(l.spec?.renewTime ?? l.spec?.acquireTime ?? "");
  if (!Number.isFinite(renewed)) return -1;
  return (renewed + (l.spec?.leaseDurationSeconds ?? LEASE_SECONDS) * 1000 - now) / 1000;
}

function heldError(app: string, namespace: string, l: Lease, now: number): ClusterError {
  const since = Date.parse(l.spec?.acquireTime ?? "");
  const ago = Number.isFinite(since) ? `, for ${Math.max(0, Math.round((now - since) / 1000))} s` : "";
  const left = Math.max(1, Math.ceil(leaseRemaining(l, now)));
  return new ClusterError(
    `another deploy of ${app} in namespace ${namespace} is in progress: ${l.spec?.holderIdentity ?? "an unnamed holder"}${ago}; nothing was applied`,
    `wait until it is done (vllmapp status ${app}). If it was killed on another machine, its lock (Lease ${l.metadata.name}) expires in ${left} s unless renewed; or remove it: kubectl delete lease ${l.metadata.name} -n ${namespace}`,
  );
}

interface Held {
  path: string;
  uid: string;
}

async function acquire(api: KubeApi, app: string, namespace: string): Promise<Held | "no-permission"> {
  const name = leaseName(app);
  const collection = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  const path = `${collection}/${name}`;
  const now = Date.now();
  const spec = {
    holderIdentity: holder(),
    leaseDurationSeconds: LEASE_SECONDS,
    acquireTime: microTime(now),
    renewTime: microTime(now),
  };
  const body = {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name, namespace, labels: { "app.kubernetes.io/managed-by": "vllmapp" } },
    spec,
  };
  try {
    const made = await api.request<Lease>("POST", collection, {
      body,
      what: `take the deploy lock of ${app} (Lease ${name})`,
    });
    return { path, uid: made.metadata.uid! };
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return "no-permission";
    if (!(e instanceof ApiError && e.status === 409)) throw e;
  }
  const live = await api.get<Lease>(path, `read the deploy lock of ${app}`);
  if (!live) return acquire(api, app, namespace); // released in between
  if (leaseRemaining(live, Date.now()) > 0 && !deadHolder(live.spec?.holderIdentity))
    throw heldError(app, namespace, live, Date.now());
  // its holder stopped renewing it: take it over, unless someone else does first (409 on the version)
  try {
    const taken = await api.request<Lease>("PUT", path, {
      body: { ...body, metadata: { ...body.metadata, resourceVersion: live.metadata.resourceVersion } },
      what: `take over the expired deploy lock of ${app}`,
    });
    return { path, uid: taken.metadata.uid! };
  } catch (e) {
    if (e instanceof ApiError && e.status === 409) {
      const now2 = await api.get<Lease>(path, `read the deploy lock of ${app}`);
      if (now2) throw heldError(app, namespace, now2, Date.now());
    }
    throw e;
  }
}

/**
 * Take the deploy lock of every app (in a fixed order, so two multi-app deploys cannot deadlock); returns
 * the release. A user without permission on leases deploys unlocked, with a warning.
 */
export async function lockApps(
  api: KubeApi,
  apps: readonly { name: string; namespace: string }[],
  ui: Ui,
): Promise<() => Promise<void>> {
  const held: Held[] = [];
  const release = async () => {
    clearInterval(renew);
    await Promise.all(
      held.map((h) =>
        api
          .request("DELETE", h.path, {
            body: { apiVersion: "v1", kind: "DeleteOptions", preconditions: { uid: h.uid } },
            what: "release the deploy lock",
          })
          // gone already, or taken over after it expired: not ours to delete
          .catch(() => {}),
      ),
    );
  };
  const renew = setInterval(() => {
    for (const h of held) {
      void api
        .request("PATCH", h.path, {
          body: { spec: { renewTime: microTime(Date.now()) } },
          contentType: "application/merge-patch+json",
          what: "renew the deploy lock",
        })
        .catch(() => {});
    }
  }, RENEW_MS);
  renew.unref();
  try {
    const sorted = [...apps].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
    for (const a of sorted) {
      const h = await acquire(api, a.name, a.namespace);
      if (h === "no-permission")
        ui.warn(
          `${a.name}: no permission to create Leases in namespace ${a.namespace}, so this deploy takes no lock: another deploy of ${a.name} at the same time would interleave with it`,
        );
      else held.push(h);
    }
  } catch (e) {
    await release();
    throw e;
  }
  return release;
}
