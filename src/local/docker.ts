/**
 * Talking to the Docker engine: the `docker` CLI through execa, always with an argv array (no shell).
 * Secret values travel only in the docker process's environment (`-e NAME` on its command line).
 */
import { execa, type ResultPromise } from "execa";
import { DockerError } from "../errors.js";

export const LABEL = "vllmapp.app";

export interface DockerResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** What to do when nothing answers on the engine's socket: name the socket and how to start an engine. */
function engineError(stderr: string): DockerError {
  const host = process.env.DOCKER_HOST;
  if (/permission denied/i.test(stderr)) {
    return new DockerError(
      `no permission to use the Docker engine${host ? ` at ${host}` : ""}`,
      "add yourself to the docker group (sudo usermod -aG docker $USER, then log in again), or run as root",
    );
  }
  return new DockerError(
    `cannot reach a Docker engine${host ? ` at DOCKER_HOST=${host}` : ""}: ${lastLine(stderr)}`,
    host
      ? `start the engine that should answer there, or unset DOCKER_HOST`
      : "start it: sudo systemctl start docker (or run dockerd)",
  );
}

const UNREACHABLE =
  /Cannot connect to the Docker daemon|error during connect|permission denied while trying to connect/i;

/** Run `docker ARGS`. Engine and installation problems throw DockerError; other failures are returned. */
export async function docker(args: readonly string[], env: Record<string, string> = {}): Promise<DockerResult> {
  const r = await execa("docker", args, { env, extendEnv: true, reject: false, stdin: "ignore" });
  if ((r as { code?: string }).code === "ENOENT") {
    throw new DockerError(
      "the docker command is not installed",
      "install Docker Engine (https://docs.docker.com/engine/install/), then start it: sudo systemctl start docker",
    );
  }
  if (r.exitCode !== 0 && UNREACHABLE.test(r.stderr)) throw engineError(r.stderr);
  return { exitCode: r.exitCode ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** Like docker(), but a non-zero exit is a DockerError with docker's own message. */
export async function dockerOk(args: readonly string[], env: Record<string, string> = {}): Promise<string> {
  const r = await docker(args, env);
  if (r.exitCode !== 0)
    throw new DockerError(`docker ${args[0]} failed: ${lastLine(r.stderr) || `exit code ${r.exitCode}`}`);
  return r.stdout;
}

/** A long-running docker process (logs, wait) whose output the caller reads as it comes. */
export function dockerStream(
  args: readonly string[],
): ResultPromise<{ all: true; buffer: false; reject: false; stdin: "ignore" }> {
  return execa("docker", args, { all: true, buffer: false, reject: false, stdin: "ignore" });
}

/** The last meaningful line of docker's output (not its "Run 'docker run --help'" footer). */
export function lastLine(text: string): string {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !/^(Run|See) 'docker .*--help'/.test(l));
  return lines.at(-1) ?? "";
}

/** The engine's runtimes (from `docker info`): they tell whether GPUs can be passed. Fails when no engine answers. */
export async function engineRuntimes(): Promise<string[]> {
  const r = await docker(["info", "--format", "{{json .Runtimes}}"]);
  if (r.exitCode !== 0) throw engineError(r.stderr);
  return Object.keys((JSON.parse(r.stdout) as Record<string, unknown> | null) ?? {});
}

/** The parts of `docker inspect` vllmapp reads. */
export interface ContainerInfo {
  Id: string;
  Name: string;
  Created: string;
  /** the entrypoint and its arguments (`vllm` and `serve MODEL …`) */
  Path?: string;
  Args?: string[];
  State: {
    Status: string;
    Running: boolean;
    ExitCode: number;
    OOMKilled: boolean;
    Error: string;
    StartedAt?: string;
    FinishedAt?: string;
  };
  Config: { Image: string; Env: string[] | null; Labels: Record<string, string> | null };
  HostConfig: { PortBindings: Record<string, { HostIp: string; HostPort: string }[] | null> | null };
}

/** Containers that carry the label (`vllmapp.app` for all apps, `vllmapp.app=NAME` for one). */
export async function findContainers(label: string): Promise<ContainerInfo[]> {
  const ids = (await dockerOk(["ps", "-a", "--no-trunc", "--filter", `label=${label}`, "--format", "{{.ID}}"]))
    .split("\n")
    .filter(Boolean);
  if (!ids.length) return [];
  const all = JSON.parse(await dockerOk(["inspect", "--type", "container", ...ids])) as ContainerInfo[];
  return all.sort((a, b) => a.Name.localeCompare(b.Name));
}

export function nameOf(c: ContainerInfo): string {
  return c.Name.replace(/^\//, "");
}

export function labelOf(c: ContainerInfo, key: string): string | undefined {
  return c.Config.Labels?.[key];
}

/** The host port and address the container publishes (the first binding). */
export function publishedOf(c: ContainerInfo): { host: string; port: number } | undefined {
  for (const list of Object.values(c.HostConfig.PortBindings ?? {})) {
    const b = list?.[0];
    if (b?.HostPort) return { host: b.HostIp || "127.0.0.1", port: Number(b.HostPort) };
  }
  return undefined;
}

/** The API key the container was started with (stored only in its environment). */
export function apiKeyOf(c: ContainerInfo): string | undefined {
  const entry = c.Config.Env?.find((e) => e.startsWith("VLLM_API_KEY="));
  return entry?.slice("VLLM_API_KEY=".length);
}

/** The last lines of a container's log, both streams. */
export async function logTail(container: string, lines = 20): Promise<string[]> {
  const r = await execa("docker", ["logs", "--tail", String(lines), container], {
    all: true,
    reject: false,
    stdin: "ignore",
  });
  return (r.all ?? "").split("\n").filter((l) => l.trim() !== "");
}
