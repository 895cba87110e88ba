/**
 * A small builder of the server's pod (cdk8s-plus's addVolume / addInitContainer, inside the renderer):
 * volumes and mounts replaced by name and by path, init steps in order, tolerations and node
 * requirements. Volumes, mounts and init steps are written into the pod once, by `finish()`; the
 * scheduling methods write at once, so the pod's fields keep the order they are set in. Pure.
 */
import type {
  V1Container,
  V1NodeSelectorRequirement,
  V1PodSpec,
  V1Toleration,
  V1Volume,
  V1VolumeMount,
} from "@kubernetes/client-node";

export class PodBuilder {
  private readonly volumes: V1Volume[];
  private readonly mounts: V1VolumeMount[];
  private readonly inits: V1Container[];

  /** `pod` and its server container `server`, as the template gives them. */
  constructor(
    readonly pod: V1PodSpec,
    readonly server: V1Container,
  ) {
    this.volumes = [...(pod.volumes ?? [])];
    this.mounts = [...(server.volumeMounts ?? [])];
    this.inits = [...(pod.initContainers ?? [])];
  }

  /** A volume of the pod; one of the same name is replaced. */
  addVolume(v: V1Volume): this {
    const i = this.volumes.findIndex((x) => x.name === v.name);
    if (i >= 0) this.volumes[i] = v;
    else this.volumes.push(v);
    return this;
  }

  /** A mount of the server container; one at the same path is replaced. */
  addMount(m: V1VolumeMount): this {
    const i = this.mounts.findIndex((x) => x.mountPath === m.mountPath);
    if (i >= 0) this.mounts[i] = m;
    else this.mounts.push(m);
    return this;
  }

  hasMount(volume: string): boolean {
    return this.mounts.some((m) => m.name === volume);
  }

  /** The server's mounts so far (an init step that sees what the server sees takes them). */
  serverMounts(): V1VolumeMount[] {
    return [...this.mounts];
  }

  /** An init step, after the template's and the ones added before it. */
  addInit(c: V1Container): this {
    this.inits.push(c);
    return this;
  }

  /** Write the volumes, the server's mounts and the init steps into the pod. */
  finish(): V1PodSpec {
    this.server.volumeMounts = this.mounts;
    this.pod.volumes = this.volumes;
    if (this.inits.length) this.pod.initContainers = this.inits;
    return this.pod;
  }

  tolerate(tolerations: readonly V1Toleration[]): this {
    this.pod.tolerations = [...(this.pod.tolerations ?? []), ...tolerations];
    return this;
  }

  /** Nodes the pod must run on: one term, every expression of it. */
  requireNodes(expressions: V1NodeSelectorRequirement[]): this {
    this.nodeAffinity().requiredDuringSchedulingIgnoredDuringExecution = {
      nodeSelectorTerms: [{ matchExpressions: expressions }],
    };
    return this;
  }

  /** Nodes the pod prefers, each expression a preference of the same weight. */
  preferNodes(expressions: V1NodeSelectorRequirement[], weight: number): this {
    this.nodeAffinity().preferredDuringSchedulingIgnoredDuringExecution = expressions.map((e) => ({
      weight,
      preference: { matchExpressions: [e] },
    }));
    return this;
  }

  /** Node labels the pod selects, added to the template's. */
  selectNodes(labels: Record<string, string>): this {
    this.pod.nodeSelector = { ...(this.pod.nodeSelector ?? {}), ...labels };
    return this;
  }

  private nodeAffinity() {
    this.pod.affinity ??= {};
    return (this.pod.affinity.nodeAffinity ??= {});
  }
}
