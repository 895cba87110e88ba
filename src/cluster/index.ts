import { ClusterError } from "../errors.js";
import type { TargetDriver } from "../commands/target.js";

const missing = async (): Promise<never> => {
  throw new ClusterError("the Kubernetes target is not built yet");
};
export const kubernetesDriver: TargetDriver = { deploy: missing, logs: missing, status: missing, delete: missing, list: missing, format: () => "" };
