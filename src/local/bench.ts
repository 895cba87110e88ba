/**
 * bench --local: `vllm bench serve` (src/bench/bench.ts's wrapper) in a container of the app's own image,
 * on the host network against the published 127.0.0.1 port, with the server container's volumes
 * (read-only: the model folder or the Hugging Face cache, for the tokenizer) and its environment
 * (values through the docker process's environment, never on a command line). A model streamed from an
 * object store gets its tokenizer files copied first (rclone, as the download step does).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import {
  BenchOutput,
  countersFor,
  COPIED_TOKENIZER,
  describeLevel,
  feedWithProgress,
  planLevels,
  TOKENIZER_FILES,
  WRAPPER,
  wrapperConfig,
  type Level,
} from "../bench/bench.js";
import { AppFailedError, DockerError, InterruptedError, ReadinessTimeoutError, UsageError } from "../errors.js";
import { listenForInterrupt, stopListeningForInterrupt } from "../interrupt.js";
import { parseModelPath, type ModelSource } from "../models/source.js";
import { rcloneSource } from "../render/model-copy.js";
import { describeCurrent } from "../startup/phases.js";
import type { AppRef, BenchRequest, BenchResult } from "../target.js";
import { formatDuration } from "../config/units.js";
import type { Ui } from "../ui/output.js";
import { docker, findContainers, LABEL, labelOf, lastLine, nameOf, publishedOf, type ContainerInfo } from "./docker.js";
import { readStartup } from "./startup.js";
import { isHealthy } from "./wait.js";

const RCLONE_IMAGE = "rclone/rclone:1.71.1";

/** The server must be there and answer /health; else a one-line error with where it stands. */
async function readyContainer(name: string): Promise<{ c: ContainerInfo; port: number }> {
  const [c] = await findContainers(`${LABEL}=${name}`);
  if (!c)
    throw new UsageError(
      `app ${name} is not deployed: no container of it on this Docker engine`,
      `deploy it first: vllmapp deploy --local (vllmapp list --local shows what runs)`,
    );
  const published = publishedOf(c);
  if (!c.State.Running) {
    throw new AppFailedError(
      `app ${name} is not ready: its container ${nameOf(c)} is ${c.State.Status}${c.State.Status === "exited" ? ` (exit code ${c.State.ExitCode})` : ""}`,
      `see why: vllmapp logs --local ${name}; then deploy it again`,
    );
  }
  if (!published || !(await isHealthy(published.port))) {
    const startup = await readStartup(c);
    throw new AppFailedError(
      `app ${name} is not ready: ${startup && startup.phase !== "ready" ? describeCurrent(startup) : "/health does not answer 200"}`,
      `wait until it is: vllmapp status --local ${name}`,
    );
  }
  return { c, port: published.port };
}

/** The environment the app gave its server (the image's own is left to the image), by name → value. */
async function appEnv(c: ContainerInfo): Promise<Map<string, string>> {
  const imageEnv = new Set(
    (JSON.parse(
      (await docker(["image", "inspect", "--format", "{{json .Config.Env}}", c.Config.Image])).stdout || "[]",
    ) as string[] | null) ?? [],
  );
  const env = new Map<string, string>();
  for (const e of c.Config.Env ?? []) {
    if (imageEnv.has(e)) continue;
    const eq = e.indexOf("=");
    if (eq > 0) env.set(e.slice(0, eq), e.slice(eq + 1));
  }
  return env;
}

/** Split on \n and \r (tqdm redraws its bar with \r) and hand every piece to `onLine`. */
async function eachLine(stream: NodeJS.ReadableStream | null, onLine: (l: string) => void): Promise<void> {
  if (!stream) return;
  let rest = "";
  for await (const chunk of stream) {
    const text = rest + String(chunk);
    const parts = text.split(/\r\n|\n|\r/);
    rest = parts.pop() ?? "";
    for (const p of parts) if (p) onLine(p);
  }
  if (rest) onLine(rest);
}

/** A model streamed from an object store: its tokenizer files are copied for the benchmark. */
type ObjectStoreSource = Extract<ModelSource, { kind: "s3" | "gs" | "az" }>;

/**
 * The tokenizer files of a model streamed from an object store, copied into `tmp` (rclone, with the
 * server's credentials by name), and the mount that hands them to the benchmark, read-only.
 */
async function copyTokenizer(
  app: string,
  source: ObjectStoreSource,
  env: ReadonlyMap<string, string>,
  tmp: string,
  ui: Ui,
): Promise<{ tokenizer: string; mounts: string[] }> {
  const secretNames = [...env.keys()].filter((k) => /^(AWS_|GOOGLE_|AZURE_|HF_|HUGGING_FACE_)/.test(k));
  const childEnv: Record<string, string> = Object.fromEntries([...env].filter(([k]) => secretNames.includes(k)));
  const endpoint = source.kind === "s3" ? env.get("AWS_ENDPOINT_URL") : undefined;
  const copy = [
    "run",
    "--rm",
    "--network",
    "host",
    ...secretNames.flatMap((n) => ["-e", n]),
    ...(endpoint !== undefined ? ["-e", "RCLONE_S3_ENDPOINT"] : []),
    "-v",
    `${tmp}:/data`,
    RCLONE_IMAGE,
    "copy",
    ...rcloneSource(source),
    "/data",
    ...TOKENIZER_FILES,
    "--max-depth",
    "1",
  ];
  const spin = await ui.spinner(`${app}: copying the tokenizer files of ${source.uri}`);
  const r = await docker(copy, {
    ...childEnv,
    ...(env.has("AWS_ENDPOINT_URL") ? { RCLONE_S3_ENDPOINT: env.get("AWS_ENDPOINT_URL")! } : {}),
  });
  if (r.exitCode !== 0) {
    spin.stop();
    throw new DockerError(`cannot copy the tokenizer of ${source.uri} for the benchmark: ${lastLine(r.stderr)}`);
  }
  spin.succeed(`${app}: tokenizer files of ${source.uri} copied`);
  return { tokenizer: COPIED_TOKENIZER, mounts: ["-v", `${tmp}:${COPIED_TOKENIZER}:ro`] };
}

/** What the benchmark container is made of. */
export interface BenchContainer {
  app: string;
  /** its name */
  name: string;
  /** the server container's id, whose volumes it mounts read-only */
  serverId: string;
  image: string;
  /** more `-v` options (the copied tokenizer) */
  mounts: readonly string[];
  /** the environment it gets, by name only (the values pass through docker's own environment) */
  envNames: readonly string[];
  /** a Hugging Face model: the server fetched it into the shared cache already */
  fromHub: boolean;
  /** the wrapper's CONFIG */
  config: string;
}

/** The `docker run` of the benchmark: on the host network next to the server, with its volumes. Pure. */
export function benchRunArgv(b: BenchContainer): string[] {
  return [
    "run",
    "--rm",
    "--name",
    b.name,
    "--label",
    `vllmapp.bench=${b.app}`,
    "--network",
    "host",
    "--volumes-from",
    `${b.serverId}:ro`,
    ...b.mounts,
    ...b.envNames.flatMap((n) => ["-e", n]),
    "-e",
    "OPENAI_API_KEY",
    "-e",
    "PYTHONUNBUFFERED=1",
    ...(b.fromHub ? ["-e", "HF_HUB_OFFLINE=1"] : []),
    "--entrypoint",
    "python3",
    b.image,
    "-c",
    WRAPPER,
    b.config,
  ];
}

/** How a benchmark container's run ended. */
export interface BenchRun {
  exitCode: number | undefined;
  /** no docker command */
  notInstalled: boolean;
  /** removed on the deadline or by Ctrl-C */
  stopped: "timeout" | "interrupted" | undefined;
}

/**
 * Runs the benchmark container, every line of its output (both streams) to `onLine` as it comes; on the
 * deadline or Ctrl-C the container is removed.
 */
async function runBench(
  argv: readonly string[],
  container: string,
  env: Record<string, string>,
  timeoutSeconds: number,
  onLine: (line: string) => void,
): Promise<BenchRun> {
  const p = execa("docker", argv, { env, extendEnv: true, buffer: false, reject: false, stdin: "ignore" });
  let stopped: BenchRun["stopped"];
  const stop = (why: NonNullable<BenchRun["stopped"]>) => {
    stopped ??= why;
    void docker(["rm", "-f", container]);
  };
  const timer = setTimeout(() => stop("timeout"), timeoutSeconds * 1000);
  const onInterrupt = () => stop("interrupted");
  listenForInterrupt(onInterrupt);
  try {
    await Promise.all([eachLine(p.stdout, onLine), eachLine(p.stderr, onLine)]);
    const r = await p;
    return { exitCode: r.exitCode, notInstalled: (r as { code?: string }).code === "ENOENT", stopped };
  } finally {
    clearTimeout(timer);
    stopListeningForInterrupt(onInterrupt);
  }
}

/**
 * A run that did not end well, as the error to throw: stopped by Ctrl-C, out of time, no docker, or
 * failed (at which level, the exit code, the last lines); undefined when it ended well. Pure.
 */
export function localBenchFailure(
  app: string,
  levels: readonly Level[],
  out: BenchOutput,
  run: BenchRun,
  timeoutSeconds: number,
): Error | undefined {
  if (run.stopped === "interrupted")
    return new InterruptedError(`interrupted: the benchmark of ${app} was stopped (its container removed)`);
  if (run.stopped === "timeout")
    return new ReadinessTimeoutError(
      `the benchmark of ${app} did not finish within ${formatDuration(timeoutSeconds)} (at ${out.describe()})`,
      "fewer prompts (--num-prompts) or levels, or a longer --timeout",
    );
  if (run.notInstalled) return new DockerError("the docker command is not installed");
  if (run.exitCode === 0 && out.ended) return undefined;
  const tail = out.tail.length ? `\n  last output lines:\n${out.tail.map((l) => `    ${l}`).join("\n")}` : "";
  const failed = out.failed && levels[out.failed.index];
  const at = out.failed ? ` at ${failed ? describeLevel(failed) : "a level"}` : "";
  return new AppFailedError(
    `the benchmark of ${app} failed${at} (vllm bench serve exited with code ${out.failed?.exitCode ?? run.exitCode})${tail}`,
    `the server's side: vllmapp logs --local ${app}`,
  );
}

export async function benchLocal(ref: AppRef, req: BenchRequest, ui: Ui): Promise<BenchResult> {
  const { c, port } = await readyContainer(ref.name);
  const env = await appEnv(c);
  const apiKey = env.get("VLLM_API_KEY");
  env.delete("VLLM_API_KEY");
  const args = c.Args ?? [];
  const modelArg = args[0] === "serve" && args[1] ? args[1] : (labelOf(c, "vllmapp.model-uri") ?? "");
  const model = req.model ?? labelOf(c, "vllmapp.model-id") ?? modelArg;
  const baseUrl = `http://127.0.0.1:${port}`;
  const levels = planLevels(req);
  const counters = countersFor(c.Config.Image);
  const tmp = mkdtempSync(path.join(tmpdir(), "vllmapp-bench-"));
  const source = parseModelPath(modelArg, { backend: "kubernetes" });
  try {
    // the server streams weights from an object store: its tokenizer files come down first, alone
    const streamed = "kind" in source && (source.kind === "s3" || source.kind === "gs" || source.kind === "az");
    const { tokenizer, mounts } = streamed
      ? await copyTokenizer(ref.name, source, env, tmp, ui)
      : { tokenizer: modelArg, mounts: [] };
    const container = `vllmapp-bench-${ref.name}-${Date.now().toString(36)}`.slice(0, 128);
    const argv = benchRunArgv({
      app: ref.name,
      name: container,
      serverId: c.Id,
      image: c.Config.Image,
      mounts,
      envNames: [...env.keys()],
      // anything but a path or an object-store URI is a Hugging Face repo id
      fromHub: !("kind" in source),
      config: wrapperConfig({ baseUrl, model, tokenizer }, req, levels, [`${baseUrl}/metrics`], counters),
    });
    const out = new BenchOutput(levels, req, counters);
    const spin = await ui.spinner(
      `bench ${ref.name}: ${levels.map(describeLevel).join(", ")} against ${baseUrl} (vllm bench serve in ${container})`,
    );
    const feed = feedWithProgress(out, ui.interactive, (p) => spin.update(`bench ${ref.name}: ${p}`));
    const childEnv = { ...Object.fromEntries(env), OPENAI_API_KEY: apiKey ?? "" };
    const run = await runBench(argv, container, childEnv, req.timeoutSeconds, feed);
    spin.stop();
    const failure = localBenchFailure(ref.name, levels, out, run, req.timeoutSeconds);
    if (failure) throw failure;
    for (const w of out.warnings) ui.warn(w);
    ui.success(`bench ${ref.name}: ${out.levels.length} level${out.levels.length === 1 ? "" : "s"} done`);
    return {
      app: ref.name,
      namespace: null,
      target: "docker",
      endpoint: baseUrl,
      model,
      image: c.Config.Image,
      tool: { name: "vllm bench serve", ranIn: `container ${container} (next to ${nameOf(c)})` },
      workload: {
        dataset: "random",
        inputLen: req.inputLen,
        outputLen: req.outputLen,
        seed: req.seed,
        percentiles: req.percentiles,
        slo: req.slo,
      },
      levels: out.levels,
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
