/**
 * One `deploy --local` of an app at a time on a Docker engine: a lock file per engine and app in the
 * user's runtime folder, holding the deploying process's pid. A second deploy finds it and stops before
 * touching the engine, naming the first; a lock whose process is gone (killed) is taken over.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DockerError, fsUsageError } from "../errors.js";
import { isRunning } from "../pid.js";

interface Holder {
  pid: number;
  since: string;
}

function lockDir(): string {
  const base = process.env.XDG_RUNTIME_DIR || tmpdir();
  return path.join(base, `vllmapp-${process.getuid?.() ?? "user"}`, "locks");
}

/** The lock file of `app` on the engine DOCKER_HOST names (or the default socket). */
export function lockFile(app: string): string {
  const engine = createHash("sha256")
    .update(process.env.DOCKER_HOST || "unix:///var/run/docker.sock")
    .digest("hex")
    .slice(0, 12);
  return path.join(lockDir(), `${engine}-${app}.lock`);
}

function readHolder(file: string): Holder | undefined {
  try {
    const h = JSON.parse(readFileSync(file, "utf8")) as Holder;
    return Number.isInteger(h.pid) ? h : undefined;
  } catch {
    return undefined;
  }
}

function take(app: string): string {
  const file = lockFile(app);
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        writeFileSync(file, JSON.stringify({ pid: process.pid, since: new Date().toISOString() } satisfies Holder), {
          flag: "wx",
          mode: 0o600,
        });
        return file;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const holder = readHolder(file);
      if (holder && isRunning(holder.pid)) {
        const ago = Math.max(0, Math.round((Date.now() - Date.parse(holder.since)) / 1000));
        throw new DockerError(
          `another vllmapp deploy --local of ${app} is running (pid ${holder.pid}, for ${ago} s); nothing was changed`,
          `wait until it is done (vllmapp status --local ${app}), or stop it (kill -INT ${holder.pid})`,
        );
      }
      // its process is gone (or it is being written this instant): a stale lock, taken over
      rmSync(file, { force: true });
    }
  } catch (e) {
    throw fsUsageError(
      "take the deploy lock",
      file,
      e,
      `check the folder ${path.dirname(file)} (set XDG_RUNTIME_DIR to use another)`,
    );
  }
  throw new DockerError(
    `could not take the deploy lock ${file}: other deploys of ${app} keep taking it`,
    "run one deploy at a time",
  );
}

/** Take the lock of every app (sorted); returns the release. */
export function lockLocalApps(apps: readonly string[]): () => void {
  const held: string[] = [];
  const release = () => {
    for (const file of held.splice(0)) {
      if (readHolder(file)?.pid === process.pid) rmSync(file, { force: true });
    }
  };
  try {
    for (const app of [...apps].sort()) held.push(take(app));
  } catch (e) {
    release();
    throw e;
  }
  return release;
}
