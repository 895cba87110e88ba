/**
 * The flags commands share, and their parsing: each command parses its raw commander options with its
 * own zod schema first thing (built from the pieces here), into typed, converted values; a flag that is
 * malformed, or two that conflict, is a usage error (exit 2) before any IO. Light: loaded by `--help`.
 */
import { Option, type Command } from "commander";
import { z } from "zod";
import { parseDuration } from "../config/units.js";
import { UsageError } from "../errors.js";
import type { TargetKind } from "../render/types.js";
import { Ui } from "../ui/output.js";

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export interface OptionGroups {
  /** -f, --app */
  file?: boolean;
  /** --param, --templates: what changes the render */
  render?: boolean;
  target?: boolean;
  /** --context, --namespace, --kubeconfig */
  cluster?: boolean;
}

/** Add the flags SPEC §1 lists as common to commands that touch a target. */
export function addCommonOptions(cmd: Command, { file = true, render = true, target = true, cluster = true }: OptionGroups = {}): Command {
  if (file) cmd.option("-f, --file <path>", "the app file", "vllm-app.yaml").option("--app <name>", "pick one app of a multi-app file");
  if (target) {
    cmd.addOption(new Option("--target <target>", "where the app runs (default: kubernetes)").choices(["kubernetes", "docker"]));
    cmd.option("--local", "run with Docker on this machine (= --target docker)");
  }
  if (cluster) {
    cmd
      .option("--context <name>", "kubeconfig context")
      .option("-n, --namespace <ns>", "namespace (default: the context's, else the file's namespace)")
      .option("--kubeconfig <path>", "kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)");
  }
  if (file && render) {
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

/** A usage problem found while parsing flags: the message and, where one helps, the fix. */
function usage(ctx: z.RefinementCtx, message: string, hint?: string): typeof z.NEVER {
  ctx.addIssue({ code: "custom", message, params: { hint } });
  return z.NEVER;
}

/** `--timeout`, `--since`: a vllmapp duration (90s, 10m, 1h30m), converted to seconds. */
export function durationFlag(flag: string, examples: string) {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      const s = parseDuration(v);
      return s === undefined ? usage(ctx, `${flag} ${v}: not a duration`, `write e.g. ${examples}`) : s;
    });
}

/** `--param name=value` (repeatable), converted to a map. */
export const paramsFlag = z
  .array(z.string())
  .default([])
  .transform((list, ctx) => {
    const m = new Map<string, string>();
    for (const p of list) {
      const eq = p.indexOf("=");
      if (eq <= 0) return usage(ctx, `--param ${p}: write --param name=value`);
      m.set(p.slice(0, eq), p.slice(eq + 1));
    }
    return m;
  });

/** `--tail N`: a whole number. */
export const countFlag = (flag: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => (v === undefined ? undefined : /^\d+$/.test(v) ? Number(v) : usage(ctx, `${flag} ${v}: expected a whole number`)));

/** The output flags every command has. */
export const outputShape = {
  output: z.enum(["yaml", "json", "text"]).optional(),
  json: z.boolean().optional(),
  quiet: z.boolean().optional(),
  color: z.boolean().optional(),
  debug: z.boolean().optional(),
};

export const connectionShape = {
  context: z.string().optional(),
  namespace: z.string().optional(),
  kubeconfig: z.string().optional(),
};

export const fileShape = {
  file: z.string().default("vllm-app.yaml"),
  app: z.string().optional(),
};

export const targetShape = {
  target: z.enum(["kubernetes", "docker"]).optional(),
  local: z.boolean().optional(),
};

/** The parsed output flags: `--json` and `-o json` are one thing. */
export interface OutputOptions {
  output?: "yaml" | "json" | "text";
  json: boolean;
  quiet?: boolean;
  color?: boolean;
  debug?: boolean;
}

export function outputOf(o: { output?: "yaml" | "json" | "text"; json?: boolean; quiet?: boolean; color?: boolean; debug?: boolean }): OutputOptions {
  const output = o.json ? "json" : o.output;
  return { output, json: Boolean(o.json) || output === "json", quiet: o.quiet, color: o.color, debug: o.debug };
}

/** `--target` and `--local`: one target; `--local --target kubernetes` is a contradiction. */
export function targetOf(o: { target?: TargetKind; local?: boolean }): TargetKind {
  if (o.local && o.target === "kubernetes") throw new UsageError("--local and --target kubernetes contradict each other", "--local means --target docker; pass one of them");
  return o.local ? "docker" : (o.target ?? "kubernetes");
}

/** Parse raw commander options with a command's schema; every problem becomes one usage error (exit 2). */
export function parseOptions<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issues = r.error.issues;
  const first = issues[0]!;
  const hint = (first as { params?: { hint?: string } }).params?.hint;
  const message = issues.map((i) => (i.code === "custom" ? i.message : `--${String(i.path[0] ?? "")}: ${i.message}`)).join("; ");
  throw new UsageError(message, hint);
}

export function uiFor(opts: { quiet?: boolean; json?: boolean; color?: boolean; debug?: boolean }): Ui {
  return new Ui({ quiet: opts.quiet, json: opts.json, color: opts.color, debug: opts.debug });
}
