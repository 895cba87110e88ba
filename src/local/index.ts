import { DockerError } from "../errors.js";
import type { TargetDriver } from "../commands/target.js";

const missing = async (): Promise<never> => {
  throw new DockerError("the Docker target is not built yet");
};
export const dockerDriver: TargetDriver = { deploy: missing, logs: missing, status: missing, delete: missing, list: missing, format: () => "" };
