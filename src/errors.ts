/** Exit codes (README "Commands"). Lower layers throw; only cli.ts exits. */
export const ExitCode = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  cluster: 3,
  docker: 4,
  timeout: 5,
  appFailed: 6,
  interrupted: 130,
} as const;

export class VllmappError extends Error {
  readonly exitCode: number;
  readonly hint?: string;
  constructor(message: string, exitCode: number, hint?: string) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.hint = hint;
  }
}

export class UsageError extends VllmappError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.usage, hint);
  }
}

/** What an errno code of a failed file read means, in words. */
export function describeFsError(code: string): string {
  switch (code) {
    case "ENOENT":
      return "no such file";
    case "ENOTDIR":
      return "a part of the path is a file, not a folder";
    case "EISDIR":
      return "it is a folder, not a file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "ELOOP":
      return "too many symbolic links (a loop?)";
    case "ENAMETOOLONG":
      return "the path is too long";
    case "ENOSPC":
      return "no space left on the device";
    case "EROFS":
      return "the file system is read-only";
    default:
      return "the file system refused it";
  }
}

/**
 * A failed file-system call on a path the user chose, as a UsageError ("cannot write X: ENOTDIR (…)");
 * anything that is not an errno error is returned unchanged (a bug, for the top-level catch).
 */
export function fsUsageError(action: string, file: string, e: unknown, hint?: string): unknown {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== "string" || !code.startsWith("E")) return e;
  const what = code === "EEXIST" ? "a file is in the way of a folder" : describeFsError(code);
  return new UsageError(`cannot ${action} ${file}: ${code} (${what})`, hint);
}

/**
 * What a check finds in an app: a field path in vllm-app.yaml (e.g. `["extra_args", 2]`), how bad it is, what
 * is wrong and how to fix it. The vLLM flag checks, the config rules, model-source parsing and render all
 * report these; the loader places them in the file as Diagnostics.
 */
export interface Finding {
  path: (string | number)[];
  severity: "error" | "warning" | "note";
  message: string;
  hint?: string;
}

/** One problem in a config file, located at file:line:col: a Finding placed in its file (or a --set override). */
export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  /** dotted field path, e.g. `resources.gpu` or `extra_args[2]` */
  path: string;
  message: string;
  hint?: string;
  severity: "error" | "warning" | "note";
  /** the app of a multi-app file it belongs to, when the plan knows (check summarises per app) */
  app?: string;
  /** a note about the checks a problem stopped: listed after the file's other diagnostics */
  summary?: boolean;
}

export function formatDiagnostic(d: Diagnostic): string {
  // line 0: no place in a file (a --set override)
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.col}` : d.file;
  const field = d.path ? ` ${d.path}:` : "";
  const head = `${where}${field} ${d.severity === "error" ? "" : `${d.severity}: `}${d.message}`;
  return d.hint ? `${head}\n  hint: ${d.hint}` : head;
}

/**
 * All the errors of a config at once, and the notes that say which checks a problem stopped. `partial`:
 * what the loader could still validate (config/load.ts), for the later checks the caller runs.
 */
export class ConfigError extends VllmappError {
  readonly diagnostics: Diagnostic[];
  readonly partial: readonly unknown[];
  readonly warnings: readonly Diagnostic[];
  constructor(diagnostics: Diagnostic[], partial: readonly unknown[] = [], warnings: readonly Diagnostic[] = []) {
    const errors = diagnostics.filter((d) => d.severity === "error");
    const notes = diagnostics.filter((d) => d.severity === "note");
    super(
      [...errors, ...notes].map(formatDiagnostic).join("\n") +
        `\n${errors.length} error${errors.length === 1 ? "" : "s"} in ${[...new Set(errors.map((d) => d.file))].join(", ")}`,
      ExitCode.usage,
    );
    this.diagnostics = diagnostics;
    this.partial = partial;
    this.warnings = warnings;
  }
}

export class ClusterError extends VllmappError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.cluster, hint);
  }
}

export class DockerError extends VllmappError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.docker, hint);
  }
}

export class ReadinessTimeoutError extends VllmappError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.timeout, hint);
  }
}

export class AppFailedError extends VllmappError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.appFailed, hint);
  }
}

export class InterruptedError extends VllmappError {
  constructor(message = "interrupted") {
    super(message, ExitCode.interrupted);
  }
}
