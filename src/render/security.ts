/**
 * Pod Security (https://kubernetes.io/docs/concepts/security/pod-security-standards/): what vllmapp sets on
 * every pod it renders for the app's `security.profile`, and the level a finished pod spec meets (the
 * checks of the Pod Security admission's `restricted` and `baseline` levels, for `render` to say). Pure.
 *
 * restricted (default): a fixed non-root UID/GID, no privilege escalation, no capabilities, seccomp
 *   RuntimeDefault, a read-only root filesystem; HOME and /tmp are emptyDirs, so vLLM's, torch's, triton's
 *   and Hugging Face's caches have somewhere to go. vLLM's images run as root, and write nowhere else.
 * baseline: the image's user (root for vLLM's images), seccomp RuntimeDefault, no escalation; for images
 *   that must run as root.
 * privileged: the image's user, seccomp Unconfined, IPC_LOCK (RDMA memory registration) and SYS_PTRACE
 *   (vLLM's ROCm docs run with both: `--cap-add=SYS_PTRACE --security-opt seccomp=unconfined`).
 */
import type {
  V1Container,
  V1EnvVar,
  V1PodSecurityContext,
  V1PodSpec,
  V1SecurityContext,
  V1Volume,
  V1VolumeMount,
} from "@kubernetes/client-node";
import type { AppConfig } from "../config/schema.js";

export type SecurityProfile = NonNullable<AppConfig["security"]>["profile"];

export function securityProfileOf(app: AppConfig): SecurityProfile {
  return app.security?.profile ?? "restricted";
}

/** The UID and GID of every container under `restricted`: above 10000, outside any image's or node's own users. */
export const RUN_AS_ID = 10001;
/** HOME of the non-root user: an emptyDir (~/.cache/vllm, ~/.triton, ~/.cache/huggingface, ~/.config land here). */
export const HOME_MOUNT = "/home/vllmapp";

export function podSecurityContextOf(profile: SecurityProfile): V1PodSecurityContext {
  if (profile === "privileged") return {};
  const seccomp = { seccompProfile: { type: "RuntimeDefault" } };
  if (profile === "baseline") return seccomp;
  return {
    runAsNonRoot: true,
    runAsUser: RUN_AS_ID,
    runAsGroup: RUN_AS_ID,
    fsGroup: RUN_AS_ID,
    fsGroupChangePolicy: "OnRootMismatch",
    ...seccomp,
  };
}

export function containerSecurityContextOf(profile: SecurityProfile): V1SecurityContext {
  if (profile === "privileged")
    return { seccompProfile: { type: "Unconfined" }, capabilities: { add: ["IPC_LOCK", "SYS_PTRACE"] } };
  if (profile === "baseline") return { allowPrivilegeEscalation: false };
  return { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, readOnlyRootFilesystem: true };
}

/** The writable places a non-root container with a read-only root needs: HOME and /tmp, and the env that points there. */
export function writablePlacesOf(profile: SecurityProfile): {
  volumes: V1Volume[];
  mounts: V1VolumeMount[];
  env: V1EnvVar[];
} {
  if (profile !== "restricted") return { volumes: [], mounts: [], env: [] };
  return {
    volumes: [
      { name: "home", emptyDir: {} },
      { name: "tmp", emptyDir: {} },
    ],
    mounts: [
      { name: "home", mountPath: HOME_MOUNT },
      { name: "tmp", mountPath: "/tmp" },
    ],
    // USER: getpass.getuser() (torch's inductor cache path) reads it before the passwd file, which has no entry for the UID.
    // VLLM_CACHE_ROOT: vLLM's default (~/.cache/vllm), written out because an image may point it into its own,
    // now read-only, filesystem (measured: the first request's torch.compile then fails with EROFS); a
    // cache PVC's /cache/vllm and env_vars win
    env: [
      { name: "HOME", value: HOME_MOUNT },
      { name: "USER", value: "vllmapp" },
      { name: "VLLM_CACHE_ROOT", value: `${HOME_MOUNT}/.cache/vllm` },
    ],
  };
}

/** A container with the profile's securityContext (its own keys win) and, under restricted, HOME and /tmp. */
export function secureContainer(c: V1Container, profile: SecurityProfile): V1Container {
  const w = writablePlacesOf(profile);
  const env = [...(c.env ?? [])];
  for (const e of w.env) if (!env.some((x) => x.name === e.name)) env.push(e);
  const mounts = [...(c.volumeMounts ?? [])];
  for (const m of w.mounts) if (!mounts.some((x) => x.mountPath === m.mountPath)) mounts.push(m);
  return {
    ...c,
    ...(env.length ? { env } : {}),
    ...(mounts.length ? { volumeMounts: mounts } : {}),
    securityContext: { ...containerSecurityContextOf(profile), ...(c.securityContext ?? {}) },
  };
}

/** Every container of the pod secured, the pod's securityContext set (its own keys win), HOME and /tmp volumes added. */
export function securePod(pod: V1PodSpec, profile: SecurityProfile): void {
  pod.securityContext = { ...podSecurityContextOf(profile), ...(pod.securityContext ?? {}) };
  if (Object.keys(pod.securityContext).length === 0) delete pod.securityContext;
  pod.containers = pod.containers.map((c) => secureContainer(c, profile));
  if (pod.initContainers) pod.initContainers = pod.initContainers.map((c) => secureContainer(c, profile));
  const volumes = [...(pod.volumes ?? [])];
  for (const v of writablePlacesOf(profile).volumes) if (!volumes.some((x) => x.name === v.name)) volumes.push(v);
  if (volumes.length) pod.volumes = volumes;
}

// --- the level a pod spec meets: the Pod Security admission's checks (k8s.io/pod-security-admission/policy)

const BASELINE_CAPABILITIES = new Set([
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
]);
const SAFE_SYSCTLS = new Set([
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
]);
const SELINUX_TYPES = new Set(["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"]);
const RESTRICTED_VOLUMES = new Set([
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "persistentVolumeClaim",
  "projected",
  "secret",
]);

export interface PodSecurityVerdict {
  level: SecurityProfile;
  /** why the pod does not meet the next stricter level (empty for restricted) */
  reasons: string[];
}

/** The strictest Pod Security level the pod spec meets, with the violations of the level above it. */
export function podSecurityLevelOf(pod: V1PodSpec): PodSecurityVerdict {
  const containers = [...(pod.initContainers ?? []), ...pod.containers];
  const psc = pod.securityContext ?? {};
  const baseline: string[] = [];
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) baseline.push("host namespaces");
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    if (sc.privileged) baseline.push(`container ${c.name} is privileged`);
    const added = (sc.capabilities?.add ?? []).filter((x) => !BASELINE_CAPABILITIES.has(x));
    if (added.length) baseline.push(`container ${c.name} adds ${added.join(", ")}`);
    if ((c.ports ?? []).some((p) => p.hostPort)) baseline.push(`container ${c.name} uses a hostPort`);
    if (sc.seccompProfile?.type === "Unconfined") baseline.push(`container ${c.name} runs seccomp Unconfined`);
    if (sc.procMount && sc.procMount !== "Default") baseline.push(`container ${c.name} sets procMount`);
    if (!SELINUX_TYPES.has(sc.seLinuxOptions?.type ?? "") || sc.seLinuxOptions?.user || sc.seLinuxOptions?.role)
      baseline.push(`container ${c.name} sets SELinux options`);
    if (sc.windowsOptions?.hostProcess) baseline.push(`container ${c.name} is a host process`);
    if (sc.appArmorProfile?.type === "Unconfined") baseline.push(`container ${c.name} runs AppArmor unconfined`);
  }
  if ((pod.volumes ?? []).some((v) => v.hostPath)) baseline.push("a hostPath volume");
  if (psc.seccompProfile?.type === "Unconfined") baseline.push("the pod runs seccomp Unconfined");
  if (psc.appArmorProfile?.type === "Unconfined") baseline.push("the pod runs AppArmor unconfined");
  if (!SELINUX_TYPES.has(psc.seLinuxOptions?.type ?? "") || psc.seLinuxOptions?.user || psc.seLinuxOptions?.role)
    baseline.push("the pod sets SELinux options");
  const unsafe = (psc.sysctls ?? []).filter((s) => !SAFE_SYSCTLS.has(s.name)).map((s) => s.name);
  if (unsafe.length) baseline.push(`unsafe sysctls ${unsafe.join(", ")}`);
  if (baseline.length) return { level: "privileged", reasons: [...new Set(baseline)] };

  const restricted: string[] = [];
  for (const v of pod.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== "name");
    if (type && !RESTRICTED_VOLUMES.has(type)) restricted.push(`volume ${v.name} is a ${type}`);
  }
  const nonRoot = (c: V1Container) => c.securityContext?.runAsNonRoot ?? psc.runAsNonRoot;
  const notRoot = containers.filter((c) => nonRoot(c) !== true).map((c) => c.name);
  if (notRoot.length) restricted.push(`runAsNonRoot is not true (${notRoot.join(", ")})`);
  const uid0 = psc.runAsUser === 0 || containers.some((c) => c.securityContext?.runAsUser === 0);
  if (uid0) restricted.push("runAsUser is 0");
  const seccomp = (c: V1Container) => c.securityContext?.seccompProfile?.type ?? psc.seccompProfile?.type;
  const noSeccomp = containers
    .filter((c) => !["RuntimeDefault", "Localhost"].includes(seccomp(c) ?? ""))
    .map((c) => c.name);
  if (noSeccomp.length) restricted.push(`seccompProfile is not RuntimeDefault (${noSeccomp.join(", ")})`);
  const escalating = containers.filter((c) => c.securityContext?.allowPrivilegeEscalation !== false).map((c) => c.name);
  if (escalating.length) restricted.push(`allowPrivilegeEscalation is not false (${escalating.join(", ")})`);
  const caps = containers
    .filter(
      (c) =>
        !(c.securityContext?.capabilities?.drop ?? []).includes("ALL") ||
        (c.securityContext?.capabilities?.add ?? []).some((x) => x !== "NET_BIND_SERVICE"),
    )
    .map((c) => c.name);
  if (caps.length) restricted.push(`capabilities are not dropped (ALL) (${caps.join(", ")})`);
  return restricted.length ? { level: "baseline", reasons: restricted } : { level: "restricted", reasons: [] };
}
