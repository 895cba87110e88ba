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
  COPIED_TOKENIZER,
  describeLevel,
  planLevels,
  TOKENIZER_FILES,
  WRAPPER,
  wrapperConfig,
  type BenchEndpoint,
} from "../bench/bench.js";
import { AppFailedError, DockerError, InterruptedError, ReadinessTimeoutError, UsageError } from "../errors.js";
import { listenForInterrupt, stopListeningForInterrupt } from "../interrupt.js";
import { parseModelPath } from "../models/source.js";
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

export async function benchLocal(ref: AppRef, req: BenchRequest, ui: Ui): Promise<BenchResult> {
  const { c, port } = await readyContainer(ref.name);
  const server = nameOf(c);
  const env = await appEnv(c);
  const apiKey = env.get("VLLM_API_KEY");
  env.delete("VLLM_API_KEY");
  const args = c.Args ?? [];
  const modelArg = args[0] === "serve" && args[1] ? args[1] : (labelOf(c, "vllmapp.model-uri") ?? "");
  const model = req.model ?? labelOf(c, "vllmapp.model-id") ?? modelArg;
  const baseUrl = `http://127.0.0.1:${port}`;
  const levels = planLevels(req);
  const tmp = mkdtempSync(path.join(tmpdir(), "vllmapp-bench-"));
  const extraMounts: string[] = [];
  let tokenizer = modelArg;
  const source = parseModelPath(modelArg, { backend: "kubernetes" });
  // anything but a path or an object-store URI is a Hugging Face repo id
  const fromHub = !("kind" in source);
  const secretNames = [...env.keys()].filter((k) => /^(AWS_|GOOGLE_|AZURE_|HF_|HUGGING_FACE_)/.test(k));
  const childEnv: Record<string, string> = Object.fromEntries([...env].filter(([k]) => secretNames.includes(k)));
  try {
    if ("kind" in source && (source.kind === "s3" || source.kind === "gs" || source.kind === "az")) {
      // the server streams its weights; its tokenizer files come down first, alone
      const copy = [
        "run",
        "--rm",
        "--network",
        "host",
        ...secretNames.flatMap((n) => ["-e", n]),
        ...(source.kind === "s3" && env.has("AWS_ENDPOINT_URL") ? ["-e", "RCLONE_S3_ENDPOINT"] : []),
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
      const spin = await ui.spinner(`${ref.name}: copying the tokenizer files of ${source.uri}`);
      const r = await docker(copy, {
        ...childEnv,
        ...(env.has("AWS_ENDPOINT_URL") ? { RCLONE_S3_ENDPOINT: env.get("AWS_ENDPOINT_URL")! } : {}),
      });
      if (r.exitCode !== 0) {
        spin.stop();
        throw new DockerError(`cannot copy the tokenizer of ${source.uri} for the benchmark: ${lastLine(r.stderr)}`);
      }
      spin.succeed(`${ref.name}: tokenizer files of ${source.uri} copied`);
      extraMounts.push("-v", `${tmp}:${COPIED_TOKENIZER}:ro`);
      tokenizer = COPIED_TOKENIZER;
    }
    const ep: BenchEndpoint = { baseUrl, model, tokenizer };
    const container = `vllmapp-bench-${ref.name}-${Date.now().toString(36)}`.slice(0, 128);
    const envNames = [...env.keys()];
    const argv = [
      "run",
      "--rm",
      "--name",
      container,
      "--label",
      `vllmapp.bench=${ref.name}`,
      "--network",
      "host",
      "--volumes-from",
      `${c.Id}:ro`,
      ...extraMounts,
      ...envNames.flatMap((n) => ["-e", n]),
      "-e",
      "OPENAI_API_KEY",
      "-e",
      "PYTHONUNBUFFERED=1",
      // the server already fetched a Hugging Face model into the shared cache
      ...(fromHub ? ["-e", "HF_HUB_OFFLINE=1"] : []),
      "--entrypoint",
      "python3",
      c.Config.Image,
      "-c",
      WRAPPER,
      wrapperConfig(ep, req, levels, [`${baseUrl}/metrics`]),
    ];
    const out = new BenchOutput(levels, req);
    const spin = await ui.spinner(
      `bench ${ref.name}: ${levels.map(describeLevel).join(", ")} against ${baseUrl} (vllm bench serve in ${container})`,
    );
    const p = execa("docker", argv, {
      env: { ...Object.fromEntries(env), OPENAI_API_KEY: apiKey ?? "" },
      extendEnv: true,
      buffer: false,
      reject: false,
      stdin: "ignore",
    });
    let lastKey = "";
    const onLine = (line: string) => {
      const what = out.feed(line);
      if (!what) return;
      // without a terminal, a line per level rather than per request
      const key = ui.interactive ? out.describe() : `${out.current?.index}`;
      if (key !== lastKey) spin.update(`bench ${ref.name}: ${out.describe()}`);
      lastKey = key;
    };
    let stopped: "timeout" | "interrupted" | undefined;
    const stop = (why: "timeout" | "interrupted") => {
      stopped ??= why;
      void docker(["rm", "-f", container]);
    };
    const timer = setTimeout(() => stop("timeout"), req.timeoutSeconds * 1000);
    const onInterrupt = () => stop("interrupted");
    listenForInterrupt(onInterrupt);
    try {
      await Promise.all([eachLine(p.stdout, onLine), eachLine(p.stderr, onLine)]);
      const r = await p;
      spin.stop();
      if (stopped === "interrupted")
        throw new InterruptedError(`interrupted: the benchmark of ${ref.name} was stopped (its container removed)`);
      if (stopped === "timeout")
        throw new ReadinessTimeoutError(
          `the benchmark of ${ref.name} did not finish within ${formatDuration(req.timeoutSeconds)} (at ${out.describe()})`,
          "fewer prompts (--num-prompts) or levels, or a longer --timeout",
        );
      if ((r as { code?: string }).code === "ENOENT") throw new DockerError("the docker command is not installed");
      if (r.exitCode !== 0 || !out.ended) {
        const tail = out.tail.length ? `\n  last output lines:\n${out.tail.map((l) => `    ${l}`).join("\n")}` : "";
        throw new AppFailedError(
          `the benchmark of ${ref.name} failed${out.failed ? ` at ${levels[out.failed.index] ? describeLevel(levels[out.failed.index]!) : "a level"}` : ""} (vllm bench serve exited with code ${out.failed?.exitCode ?? r.exitCode})${tail}`,
          `the server's side: vllmapp logs --local ${ref.name}`,
        );
      }
      for (const w of out.warnings) ui.warn(w);
      ui.success(`bench ${ref.name}: ${out.levels.length} level${out.levels.length === 1 ? "" : "s"} done`);
    } finally {
      clearTimeout(timer);
      stopListeningForInterrupt(onInterrupt);
    }
    return {
      app: ref.name,
      namespace: null,
      target: "docker",
      endpoint: baseUrl,
      model,
      image: c.Config.Image,
      tool: { name: "vllm bench serve", ranIn: `container ${container} (next to ${server})` },
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
