/** The Docker target (SPEC §7): the app's container on this machine's Docker engine, found by label. */
import type { TargetDriver } from "../commands/target.js";
import { deleteLocal } from "./delete.js";
import { deployLocal } from "./deploy.js";
import { formatLocal } from "./format.js";
import { logsLocal } from "./logs.js";
import { listLocal, statusLocal } from "./status.js";

export const dockerDriver: TargetDriver = {
  deploy: deployLocal,
  logs: logsLocal,
  status: (opts) => statusLocal(opts),
  delete: deleteLocal,
  list: async (_opts, ui) => {
    const result = await listLocal();
    if (!result.apps.length) ui.info("no vllmapp apps on this Docker engine");
    return result;
  },
  format: formatLocal,
};
