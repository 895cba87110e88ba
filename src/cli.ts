/**
 * The vllmapp program. One top-level catch turns errors into exit codes; nothing else exits.
 * Commands are thin: heavy modules (client-node, prompts, ora) load only in the actions that need them.
 */
import { DEFAULT_IMAGE } from "./render/labels.js";
import { catalogIndex } from "./vllm/catalog.js";
import { Command, CommanderError } from "commander";
import { ConfigError, ExitCode, InterruptedError, VllmappError } from "./errors.js";
import { levenshtein } from "./text.js";
import { VERSION } from "./version.js";

/**
 * The commands, each loaded when the program is built for it: a command's module (and the schemas and
 * packages it holds) costs nothing to the others' start-up (BENCHMARKS.md "Start-up").
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  init: async () => (await import("./commands/init.js")).initCommand(),
  render: async () => (await import("./commands/render.js")).renderCommand(),
  deploy: async () => (await import("./commands/deploy.js")).deployCommand(),
  logs: async () => (await import("./commands/logs.js")).logsCommand(),
  status: async () => (await import("./commands/status.js")).statusCommand(),
  delete: async () => (await import("./commands/delete.js")).deleteCommand(),
  list: async () => (await import("./commands/list.js")).listCommand(),
  check: async () => (await import("./commands/check.js")).checkCommand(),
  bench: async () => (await import("./commands/bench.js")).benchCommand(),
  tune: async () => (await import("./commands/tune.js")).tuneCommand(),
  schema: async () => (await import("./commands/schema.js")).schemaCommand(),
  completion: async () => (await import("./commands/completion.js")).completionCommand(),
  complete: async () => (await import("./commands/completion.js")).completeCommand(),
};

/**
 * `vllmapp --version`: the version, the vLLM releases it has catalogs for, the default image, and the
 * patch releases checked on a catalogued release's parser (index.json same_as), which are as supported.
 */
function versionText(argv: readonly string[]): string {
  const version = VERSION;
  if (!argv.includes("-V") && !argv.includes("--version")) return version;
  const index = catalogIndex();
  const sameAs = Object.entries(index.same_as ?? {}).map(([patch, parser]) => `${patch} (${parser}'s parser)`);
  return [
    version,
    `vLLM serve catalogs: ${index.releases.join(", ")}`,
    `default image: ${DEFAULT_IMAGE}`,
    ...(sameAs.length ? [`also checked: ${sameAs.join(", ")}`] : []),
  ].join("\n");
}

/**
 * The program. When argv names a command, only that command is built (the others' flags are not
 * needed to parse it); otherwise all are, for the help listing and "did you mean".
 */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command("vllmapp")
    .description("Deploy vLLM model servers to Kubernetes, or run them locally with Docker, from one vllm-app.yaml")
    .version(versionText(argv), "-V, --version")
    // an unknown command's "did you mean" is vllmapp's own (main): commander's names "logs" for "bogus"
    .showSuggestionAfterError(false)
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });
  program.addHelpText(
    "after",
    `
Examples:
  $ vllmapp init                                   # write a commented vllm-app.yaml
  $ vllmapp render --dry-run                       # see what would be deployed
  $ vllmapp deploy                                 # apply to the current kubectl context and wait
  $ vllmapp deploy --local                         # run it with Docker on this machine
  $ vllmapp status && vllmapp logs -f
  $ source <(vllmapp completion bash)              # TAB completion (zsh, fish too)

Get started: vllmapp init, then vllmapp render --dry-run, then vllmapp deploy (or deploy --local).`,
  );
  const named = argv.slice(2).find((a) => !a.startsWith("-"));
  // completion walks every command
  const builders =
    named !== undefined && named in COMMANDS && named !== "completion" && named !== "complete"
      ? [COMMANDS[named]!]
      : Object.values(COMMANDS);
  for (const c of await Promise.all(builders.map((build) => build()))) {
    c.exitOverride();
    program.addCommand(c, c.name() === "complete" ? { hidden: true } : {});
  }
  return program;
}

/**
 * After commander's "unknown command 'X'": the command X most likely meant, when it is a typo of one: a
 * prefix, two letters swapped, or one edit (two from six letters on). Stricter than for field names: with
 * a dozen short commands, two edits reach from almost any word to one of them ("bogus" → "logs").
 */
function suggestCommand(program: Command, argv: readonly string[]): void {
  const typed = argv
    .slice(2)
    .find((a) => !a.startsWith("-"))
    ?.toLowerCase();
  if (!typed) return;
  const names = program.commands.filter((c) => c.name() !== "complete").flatMap((c) => [c.name(), ...c.aliases()]);
  const swapped = (a: string, b: string) =>
    a.length === b.length && [...a].some((_, i) => a.slice(0, i) + a[i + 1] + a[i] + a.slice(i + 2) === b);
  const distance = (name: string) =>
    (name.startsWith(typed) && typed.length >= 3) || swapped(typed, name) ? 1 : levenshtein(typed, name);
  const limit = typed.length >= 6 ? 2 : 1;
  const best = names.map((name) => ({ name, d: distance(name) })).sort((a, b) => a.d - b.d)[0];
  if (best && best.d <= limit) process.stderr.write(`(Did you mean ${best.name}?)\n`);
}

export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv);
  const debug = argv.includes("--debug");
  try {
    // `vllmapp` alone: the help, on stdout, as a successful answer
    if (argv.length <= 2) {
      program.outputHelp();
      return ExitCode.ok;
    }
    await program.parseAsync(argv);
    return ExitCode.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help")
        return ExitCode.ok;
      if (e.code === "commander.unknownCommand") suggestCommand(program, argv);
      return ExitCode.usage;
    }
    // Ctrl-C / Ctrl-D at a prompt: a person's answer, not a failure to report
    if (e instanceof InterruptedError && e.message === "aborted") {
      process.stderr.write("aborted\n");
      return e.exitCode;
    }
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return e.exitCode;
    }
    if (e instanceof VllmappError) {
      process.stderr.write(`error: ${e.message}\n${e.hint ? `  hint: ${e.hint}\n` : ""}`);
      // a usage error is the user's to fix, not a vllmapp failure: no stack trace, --debug or not
      if (debug && e.stack && e.exitCode !== ExitCode.usage) process.stderr.write(`${e.stack}\n`);
      return e.exitCode;
    }
    const err = e as Error;
    process.stderr.write(`error: unexpected failure: ${err?.message ?? String(e)}\n`);
    process.stderr.write(
      debug && err?.stack ? `${err.stack}\n` : "  hint: run again with --debug for the stack trace, and report it\n",
    );
    return ExitCode.unexpected;
  }
}
