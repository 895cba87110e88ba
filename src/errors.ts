/** Exit codes, as SPEC §1 defines them. Lower layers throw; only cli.ts exits. */
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

/** One problem in a config file, located at file:line:col. */
export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  /** dotted field path, e.g. `resources.gpu` or `extra_args[2]` */
  path: string;
  message: string;
  hint?: string;
  severity: "error" | "warning" | "note";
}

export function formatDiagnostic(d: Diagnostic): string {
  // line 0: no place in a file (a --set override)
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.col}` : d.file;
  const field = d.path ? ` ${d.path}:` : "";
  const head = `${where}${field} ${d.severity === "error" ? "" : `${d.severity}: `}${d.message}`;
  return d.hint ? `${head}\n  hint: ${d.hint}` : head;
}

/** All the errors of a config at once. */
export class ConfigError extends VllmappError {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[]) {
    const errors = diagnostics.filter((d) => d.severity === "error");
    super(
      errors.map(formatDiagnostic).join("\n") +
        `\n${errors.length} error${errors.length === 1 ? "" : "s"} in ${[...new Set(errors.map((d) => d.file))].join(", ")}`,
      ExitCode.usage,
    );
    this.diagnostics = diagnostics;
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
