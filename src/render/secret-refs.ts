/**
 * The Secrets the rendered pods reference but the output does not contain (`<app>-secrets` for
 * `secrets: [HF_TOKEN]`, a `pod_template`'s own): applied as they are, the pods stay in
 * CreateContainerConfigError until someone creates them, so `render` names each. Pure.
 */
import type { K8sObject } from "./types.js";

export interface MissingSecret {
  name: string;
  /** the keys read from it (empty: the whole Secret, as envFrom or a volume) */
  keys: string[];
}

/** Every Secret name (and key) referenced anywhere in `node`: env secretKeyRef, envFrom secretRef, secret volumes. */
function collect(node: unknown, out: Map<string, Set<string>>): void {
  if (Array.isArray(node)) return node.forEach((n) => collect(n, out));
  if (node === null || typeof node !== "object") return;
  const n = node as Record<string, unknown>;
  const keyRef = n.secretKeyRef as { name?: string; key?: string; optional?: boolean } | undefined;
  if (keyRef?.name && !keyRef.optional)
    (out.get(keyRef.name) ?? out.set(keyRef.name, new Set()).get(keyRef.name)!).add(keyRef.key ?? "");
  const ref = n.secretRef as { name?: string; optional?: boolean } | undefined;
  if (ref?.name && !ref.optional && !out.has(ref.name)) out.set(ref.name, new Set());
  const vol = n.secret as { secretName?: string; optional?: boolean } | undefined;
  if (vol?.secretName && !vol.optional && !out.has(vol.secretName)) out.set(vol.secretName, new Set());
  for (const [k, v] of Object.entries(n)) if (k !== "secretKeyRef") collect(v, out);
}

export function missingSecrets(objects: readonly K8sObject[]): MissingSecret[] {
  const referenced = new Map<string, Set<string>>();
  for (const o of objects) if (o.kind !== "Secret") collect(o.spec, referenced);
  const rendered = new Set(objects.filter((o) => o.kind === "Secret").map((o) => o.metadata.name));
  return [...referenced]
    .filter(([name]) => !rendered.has(name))
    .map(([name, keys]) => ({ name, keys: [...keys].filter(Boolean).sort() }));
}

/** The warning for one missing Secret: what happens, and how to create it without putting a value in argv. */
export function missingSecretWarning(app: string, s: MissingSecret, namespace?: string): string {
  const ns = namespace ? ` -n ${namespace}` : "";
  const keys = s.keys.length ? ` (key${s.keys.length === 1 ? "" : "s"} ${s.keys.join(", ")})` : "";
  const deploy =
    s.name === `${app}-secrets` ? "`vllmapp deploy --create-secrets` copies it from your environment, or " : "";
  const file = s.keys.length ? s.keys.map((k) => `${k}=…`).join(", ") : "KEY=…";
  return (
    `${app}: the pods read Secret ${s.name}${keys}, which the output does not contain: applied as it is, they stay in CreateContainerConfigError until it exists. ` +
    `Create it once (${deploy}from a file of ${file} lines):\n  kubectl create secret generic ${s.name}${ns} --from-env-file=FILE`
  );
}
