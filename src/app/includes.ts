/** The `include` files of an app, checked by the rules a ConfigMap and /app/include set. Pure: the reader is passed in. */
import { isUtf8 } from "node:buffer";
import path from "node:path";
import type { LoadedApp } from "../config/load.js";
import type { Diagnostic } from "../errors.js";
import type { IncludeFile } from "../render/types.js";

/** What the file system says about one include path. */
export type IncludeEntry =
  | { kind: "missing" }
  | { kind: "file"; bytes: Uint8Array }
  /** a folder, not a regular file, too large, outside the app's folder (symlinks followed), unreadable */
  | { kind: "refused"; message: string; hint?: string };

/** reads hostPath, which must lie inside `within` (the app file's folder) */
export type IncludeReader = (hostPath: string, within: string) => IncludeEntry;

export const MAX_INCLUDE_BYTES = 900 * 1024;

export function readIncludes(app: LoadedApp, read: IncludeReader, problems: Diagnostic[]): IncludeFile[] {
  const out: IncludeFile[] = [];
  const names = new Map<string, number>();
  app.config.include?.forEach((p, i) => {
    const hostPath = path.resolve(path.dirname(app.file), p);
    const at = app.locate(["include", i]);
    const diag = (message: string, hint?: string) =>
      problems.push({ file: app.file, ...at, path: `include[${i}]`, severity: "error", message, hint });
    const entry = read(hostPath, path.dirname(app.file));
    if (entry.kind === "missing")
      return diag(`${p} does not exist (looked at ${hostPath})`, "include paths are relative to the app file");
    if (entry.kind === "refused")
      return diag(
        entry.message.replace(hostPath, p),
        entry.hint ?? "include lists files, each by its path relative to the app file",
      );
    // the folder structure is kept under /app/include for paths inside the app's folder; others by file name
    const rel = path.relative(path.dirname(app.file), hostPath);
    const name = rel.startsWith("..") || path.isAbsolute(rel) ? path.basename(hostPath) : rel.split(path.sep).join("/");
    if (names.has(name))
      return diag(
        `two included files are both mounted at /app/include/${name}; they would overwrite each other`,
        "give them different names or folders",
      );
    names.set(name, i);
    const buf = entry.bytes;
    if (buf.includes(0)) return diag(`${p} is a binary file; include ships text files (chat templates, configs)`);
    if (!isUtf8(buf)) return diag(`${p} is not UTF-8 text; include ships text files`, "save it as UTF-8");
    if (buf.length > MAX_INCLUDE_BYTES)
      return diag(
        `${p} is ${Math.round(buf.length / 1024)} KiB; a ConfigMap holds at most 1 MiB`,
        "ship large files in the image or the model's storage",
      );
    out.push({ path: p, hostPath, name, content: new TextDecoder("utf-8", { ignoreBOM: true }).decode(buf) });
  });
  return out;
}
