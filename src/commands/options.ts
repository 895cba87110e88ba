/** The flags every command shares, and their parsing. Light: loaded by `--help`. */
import { Option, type Command } from "commander";
import type { Target } from "../render/app.js";
import { Ui } from "../ui/output.js";

export interface CommonOptions {
  file: string;
  app?: string;
  target: Target;
  namespace?: string;
  context?: string;
  kubeconfig?: string;
  param: string[];
  output?: "yaml" | "json" | "text";
  json?: boolean;
  quiet?: boolean;
  color?: boolean;
  debug?: boolean;
  templates?: string;
  offline?: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Add the flags SPEC §1 lists as common to commands that touch a target. */
export function addCommonOptions(cmd: Command, { file = true, target = true, cluster = true } = {}): Command {
  if (file) cmd.option("-f, --file <path>", "the app file", "vllm-app.yaml").option("--app <name>", "pick one app of a multi-app file");
  if (target) {
    cmd.addOption(new Option("--target <target>", "where the app runs").choices(["kubernetes", "docker"]).default("kubernetes"));
    cmd.option("--local", "run with Docker on this machine (= --target docker)");
  }
  if (cluster) {
    cmd
      .option("--context <name>", "kubeconfig context")
      .option("-n, --namespace <ns>", "namespace (default: the context's, else the file's namespace)")
      .option("--kubeconfig <path>", "kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)");
  }
  if (file) {
    cmd
      .option("--param <name=value>", "override a parameter (repeatable)", collect, [])
      .option("--templates <dir>", "use a copy of vllmapp's templates folder");
  }
  cmd
    .addOption(new Option("-o, --output <format>", "output format").choices(["yaml", "json", "text"]))
    .option("--json", "one JSON document on stdout (NDJSON for logs)")
    .option("--quiet", "only errors on stderr")
    .option("--no-color", "no colors (also NO_COLOR)")
    .option("--debug", "show debug output and stack traces");
  return cmd;
}

/** Normalise raw commander options. */
export function commonOptions(raw: Record<string, unknown>): CommonOptions {
  const target = raw.local ? "docker" : ((raw.target as Target | undefined) ?? "kubernetes");
  const output = raw.json ? "json" : (raw.output as CommonOptions["output"]);
  return {
    ...(raw as object),
    file: (raw.file as string | undefined) ?? "vllm-app.yaml",
    target,
    param: (raw.param as string[] | undefined) ?? [],
    output,
    json: Boolean(raw.json) || output === "json",
  } as CommonOptions;
}

export function uiFor(opts: Pick<CommonOptions, "quiet" | "json" | "color" | "debug">): Ui {
  return new Ui({ quiet: opts.quiet, json: opts.json, color: opts.color, debug: opts.debug });
}

