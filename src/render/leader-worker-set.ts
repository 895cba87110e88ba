/**
 * Multi-node serving (parallelism.nodes > 1): the app's Deployment becomes a LeaderWorkerSet
 * (leaderworkerset.x-k8s.io/v1, https://github.com/kubernetes-sigs/lws). The leader is the pod vllmapp
 * renders for one node (probes, port, API key, cache, scheduling); each worker runs the same `vllm serve`
 * with `--headless`, without HTTP probes (nothing listens), after an init container that waits, bounded
 * by startup_timeout, until the leader's master port answers. `startupPolicy: LeaderCreated` (the
 * leader's /health turns 200 only once the workers have joined, so LeaderReady would deadlock) and
 * `RecreateGroupOnPodRestart` (a lost rank hangs the rest: the whole group restarts). Pure.
 */
import type { V1Container, V1Deployment, V1PodTemplateSpec } from "@kubernetes/client-node";
import type { AppConfig } from "../config/schema.js";
import { leaderWorkerSetName, MASTER_PORT, type ParallelPlan } from "./parallelism.js";
import { secureContainer, type SecurityProfile } from "./security.js";
import type { K8sObject } from "./types.js";

export const LWS_API_VERSION = "leaderworkerset.x-k8s.io/v1";
export const LABEL_ROLE = "vllmapp.dev/role";

/**
 * The workers' wait: resolve the leader's name (LWS_LEADER_ADDRESS, injected by the LWS pod webhook),
 * connect to its master port, a line every 30 s while waiting, exit 0 once it answers; exit 1 only after
 * the bound (an init container that fails restarts the whole group).
 */
const WAIT_FOR_LEADER = `import os, socket, sys, time
host = os.environ.get("LWS_LEADER_ADDRESS", "")
port, bound = int(sys.argv[1]), float(sys.argv[2])
if not host:
    sys.exit("LWS_LEADER_ADDRESS is not set: is the LeaderWorkerSet pod webhook installed?")
start = last = time.time()
while True:
    try:
        socket.getaddrinfo(host, port)
        socket.create_connection((host, port), timeout=5).close()
        print(f"leader {host}:{port} answers after {time.time() - start:.0f} s", flush=True)
        sys.exit(0)
    except OSError as e:
        err = e
    if time.time() - start > bound:
        sys.exit(f"leader {host}:{port} did not answer within {bound:.0f} s: {err}")
    if time.time() - last >= 30:
        print(f"waiting for the leader {host}:{port}: {err}", flush=True)
        last = time.time()
    time.sleep(2)
`;

function withRole(tpl: V1PodTemplateSpec, role: "leader" | "worker"): V1PodTemplateSpec {
  return {
    ...tpl,
    metadata: { ...(tpl.metadata ?? {}), labels: { ...(tpl.metadata?.labels ?? {}), [LABEL_ROLE]: role } },
  };
}

/** A worker: the same pod and argv plus the worker flags; no HTTP port or probes, no API key; waits for the leader first. */
function workerOf(
  leader: V1PodTemplateSpec,
  parallel: ParallelPlan,
  image: string,
  boundSeconds: number,
  profile: SecurityProfile,
): V1PodTemplateSpec {
  const tpl = withRole(structuredClone(leader), "worker");
  const pod = tpl.spec!;
  pod.containers = pod.containers.map((c) => {
    if (c.name !== "vllm") return c;
    const { startupProbe: _s, readinessProbe: _r, livenessProbe: _l, ports: _p, ...rest } = c;
    const w: V1Container = { ...rest, args: [...(c.args ?? []), ...parallel.workerArgs] };
    if (w.env) w.env = w.env.filter((e) => e.name !== "VLLM_API_KEY");
    return w;
  });
  pod.initContainers = [
    ...(pod.initContainers ?? []),
    secureContainer(
      {
        name: "wait-for-leader",
        image,
        command: ["python3", "-c", WAIT_FOR_LEADER, String(MASTER_PORT), String(boundSeconds)],
        resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { memory: "256Mi" } },
      },
      profile,
    ),
  ];
  return tpl;
}

/** The LeaderWorkerSet that replaces the app's Deployment: same metadata (annotations), same pod as the leader. */
export function renderLeaderWorkerSet(
  app: AppConfig,
  dep: V1Deployment,
  parallel: ParallelPlan,
  image: string,
  boundSeconds: number,
  profile: SecurityProfile,
): K8sObject {
  const leader = withRole(structuredClone(dep.spec!.template), "leader");
  const reps = app.scaling?.replicas ?? 1;
  return {
    apiVersion: LWS_API_VERSION,
    kind: "LeaderWorkerSet",
    metadata: { ...dep.metadata!, name: leaderWorkerSetName(app.name) } as K8sObject["metadata"],
    spec: {
      ...(Array.isArray(reps) ? {} : { replicas: reps }),
      startupPolicy: "LeaderCreated",
      rolloutStrategy: { type: "RollingUpdate", rollingUpdateConfiguration: { maxUnavailable: 1, maxSurge: 0 } },
      leaderWorkerTemplate: {
        size: parallel.nodes,
        restartPolicy: "RecreateGroupOnPodRestart",
        leaderTemplate: leader,
        workerTemplate: workerOf(leader, parallel, image, boundSeconds, profile),
      },
    },
  };
}
