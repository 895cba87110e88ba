/**
 * `vllmapp completion bash|zsh|fish`: the shell script (from @bomb.sh/tab, cobra's protocol), and the
 * hidden `vllmapp complete -- WORDS…` the script calls on each TAB. The words come from the commander
 * program itself (commands, flags, `-o`/`--target` choices), plus what only vllmapp knows: the app
 * names of the file given with -f, GPU types, the YAML files of a folder. Never fails loudly: a shell
 * waiting on TAB gets nothing rather than an error.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { Argument, Command, type Option } from "commander";

const SHELLS = ["bash", "zsh", "fish"] as const;

/**
 * bash: the library's script reads the words with bash-completion's `_get_comp_words_by_ref`; on a bash
 * without that package (macOS, minimal images), the same from COMP_WORDS/COMP_CWORD.
 */
const BASH_FALLBACK = `# without the bash-completion package: the words as bash gives them
if ! type _get_comp_words_by_ref &>/dev/null; then
  _get_comp_words_by_ref() {
    cur="\${COMP_WORDS[COMP_CWORD]}"; prev="\${COMP_WORDS[COMP_CWORD-1]}"; words=("\${COMP_WORDS[@]}"); cword=$COMP_CWORD
  }
fi
`;

export function completionCommand(): Command {
  return new Command("completion")
    .description("print the shell completion script for bash, zsh or fish")
    .addArgument(new Argument("<shell>", "bash, zsh or fish").choices(SHELLS))
    .addHelpText(
      "after",
      `
Examples:
  $ vllmapp completion bash > ~/.local/share/bash-completion/completions/vllmapp   # bash, every new shell
  $ source <(vllmapp completion bash)                                               # bash, this shell only
  $ vllmapp completion zsh > "\${fpath[1]}/_vllmapp"                                 # zsh (then restart it)
  $ vllmapp completion fish > ~/.config/fish/completions/vllmapp.fish`,
    )
    .action(async (shell: string, _opts: unknown, cmd: Command) => {
      const t = await completionTree(cmd.parent!);
      const lines: string[] = [];
      const log = console.log;
      console.log = (s: string) => void lines.push(s);
      try {
        t.setup("vllmapp", "vllmapp", shell);
      } finally {
        console.log = log;
      }
      process.stdout.write(`${shell === "bash" ? BASH_FALLBACK : ""}${lines.join("\n")}\n`);
    });
}

/** `vllmapp complete -- WORDS…`: the protocol the scripts speak (one `value\tdescription` a line, then `:directive`). */
export function completeCommand(): Command {
  return new Command("complete")
    .description("completions for the words typed so far (called by the shell script)")
    .argument("[words...]")
    .allowUnknownOption()
    .helpOption(false)
    .action(async (words: string[], _opts: unknown, cmd: Command) => {
      const t = await completionTree(cmd.parent!, words);
      t.parse(words);
    });
}

type Tab = Awaited<typeof import("@bomb.sh/tab")>["default"];
type TabCommand = ReturnType<Tab["command"]>;
type Complete = (value: string, description: string) => void;

/** The completion tree of the program, with vllmapp's own value completions. */
async function completionTree(program: Command, words: readonly string[] = []): Promise<Tab> {
  const [{ default: t }, { GPU_TYPES }] = await Promise.all([import("@bomb.sh/tab"), import("../config/gpus.js")]);
  // `TYPE:1` for every GPU type, spelt without spaces (the file accepts either)
  const gpus: [string, string][] = GPU_TYPES.map((g) => [`${g.name.replace(/ /g, "-")}:1`, `${g.memoryGB} GB`]);
  const typed = (flag: RegExp) => {
    for (let i = words.length - 2; i >= 0; i--) {
      const m = flag.exec(words[i]!);
      if (m) return m[1] ?? words[i + 1];
    }
    return undefined;
  };
  const command = words.find((w) => !w.startsWith("-"));
  // logs: -f is --follow, the file is --file only
  const file = () =>
    (command === "logs" ? typed(/^--file(?:=(.*))?$/) : typed(/^(?:-f|--file)(?:=(.*))?$/)) ?? "vllm-app.yaml";
  const last = words[words.length - 1] ?? "";
  for (const c of program.commands) {
    if (c.name() === "complete") continue;
    const tc = t.command(c.name(), c.description());
    for (const o of c.options as Option[]) addOption(tc, o, valuesFor(c.name(), o, { file, last, gpus }));
    for (const a of c.registeredArguments) {
      if (a.argChoices?.length) tc.argument(a.name(), (complete) => a.argChoices!.forEach((v) => complete(v, "")));
      else if (a.name() === "app")
        tc.argument("app", (complete) => appNames(file()).forEach((n) => complete(n, "app of the file")));
      else tc.argument(a.name());
    }
    addOption(tc, { long: "--help", short: "-h", description: "display help for command" } as Option);
  }
  for (const o of program.options as Option[]) addOption(t, o);
  return t;
}

function addOption(
  tc: TabCommand | Tab,
  o: Pick<Option, "long" | "short" | "description" | "required" | "optional" | "argChoices" | "hidden">,
  values?: (complete: Complete) => void,
): void {
  if (o.hidden || !o.long) return;
  const long = o.long.replace(/^--/, "");
  const short = o.short?.replace(/^-/, "");
  const takesValue = o.required || o.optional;
  const choices = o.argChoices ?? [];
  const handler = takesValue
    ? (values ?? ((complete: Complete) => choices.forEach((v) => complete(v, ""))))
    : undefined;
  if (handler) tc.option(long, o.description ?? "", handler, short);
  else tc.option(long, o.description ?? "", short);
}

/** Value completions only vllmapp knows: app names, GPU types, YAML files. */
function valuesFor(
  command: string,
  o: Option,
  ctx: { file: () => string; last: string; gpus: [string, string][] },
): ((complete: Complete) => void) | undefined {
  if (o.long === "--app") return (complete) => appNames(ctx.file()).forEach((n) => complete(n, "app of the file"));
  if (o.long === "--file") return (complete) => yamlFiles(ctx.last).forEach((f) => complete(f, ""));
  if (command === "init" && o.long === "--gpu") return (complete) => ctx.gpus.forEach(([v, d]) => complete(v, d));
  return undefined;
}

function appNames(file: string): string[] {
  try {
    const text = readFileSync(file, "utf8");
    return [...text.matchAll(/^name:\s*["']?([a-z0-9][-a-z0-9]*)["']?\s*(?:#.*)?$/gm)].map((m) => m[1]!);
  } catch {
    return [];
  }
}

function yamlFiles(partial: string): string[] {
  const dir = partial.includes("/") ? partial.slice(0, partial.lastIndexOf("/") + 1) : "";
  try {
    return readdirSync(dir || ".")
      .filter((f) => !f.startsWith(".") || partial.startsWith(`${dir}.`))
      .flatMap((f) => {
        const full = `${dir}${f}`;
        if (/\.ya?ml$/.test(f)) return [full];
        try {
          return statSync(path.join(dir || ".", f)).isDirectory() ? [`${full}/`] : [];
        } catch {
          return [];
        }
      });
  } catch {
    return [];
  }
}
