/** delete --local: on_shutdown, stop and remove the app's containers (by label); --purge-cache: its model copy. */
import { existsSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import type { DeleteOptions } from "../commands/target.js";
import type { Ui } from "../ui/output.js";
import { removeContainer } from "./container.js";
import { findContainers, LABEL, nameOf } from "./docker.js";
import { appNames } from "./status.js";

export interface LocalDeleted {
  name: string;
  /** the containers removed (none when the app was not deployed) */
  removed: string[];
  /** with --purge-cache: the local object-store copy that was removed */
  purgedCache?: string;
}

export async function deleteLocal(opts: DeleteOptions, ui: Ui): Promise<{ apps: LocalDeleted[] }> {
  // dependents before what they depend on
  const names = appNames(opts, "delete").reverse();
  const apps: LocalDeleted[] = [];
  for (const name of names) {
    const found = await findContainers(`${LABEL}=${name}`);
    for (const c of found) await removeContainer(c, ui);
    const entry: LocalDeleted = { name, removed: found.map(nameOf) };
    if (opts.purgeCache) {
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
