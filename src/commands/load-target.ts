/** The target's implementation, loaded only by the commands that touch it (client-node, execa). */
import type { TargetKind } from "../render/types.js";
import type { Target } from "../target.js";

export async function loadTarget(kind: TargetKind): Promise<Target> {
  if (kind === "docker") return (await import("../local/index.js")).dockerTarget;
  return (await import("../cluster/index.js")).kubernetesTarget;
}
