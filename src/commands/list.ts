/** `vllmapp list`: the apps vllmapp manages in the namespace, or on the Docker engine. */
import { Command } from "commander";
import * as z from "zod/mini";
import type { ListResult } from "../target.js";
import { formatTable } from "../text.js";
import {
  addCommonOptions,
  connectionShape,
  converted,
  outputOf,
  outputShape,
  parseOptions,
  targetOf,
  targetShape,
  uiFor,
} from "./options.js";

export const listOptionsSchema = converted(z.object({ ...targetShape, ...connectionShape, ...outputShape }), (o) => ({
  ...o,
  target: targetOf(o),
  ...outputOf(o, ["text", "json"]),
}));

export type ListOptions = z.output<typeof listOptionsSchema>;

export async function runList(opts: ListOptions): Promise<ListResult> {
  const { loadTarget } = await import("./load-target.js");
  return (await (await loadTarget(opts.target)).connect(opts)).list(uiFor(opts));
}

export function formatList(r: ListResult, opts: Pick<ListOptions, "target">): string {
  if (!r.apps.length) return "";
  if (opts.target === "docker") {
    return formatTable([
      ["APP", "STATE", "READY", "ENDPOINT", "MODEL", "IMAGE", "AGE"],
      ...r.apps.map((a) => [
        a.name,
        a.state ?? "",
        a.ready ? "yes" : "no",
        a.endpoint ?? "",
        a.modelId ?? "",
        a.image ?? "",
        a.age ?? "",
      ]),
    ]);
  }
  return formatTable([
    ["NAME", "READY", "MODEL", "AGE"],
    ...r.apps.map((a) => [a.name, `${a.replicas.ready}/${a.replicas.desired}`, a.modelId ?? "", a.age ?? ""]),
  ]);
}

export function listCommand(): Command {
  const cmd = new Command("list").description("the apps vllmapp manages in the namespace / on the Docker host");
  addCommonOptions(cmd, { file: false });
  cmd.addHelpText(
    "after",
    `\nExamples:\n  $ vllmapp list\n  $ vllmapp list -n inference --json\n  $ vllmapp list --local`,
  );
  cmd.action(async (raw) => {
    const opts = parseOptions(listOptionsSchema, raw);
    const result = await runList(opts);
    const ui = uiFor(opts);
    if (opts.json) ui.out(JSON.stringify(result, null, 2));
    else {
      const text = formatList(result, opts);
      if (text) ui.out(text);
    }
  });
  return cmd;
}
