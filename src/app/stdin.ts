/** `-f -`: the config comes from standard input, and its diagnostics name `<stdin>` (as kubectl does). */
export const STDIN_FILE = "<stdin>";
