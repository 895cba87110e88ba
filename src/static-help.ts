/**
 * `vllmapp`, `vllmapp --help` and `vllmapp -h` print a text fixed at build time: the program's help as
 * commander prints it to a pipe or a file (80 columns, no styles). The npm build writes it to dist/help.txt
 * (bin/build.mjs) and bin/vllmapp.js prints it without loading the CLI; the single executable keeps it in
 * the asset help.txt, printed by its main script (src/sea-launch.ts). On a terminal commander wraps the help to the terminal's width, so
 * there the program is built as usual. test/e2e/startup.test.ts holds both to the built program's bytes.
 *
 * This module is loaded before anything else: it imports nothing (node:tty is taken when called, and only
 * when the arguments ask for the help).
 */

/** Whether `argv` (process.argv) asks for the top-level help, printed to something other than a terminal. */
export function wantsStaticHelp(argv: readonly string[]): boolean {
  const args = argv.slice(2);
  if (args.length > 1) return false;
  if (args.length === 1 && args[0] !== "--help" && args[0] !== "-h") return false;
  return !process.getBuiltinModule("node:tty").isatty(1);
}
