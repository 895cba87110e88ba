/**
 * The Kubernetes minors vllmapp renders for (README "Supported Kubernetes versions"). 1.30 is the oldest
 * supported: the oldest the managed services (GKE extended, AKS LTS) still run in December 2026, and the
 * first that accepts `lifecycle.preStop.sleep` with default feature gates. 1.28 and 1.29 get the drain
 * delay as `preStop.exec: [sleep, N]` (1.29 drops `sleep` while its gate is off and then rejects the
 * handler; 1.28 does not know it), with a warning; older minors are refused. Pure.
 */
import type { V1PodSpec } from "@kubernetes/client-node";

export const OLDEST_SUPPORTED_MINOR = 30;
export const NEWEST_SUPPORTED_MINOR = 36;
/** Below the supported range, still rendered (with a warning): 1.28 and 1.29. */
export const OLDEST_RENDERED_MINOR = 28;
/** The first minor whose default gates accept `preStop.sleep` (PodLifecycleSleepAction beta). */
const PRESTOP_SLEEP_MINOR = 30;

/** "1.30", "v1.30", "1.30.2" → 30; a problem for anything else or a minor below 1.28. */
export function parseKubeVersion(v: string): { minor: number } | { problem: string; hint: string } {
  const m = /^v?1\.(\d{1,3})(?:\.\d+)?$/.exec(v.trim());
  const supported = `1.${OLDEST_SUPPORTED_MINOR} to 1.${NEWEST_SUPPORTED_MINOR}`;
  if (!m)
    return {
      problem: `--kube-version ${v} is not a Kubernetes version`,
      hint: `write MAJOR.MINOR, e.g. --kube-version 1.${OLDEST_SUPPORTED_MINOR} (supported: ${supported})`,
    };
  const minor = Number(m[1]);
  if (minor < OLDEST_RENDERED_MINOR)
    return {
      problem: `--kube-version ${v}: vllmapp renders for Kubernetes 1.${OLDEST_RENDERED_MINOR} and newer (supported: ${supported})`,
      hint: `upgrade the cluster, or render for 1.${OLDEST_SUPPORTED_MINOR} and adapt the manifests by hand`,
    };
  return { minor };
}

/** The warning for a minor below the supported range, if it is one. */
export function kubeVersionWarning(minor: number): string | undefined {
  if (minor >= OLDEST_SUPPORTED_MINOR) return undefined;
  return `Kubernetes 1.${minor} is below the supported range (1.${OLDEST_SUPPORTED_MINOR} to 1.${NEWEST_SUPPORTED_MINOR}): rendered with preStop.exec [sleep] instead of preStop.sleep; nothing else is tested there`;
}

/** The pod in the form the minor takes: `preStop.sleep` becomes `exec: [sleep, N]` below 1.30. */
export function podForKubeMinor(pod: V1PodSpec, minor: number): void {
  if (minor >= PRESTOP_SLEEP_MINOR) return;
  for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
    const sleep = c.lifecycle?.preStop?.sleep;
    if (sleep) c.lifecycle!.preStop = { exec: { command: ["sleep", String(sleep.seconds)] } };
  }
}
