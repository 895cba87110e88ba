/** The plan's IO on this machine: node:fs for the app files and includes, the templates, the home folder. */
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import type { LoadDeps } from "../config/load.js";
import type { IncludeEntry } from "./includes.js";
import type { PlanIo } from "./plan.js";
import { STDIN_FILE } from "./stdin.js";
import { loadTemplates } from "./templates.js";

let stdinText: string | undefined;

/** Standard input, read once (`-f -`): status/logs/delete read the file once more than render does. */
function readStdin(): string {
  stdinText ??= readFileSync(0, "utf8");
  return stdinText;
}

/** Files as the config loader reads them; `<stdin>` (from `-f -`) is standard input, and paths in it are relative to the working folder. */
export function fsLoadDeps(): LoadDeps {
  return {
    readFile: (p: string) => (p === STDIN_FILE ? readStdin() : readFileSync(p, "utf8")),
    resolvePath: (from: string, rel: string) => path.resolve(from === STDIN_FILE ? "." : path.dirname(from), rel),
    exists: (p: string) => p === STDIN_FILE || existsSync(p),
  };
}

function readInclude(hostPath: string): IncludeEntry {
  let st;
  try {
    st = statSync(hostPath);
  } catch {
    return { kind: "missing" };
  }
  if (st.isDirectory()) return { kind: "folder", entries: readdirSync(hostPath) };
  return { kind: "file", bytes: readFileSync(hostPath) };
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
