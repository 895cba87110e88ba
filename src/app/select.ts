/**
 * The apps `status`, `logs` and `delete` act on: the one named (its namespace from the file, if the file
 * names it), else the selected apps of the file, in deploy order (dependencies first).
 */
import { ConfigError } from "../errors.js";
import { UsageError } from "../errors.js";
import type { LoadDeps } from "../config/load.js";
import { selectApps } from "./plan.js";

/** An app a command acts on by name: `status APP`, or an app of the file. */
export interface AppRef {
  name: string;
  /** the app's `namespace:` in the file, when the file names the app */
  fileNamespace?: string;
}

/** `command`: the command asking (`logs`, `status`, `delete`), named in the hint when no app can be found. */
export function appRefs(
  opts: { file: string; app?: string; appName?: string },
  io: LoadDeps,
  command = "status",
): AppRef[] {
  if (opts.appName) {
    let fileNamespace: string | undefined;
    if (io.exists(opts.file)) {
      try {
        fileNamespace = selectApps({ file: opts.file }, io).apps.find((a) => a.config.name === opts.appName)?.config
          .namespace;
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
      }
    }
    return [{ name: opts.appName, ...(fileNamespace ? { fileNamespace } : {}) }];
  }
  if (!io.exists(opts.file)) {
    throw new UsageError(
      `no app given, and ${opts.file} does not exist`,
      `name the app (vllmapp ${command} APP), or point ${command === "logs" ? "--file" : "-f"} at its vllm-app.yaml`,
    );
  }
  const { inOrder, selected } = selectApps(opts, io);
  return inOrder
    .filter((a) => selected.includes(a))
    .map((a) => ({ name: a.config.name, ...(a.config.namespace ? { fileNamespace: a.config.namespace } : {}) }));
}
