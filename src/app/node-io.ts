/** The plan's IO on this machine: node:fs for the app files and includes, the templates, the home folder. */
import { existsSync, readdirSync, readSync, statSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { CONFIG_LIMITS, type LoadDeps } from "../config/load.js";
import { describeFsError, UsageError } from "../errors.js";
import { readUserFile } from "../read-file.js";
import { MAX_INCLUDE_BYTES, type IncludeEntry } from "./includes.js";
import type { PlanIo } from "./plan.js";
import { STDIN_FILE } from "./stdin.js";
import { loadTemplates } from "./templates.js";

let stdinBytes: Buffer | undefined;

/** Standard input, read once (`-f -`; status/logs/delete read the file twice), and no more than `maxBytes` + 1 (load says what is too long). */
function readStdin(maxBytes: number): Buffer {
  if (stdinBytes) return stdinBytes;
  const chunks: Buffer[] = [];
  let total = 0;
  const chunk = Buffer.alloc(64 * 1024);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, chunk, 0, chunk.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EAGAIN") continue;
      if ((e as NodeJS.ErrnoException).code === "EOF") break;
      throw e;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(chunk.subarray(0, n)));
    total += n;
    if (total > maxBytes) break;
  }
  stdinBytes = Buffer.concat(chunks);
  return stdinBytes;
}

/** Files as the config loader reads them; `<stdin>` (from `-f -`) is standard input, and paths in it are relative to the working folder. */
export function fsLoadDeps(): LoadDeps {
  return {
    readFile: (p: string) =>
      p === STDIN_FILE ? readStdin(CONFIG_LIMITS.maxBytes) : readUserFile(p, { maxBytes: CONFIG_LIMITS.maxBytes }),
    resolvePath: (from: string, rel: string) => path.resolve(from === STDIN_FILE ? "." : path.dirname(from), rel),
    exists: (p: string) => p === STDIN_FILE || existsSync(p),
  };
}

function readInclude(hostPath: string, within: string): IncludeEntry {
  let st;
  try {
    st = statSync(hostPath);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return { kind: "missing" };
    if (typeof code === "string")
      return { kind: "refused", message: `cannot read ${hostPath}: ${code} (${describeFsError(code)})` };
    throw e;
  }
  if (st.isDirectory())
    return {
      kind: "refused",
      message: `${hostPath} is a folder, not a file`,
      hint: `include lists files: ${readdirSync(hostPath).slice(0, 5).join(", ") || "(it is empty)"}`,
    };
  try {
    return { kind: "file", bytes: readUserFile(hostPath, { maxBytes: MAX_INCLUDE_BYTES, within }) };
  } catch (e) {
    if (e instanceof UsageError) return { kind: "refused", message: e.message, hint: e.hint };
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === "string")
      return { kind: "refused", message: `cannot read ${hostPath}: ${code} (${describeFsError(code)})` };
    throw e;
  }
}

export function nodePlanIo(opts: { templates?: string; resolve?: PlanIo["resolve"]; hostHome?: string }): PlanIo {
  return {
    ...fsLoadDeps(),
    readInclude,
    templates: () => loadTemplates(opts.templates, process.env.VLLMAPP_TEMPLATES),
    hostHome: opts.hostHome ?? homedir(),
    isHostDir: (p: string) => {
      try {
        return statSync(p).isDirectory();
      } catch {
        return false;
      }
    },
    ...(opts.resolve ? { resolve: opts.resolve } : {}),
  };
}
