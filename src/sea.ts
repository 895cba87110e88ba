/**
 * The single executable's main script (npm run build:binary, bin/build-binary.mjs). Built with a V8
 * start-up snapshot: the bundle's modules are evaluated when the binary is built and the process starts
 * from that heap, so only runProcess runs at start. Nothing evaluated at module level may read the
 * environment, argv, the terminal or the clock (they would be the build machine's).
 */
import v8 from "node:v8";
import { runProcess } from "./entry.js";

const start = (): void => {
  // the main script of a single executable gets the binary's path as argv[1] already (as node gets the script's)
  void runProcess(process.argv);
};

if (v8.startupSnapshot?.isBuildingSnapshot()) v8.startupSnapshot.setDeserializeMainFunction(start);
else start();
