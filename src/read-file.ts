/**
 * Reading a file a user named (a config, an include): only a regular file, bounded in size, and,
 * when asked, only inside a folder (symlinks followed). Problems a user can fix throw UsageError;
 * other file-system failures throw the errno error, for the caller to place (describeFsError).
 */
import { readFileSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import { UsageError } from "./errors.js";

export interface ReadLimits {
  maxBytes: number;
  /** the file (after symlinks) must lie inside this folder (after symlinks) */
  within?: string;
}

const sizeText = (n: number) =>
  n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${Math.ceil(n / 1024)} KiB`;

export function readUserFile(file: string, { maxBytes, within }: ReadLimits): Buffer {
  const st = statSync(file);
  if (st.isDirectory()) throw new UsageError(`${file} is a folder, not a file`);
  if (!st.isFile())
    throw new UsageError(`${file} is not a regular file (a pipe, socket or device)`, "name a regular file");
  if (within !== undefined) {
    const real = realpathSync(file);
    const root = realpathSync(within);
    const rel = path.relative(root, real);
    if (rel === "" || rel.startsWith("..") || path.isAbsolute(rel)) {
      throw new UsageError(
        `${file} resolves to ${real}, outside the app's folder ${root}`,
        "copy the file into the folder of the app file; vllmapp ships no file from outside it",
      );
    }
  }
  if (st.size > maxBytes)
    throw new UsageError(
      `${file} is ${sizeText(st.size)}; at most ${sizeText(maxBytes)} is read`,
      "ship large files in the image or the model's storage",
    );
  return readFileSync(file);
}
