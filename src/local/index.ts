/** The Docker target (README "The local target (Docker)"): the app's container on this machine's Docker engine, found by label. */
import type { Session, Target } from "../target.js";
import { benchLocal } from "./bench.js";
import { deleteLocal } from "./delete.js";
import { deployLocal } from "./deploy.js";
import { logsLocal } from "./logs.js";
import { listLocal, statusLocal } from "./status.js";

export const dockerTarget: Target = {
  kind: "docker",
  // nothing to open: each step asks the engine, and says so when it does not answer (exit 4)
  async connect(): Promise<Session> {
    return {
      deploy: deployLocal,
      status: (apps, req) => statusLocal(apps, req),
      logs: logsLocal,
      delete: deleteLocal,
      list: async (ui) => {
        const result = await listLocal();
        if (!result.apps.length) ui.info("no vllmapp apps on this Docker engine");
        return result;
      },
      bench: benchLocal,
    };
  },
};
