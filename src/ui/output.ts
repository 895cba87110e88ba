/**
 * stdout is data; everything else goes to stderr. Spinners only on a TTY, never with --json or CI.
 */
import { formatDiagnostic, type Diagnostic } from "../errors.js";

export interface UiOptions {
  /** plain progress lines even on a terminal (several apps waited for at once) */
  noSpinner?: boolean;
  quiet?: boolean;
  json?: boolean;
  color?: boolean;
  debug?: boolean;
}

export interface Spinner {
  update(text: string): void;
  succeed(text: string): void;
  fail(text: string): void;
  stop(): void;
}

function useColor(opts: UiOptions): boolean {
  if (opts.color === false || (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== "")) return false;
  return Boolean(process.stderr.isTTY);
}

export class Ui {
  readonly opts: UiOptions;
  readonly color: boolean;
  constructor(opts: UiOptions = {}) {
    this.opts = opts;
    this.color = useColor(opts);
  }
  private paint(code: string, s: string): string {
    return this.color ? `\u001b[${code}m${s}\u001b[0m` : s;
  }
  /** data, to stdout */
  out(text: string): void {
    process.stdout.write(text.endsWith("\n") || text === "" ? text : `${text}\n`);
  }
  info(text: string): void {
    if (!this.opts.quiet) process.stderr.write(`${text}\n`);
  }
  success(text: string): void {
    if (!this.opts.quiet) process.stderr.write(`${this.paint("32", "✔")} ${text}\n`);
  }
  /** hidden by --quiet, as notes and progress are: --quiet is errors only */
  warn(text: string): void {
    if (!this.opts.quiet) process.stderr.write(`${this.paint("33", "warning:")} ${text}\n`);
  }
  note(text: string): void {
    if (!this.opts.quiet) process.stderr.write(`${this.paint("36", "note:")} ${text}\n`);
  }
  error(text: string): void {
    process.stderr.write(`${this.paint("31", "error:")} ${text}\n`);
  }
  debug(text: string): void {
    if (this.opts.debug) process.stderr.write(`${this.paint("90", `debug: ${text}`)}\n`);
  }
  diagnostics(list: readonly Diagnostic[]): void {
    for (const d of list) {
      if (this.opts.quiet) continue;
      if (d.severity === "warning")
        process.stderr.write(`${this.paint("33", "warning:")} ${formatDiagnostic({ ...d, severity: "error" })}\n`);
      else process.stderr.write(`${this.paint("36", "note:")} ${formatDiagnostic({ ...d, severity: "error" })}\n`);
    }
  }
  get interactive(): boolean {
    // a terminal that reports no width (e.g. under `script`) would make ora redraw forever
    return (
      Boolean(process.stderr.isTTY) &&
      (process.stderr.columns ?? 0) > 0 &&
      !this.opts.json &&
      !process.env.CI &&
      !this.opts.quiet &&
      !this.opts.noSpinner
    );
  }
  /** The same output, with plain progress lines instead of a spinner. */
  withoutSpinner(): Ui {
    return new Ui({ ...this.opts, noSpinner: true });
  }
  /** A spinner on a TTY; plain progress lines otherwise. */
  async spinner(text: string): Promise<Spinner> {
    if (!this.interactive) {
      this.info(text);
      let last = text;
      return {
        update: (t) => {
          if (t !== last) this.info(t);
          last = t;
        },
        succeed: (t) => this.success(t),
        fail: (t) => this.error(t),
        stop: () => {},
      };
    }
    const { default: ora } = await import("ora");
    const s = ora({ text, stream: process.stderr, color: "cyan" }).start();
    return {
      update: (t) => {
        s.text = t;
      },
      succeed: (t) => s.succeed(t),
      fail: (t) => s.fail(t),
      stop: () => s.stop(),
    };
  }
}
