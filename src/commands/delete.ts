/** `vllmapp delete [APP]`: flags → the apps (dependents first) → target.delete → print. */
import { Command } from "commander";
import * as z from "zod/mini";
import type { DeleteResult } from "../target.js";
import {
  addCommonOptions,
  connectionShape,
  converted,
  fileShape,
  outputOf,
  outputShape,
  parseOptions,
  targetOf,
  targetShape,
  uiFor,
} from "./options.js";

export const deleteOptionsSchema = converted(
  z.object({
    ...fileShape,
    ...targetShape,
    ...connectionShape,
    ...outputShape,
    appName: z.optional(z.string()),
    purgeCache: z._default(z.boolean(), false),
    wait: z._default(z.boolean(), true),
  }),
  (o) => ({ ...o, target: targetOf(o), ...outputOf(o, ["text", "json"]) }),
);

export type DeleteOptions = z.output<typeof deleteOptionsSchema>;

export async function runDelete(opts: DeleteOptions): Promise<DeleteResult> {
  const ui = uiFor(opts);
  const [{ loadTarget }, { appRefs }, { fsLoadDeps }] = await Promise.all([
    import("./load-target.js"),
    import("../app/select.js"),
    import("../app/node-io.js"),
  ]);
  // dependents before what they depend on
  const apps = appRefs(opts, fsLoadDeps(), "delete").reverse();
  const session = await (await loadTarget(opts.target)).connect(opts);
  return session.delete(apps, { purgeCache: opts.purgeCache, wait: opts.wait }, ui);
}

export function formatDelete(r: DeleteResult, opts: Pick<DeleteOptions, "target">): string {
  if (opts.target === "docker") {
    return r.apps
      .flatMap((a) => [
        ...(a.deleted.length
          ? a.deleted.map((c) => `${a.name}: container ${c.replace(/^Container\//, "")} removed`)
          : [`${a.name}: no container to remove`]),
        ...(a.purgedCache ? [`${a.name}: model copy ${a.purgedCache} removed`] : []),
      ])
      .join("\n");
  }
  return r.apps
    .map((d) => {
      if (!d.deleted.length && !d.kept.length) return `${d.name}: nothing to delete in namespace ${d.namespace}`;
      const lines = [`${d.name} (namespace ${d.namespace})`, ...d.deleted.map((o) => `  deleted  ${o}`)];
      for (const o of d.kept) lines.push(`  kept     ${o} (the model cache; --purge-cache deletes it)`);
      return lines.join("\n");
    })
    .join("\n");
}

export function deleteCommand(): Command {
  const cmd = new Command("delete")
    .description("remove everything vllmapp created for the app (model caches stay unless --purge-cache)")
    .argument("[app]", "app name (default: the apps of the file)")
    .option("--purge-cache", "also delete the model cache (PVC, or the local copy)")
    .option("--no-wait", "do not wait until everything is gone");
  addCommonOptions(cmd, { render: false });
  cmd.addHelpText(
    "after",
    `\nExamples:\n  $ vllmapp delete\n  $ vllmapp delete qwen3 -n inference --purge-cache\n  $ vllmapp delete --local`,
  );
  cmd.action(async (appName: string | undefined, raw) => {
    const opts = parseOptions(deleteOptionsSchema, { ...raw, appName });
    const result = await runDelete(opts);
    const ui = uiFor(opts);
    if (opts.json) ui.out(JSON.stringify(result, null, 2));
    else {
      const text = formatDelete(result, opts);
      if (text) ui.out(text);
    }
  });
  return cmd;
}
