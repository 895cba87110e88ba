/** Moved to test/support/testbed.ts; this re-export only keeps tests written before the move compiling. Import from test/support/. */
export * from "../support/testbed.ts";
