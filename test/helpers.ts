/** Moved to test/support/cli.ts; this re-export only keeps tests written before the move compiling. Import from test/support/. */
export * from "./support/cli.ts";
