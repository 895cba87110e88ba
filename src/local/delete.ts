/** delete --local: on_shutdown, stop and remove the app's containers (by label); --purge-cache: its model copy. */
import { existsSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import type { AppRef, DeletedApp, DeleteRequest, DeleteResult } from "../target.js";
import type { Ui } from "../ui/output.js";
import { removeContainer } from "./container.js";
import { findContainers, LABEL, nameOf } from "./docker.js";
import { forgetLocalHistory } from "./starts.js";

export async function deleteLocal(refs: readonly AppRef[], req: DeleteRequest, ui: Ui): Promise<DeleteResult> {
  const apps: DeletedApp[] = [];
  for (const { name } of refs) {
    const found = await findContainers(`${LABEL}=${name}`);
    for (const c of found) await removeContainer(c, ui);
    forgetLocalHistory(name);
    const entry: DeletedApp = {
      name,
      namespace: null,
      deleted: found.map((c) => `Container/${nameOf(c)}`),
      kept: [],
      purgedCache: null,
    };
    if (req.purgeCache) {
      // only vllmapp's own copy of object-store models; the Hugging Face cache is shared with other tools
      const dir = path.join(homedir(), ".cache", "vllmapp", "models", name);
      if (existsSync(dir)) {
        rmSync(dir, { recursive: true, force: true });
        entry.purgedCache = dir;
      }
      ui.note(`${name}: the Hugging Face cache (~/.cache/huggingface) is shared with other tools and left alone`);
    }
    apps.push(entry);
  }
  return { apps };
}
