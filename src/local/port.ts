/** Is a host port free on 127.0.0.1, and if not, who holds it (a container, or a process by pid)? */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { dockerOk } from "./docker.js";

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Running containers that publish the host port, by name. */
async function containersPublishing(port: number): Promise<string[]> {
  const rows = (await dockerOk(["ps", "--format", "{{.Names}}\t{{.Ports}}"])).split("\n").filter(Boolean);
  const re = new RegExp(`:${port}->`);
  return rows.filter((r) => re.test(r.split("\t")[1] ?? "")).map((r) => r.split("\t")[0]!);
}

/** Socket inodes listening on the port, from /proc/net/tcp{,6} (Linux). */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      const local = f[1];
      if (f[3] === "0A" && local && parseInt(local.split(":").at(-1)!, 16) === port) inodes.add(f[9]!);
    }
  }
  return inodes;
}

/** "process 1234 (python3)" for each process that has one of the sockets open, as far as we may look. */
function processesHolding(inodes: Set<string>): string[] {
  const found: string[] = [];
  if (!inodes.size) return found;
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return found;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    const holds = fds.some((fd) => {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        return m !== null && inodes.has(m[1]!);
      } catch {
        return false;
      }
    });
    if (holds) {
      const name = processName(pid);
      found.push(`process ${pid}${name ? ` (${name})` : ""}`);
    }
  }
  return found;
}

/**
 * The program a process runs: its executable's name, which a user recognises ("node", "python3.12"); the
 * thread name in /proc/PID/comm is the fallback, as Node.js 24 names its main thread "MainThread" there.
 */
function processName(pid: string): string {
  try {
    return path.basename(readlinkSync(`/proc/${pid}/exe`));
  } catch {
    try {
      return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    } catch {
      return ""; // gone meanwhile
    }
  }
}

/** undefined when the port is free on 127.0.0.1; otherwise who holds it, in words. */
export async function portHolder(port: number): Promise<string | undefined> {
  const containers = await containersPublishing(port);
  if (containers.length) return `container ${containers.join(", ")}`;
  if (await canBind(port)) return undefined;
  const procs = processesHolding(listeningInodes(port));
  return procs.length ? procs.join(", ") : "another process";
}
