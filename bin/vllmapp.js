#!/usr/bin/env node
import module from "node:module";

// Node.js 22+ keeps the V8 code of dist/ in its compile cache (the OS's temporary folder, or
// $NODE_COMPILE_CACHE): later runs skip compiling the bundle. Enabled before the bundle loads.
module.enableCompileCache?.();
const { runProcess } = await import("../dist/entry.js");
await runProcess(process.argv);
