/**
 * The start history of a Docker app: `~/.cache/vllmapp/starts/<app>.json`, the same records as the
 * Kubernetes ConfigMap `<app>-starts` (src/cluster/starts.ts): the last starts `deploy --local` waited for,
 * phases with seconds and bytes only. Best effort: a file that cannot be read or written loses only the history.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { addToHistory, currentAndPrevious, parseHistory, recordOf } from "../startup/timeline.js";
import type { StartRecord, Timeline, TimelineEntry } from "../target.js";

export const localHistoryFile = (app: string) => path.join(homedir(), ".cache", "vllmapp", "starts", `${app}.json`);

export function readLocalHistory(app: string): StartRecord[] {
  try {
    return parseHistory(readFileSync(localHistoryFile(app), "utf8"));
  } catch {
    return [];
  }
}

/** Record a start deploy waited for; the timeline of it and the one before. */
export function recordLocalStart(
  app: string,
  start: { id: string; at: number; entries: TimelineEntry[]; serverSeconds: number | null },
): Timeline {
  const before = readLocalHistory(app);
  let history = before;
  if (start.entries.some((e) => e.phase === "ready")) {
    history = addToHistory(before, recordOf(start.id, start.at, start.entries, start.serverSeconds));
    try {
      mkdirSync(path.dirname(localHistoryFile(app)), { recursive: true });
      writeFileSync(localHistoryFile(app), JSON.stringify(history));
    } catch {
      history = before;
    }
  }
  return currentAndPrevious(start, history);
}

export function forgetLocalHistory(app: string): void {
  rmSync(localHistoryFile(app), { force: true });
}
