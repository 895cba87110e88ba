#!/usr/bin/env node
import { readFileSync } from "node:fs";
import module from "node:module";
import { wantsStaticHelp } from "../dist/static-help.js";

if (wantsStaticHelp(process.argv)) {
  // the top-level help, fixed at build time: nothing else loads (src/static-help.ts)
  process.stdout.write(readFileSync(new URL("../dist/help.txt", import.meta.url), "utf8"));
} else {
  // Node.js 22+ keeps the V8 code of dist/ in its compile cache (the OS's temporary folder, or
  // $NODE_COMPILE_CACHE): later runs skip compiling the bundle. Enabled before the bundle loads.
  module.enableCompileCache?.();
  const { runProcess } = await import("../dist/entry.js");
  await runProcess(process.argv);
}
