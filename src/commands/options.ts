/**
 * The flags commands share, and their parsing: each command parses its raw commander options with its
 * own zod schema first thing (built from the pieces here), into typed, converted values; a flag that is
 * malformed, or two that conflict, is a usage error (exit 2) before any IO. Light: loaded by `--help`.
 */
import { Option, type Command } from "commander";
import * as z from "zod/mini";
import { STDIN_FILE } from "../app/stdin.js";
import { parseDuration } from "../config/units.js";
import { UsageError } from "../errors.js";
import type { TargetKind } from "../render/types.js";
import { Ui } from "../ui/output.js";

/** A repeatable flag's values; no commander default, so help shows none (the schemas default to []). */
function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export interface OptionGroups {
  /** -f, --app */
  file?: boolean;
  /** the file flag's short form: `-f` (as kubectl), except for `logs`, where `-f` follows (as `kubectl logs -f`) */
  fileShort?: boolean;
  /** --param, --templates: what changes the render */
  render?: boolean;
  target?: boolean;
  /** --context, --namespace, --kubeconfig */
  cluster?: boolean;
}

/** Add the flags common to the commands that touch a target (README "Commands"). */
export function addCommonOptions(
  cmd: Command,
  { file = true, fileShort = true, render = true, target = true, cluster = true }: OptionGroups = {},
): Command {
  if (file) {
    cmd
      .option(
        `${fileShort ? "-f, " : ""}--file <path>`,
        "the app file; - reads it from stdin (default: vllm-app.yaml)",
        collect,
      )
      .option("--app <name>", "pick one app of a multi-app file");
  }
  if (target) {
    cmd.addOption(
      new Option("--target <target>", "where the app runs (default: kubernetes)").choices(["kubernetes", "docker"]),
    );
    cmd.option("--local", "run with Docker on this machine (= --target docker)");
  }
  if (cluster) {
    cmd
      .option("--context <name>", "kubeconfig context")
      .option(
        "-n, --namespace <ns>",
        "namespace (wins over the file's namespace:; default: the file's, else the context's)",
      )
      .option("--kubeconfig <path>", "kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)");
  }
  if (file && render) {
    cmd
      .option("--param <name=value>", "override a parameter (repeatable)", collect)
      .option(
        "--set <path=value>",
        "override a field of the file for this run, e.g. --set resources.gpu=H100:2 (repeatable)",
        collect,
      )
      .option("--templates <dir>", "use a copy of vllmapp's templates folder");
  }
  cmd
    .addOption(new Option("-o, --output <format>", "output format").choices(["yaml", "json", "text"]))
    .option("--json", "one JSON document on stdout (NDJSON for logs)")
    .option("--quiet", "only errors on stderr (no progress, notes or warnings)")
    .option("--no-color", "no colors (also NO_COLOR)")
    .option("--debug", "show debug output and stack traces");
  return cmd;
}

/** A usage problem found while parsing flags: the message and, where one helps, the fix. */
export function usage(ctx: z.core.ParsePayload, message: string, hint?: string): typeof z.NEVER {
  ctx.issues.push({ code: "custom", message, input: ctx.value, params: { hint } });
  return z.NEVER;
}

/** A flag's raw value, or a command's raw options, converted (or refused with `usage`). */
export const converted = <I extends z.ZodMiniType, O>(
  raw: I,
  convert: (v: z.output<I>, ctx: z.core.ParsePayload) => O,
) => z.pipe(raw, z.transform(convert));

/** `--timeout`, `--since`: a vllmapp duration (90s, 10m, 1h30m), converted to seconds. */
export function durationFlag(flag: string, examples: string) {
  return converted(z.optional(z.string()), (v, ctx) => {
    if (v === undefined) return undefined;
    const s = parseDuration(v);
    return s === undefined ? usage(ctx, `${flag} ${v}: not a duration`, `write e.g. ${examples}`) : s;
  });
}

/** `--param name=value` (repeatable), converted to a map. */
export const paramsFlag = converted(z._default(z.array(z.string()), []), (list, ctx) => {
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
  converted(z.optional(z.string()), (v, ctx) =>
    v === undefined
      ? undefined
      : /^\d+$/.test(v)
        ? Number(v)
        : usage(ctx, `${flag} ${v}: expected a whole number`, `e.g. ${flag} 100`),
  );

/** The output flags every command has. */
export const outputShape = {
  output: z.optional(z.enum(["yaml", "json", "text"])),
  json: z.optional(z.boolean()),
  quiet: z.optional(z.boolean()),
  color: z.optional(z.boolean()),
  debug: z.optional(z.boolean()),
};

/** `-n`: a namespace name, checked before anything contacts the cluster. */
const namespaceFlag = converted(z.optional(z.string()), (v, ctx) =>
  v === undefined || (v.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v))
    ? v
    : usage(
        ctx,
        `--namespace ${JSON.stringify(v)}: not a namespace name`,
        "a namespace is a DNS-1123 label: lowercase letters, digits and '-', at most 63 characters, starting and ending with a letter or digit",
      ),
);

export const connectionShape = {
  context: z.optional(z.string()),
  namespace: namespaceFlag,
  kubeconfig: z.optional(z.string()),
};

/** `-f FILE` (once; `-` is stdin), converted to the one path the plan reads. */
const fileFlag = converted(z._default(z.union([z.string(), z.array(z.string())]), []), (v, ctx) => {
  const list = typeof v === "string" ? [v] : v;
  if (list.length > 1) {
    return usage(
      ctx,
      `--file is given ${list.length} times (${list.join(", ")}); vllmapp reads one file`,
      "put several apps in one file, separated by ---, or point depends_on at the other file (depends_on: [./other.yaml])",
    );
  }
  const f = list[0] ?? "vllm-app.yaml";
  return f === "-" ? STDIN_FILE : f;
});

export const fileShape = {
  file: fileFlag,
  app: z.optional(z.string()),
};

/** `--set path=value` (repeatable): overrides of fields of the file, for this run. */
export const setFlag = converted(z._default(z.array(z.string()), []), (list, ctx) => {
  const out: { path: string; value: string }[] = [];
  for (const s of list) {
    const eq = s.indexOf("=");
    if (eq <= 0)
      return usage(
        ctx,
        `--set ${s}: write --set path=value`,
        "e.g. --set resources.gpu=H100:2 or --set extra_args[1]=8192",
      );
    out.push({ path: s.slice(0, eq), value: s.slice(eq + 1) });
  }
  return out;
});

export const targetShape = {
  target: z.optional(z.enum(["kubernetes", "docker"])),
  local: z.optional(z.boolean()),
};

/** The parsed output flags: `--json` and `-o json` are one thing. */
export interface OutputOptions {
  output?: "yaml" | "json" | "text";
  json: boolean;
  quiet?: boolean;
  color?: boolean;
  debug?: boolean;
}

/**
 * The output flags, checked: `--json` and `-o` must agree, `--quiet` and `--debug` contradict each
 * other, and a command prints only the formats in `formats` (status has no YAML form).
 */
export function outputOf(
  o: { output?: "yaml" | "json" | "text"; json?: boolean; quiet?: boolean; color?: boolean; debug?: boolean },
  formats: readonly ("yaml" | "json" | "text")[] = ["yaml", "json", "text"],
): OutputOptions {
  if (o.json && o.output !== undefined && o.output !== "json")
    throw new UsageError(`--json and -o ${o.output} contradict each other`, "--json is -o json; pass one of them");
  if (o.quiet && o.debug) throw new UsageError("--quiet and --debug contradict each other", "pass one of them");
  if (o.output !== undefined && !formats.includes(o.output))
    throw new UsageError(
      `-o ${o.output} is not an output of this command`,
      `it prints ${formats.map((f) => `-o ${f}`).join(" or ")}`,
    );
  const output = o.json ? "json" : o.output;
  return { output, json: Boolean(o.json) || output === "json", quiet: o.quiet, color: o.color, debug: o.debug };
}

/** `--target` and `--local`: one target; `--local --target kubernetes` is a contradiction. */
export function targetOf(o: { target?: TargetKind; local?: boolean }): TargetKind {
  if (o.local && o.target === "kubernetes")
    throw new UsageError(
      "--local and --target kubernetes contradict each other",
      "--local means --target docker; pass one of them",
    );
  return o.local ? "docker" : (o.target ?? "kubernetes");
}

/** Flags that do nothing on the chosen target are errors, not silently dropped: `[flag, given, why]`. */
export function rejectIneffective(
  target: TargetKind,
  flags: readonly (readonly [flag: string, given: unknown, onlyFor: TargetKind])[],
): void {
  for (const [flag, given, onlyFor] of flags) {
    if (given === undefined || given === false || onlyFor === target) continue;
    throw new UsageError(
      `${flag} has no effect on the ${target === "docker" ? "Docker target (--local)" : "Kubernetes target"}`,
      onlyFor === "docker"
        ? `${flag} is for --local (docker run); on Kubernetes resources.gpu sets the GPUs`
        : `${flag} is for Kubernetes; drop it, or drop --local`,
    );
  }
}

/** Parse raw commander options with a command's schema; every problem becomes one usage error (exit 2). */
export function parseOptions<S extends z.ZodMiniType>(schema: S, raw: unknown): z.output<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issues = r.error.issues;
  const first = issues[0]!;
  const hint = (first as { params?: { hint?: string } }).params?.hint;
  const message = issues
    .map((i) => (i.code === "custom" ? i.message : `--${kebab(String(i.path[0] ?? ""))}: ${i.message}`))
    .join("; ");
  throw new UsageError(message, hint);
}

function kebab(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export function uiFor(opts: { quiet?: boolean; json?: boolean; color?: boolean; debug?: boolean }): Ui {
  return new Ui({ quiet: opts.quiet, json: opts.json, color: opts.color, debug: opts.debug });
}
