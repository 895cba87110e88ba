/** `vllmapp deploy`: flags → plan → target.deploy → print. */
import { Command, Option } from "commander";
import * as z from "zod/mini";
import { UsageError } from "../errors.js";
import { objectYaml } from "../render/format.js";
import { NEWEST_SUPPORTED_MINOR, OLDEST_RENDERED_MINOR, OLDEST_SUPPORTED_MINOR } from "../render/kube-version.js";
import { formatArgv, formatTable } from "../text.js";
import type { DeployResult } from "../target.js";
import { timelineLines } from "../startup/timeline.js";
import {
  addCommonOptions,
  connectionShape,
  converted,
  durationFlag,
  fileShape,
  outputOf,
  outputShape,
  paramsFlag,
  parseOptions,
  rejectIneffective,
  setFlag,
  targetOf,
  targetShape,
  uiFor,
} from "./options.js";

export const deployOptionsSchema = converted(
  z.object({
    ...fileShape,
    ...targetShape,
    ...connectionShape,
    ...outputShape,
    param: paramsFlag,
    set: setFlag,
    templates: z.optional(z.string()),
    wait: z._default(z.boolean(), true),
    timeout: durationFlag("--timeout", "90s, 20m, 1h"),
    dryRun: z._default(z.enum(["none", "client", "server"]), "none"),
    createNamespace: z._default(z.boolean(), false),
    createSecrets: z._default(z.boolean(), false),
    forceConflicts: z._default(z.boolean(), false),
    offline: z._default(z.boolean(), false),
    gpus: z.optional(z.string()),
  }),
  (o) => {
    const target = targetOf(o);
    if (o.dryRun === "server" && target === "docker")
      throw new UsageError("--dry-run=server asks a Kubernetes API server; with --local use --dry-run=client");
    rejectIneffective(target, [
      ["--gpus", o.gpus, "docker"],
      ["--create-namespace", o.createNamespace, "kubernetes"],
      ["--create-secrets", o.createSecrets, "kubernetes"],
      ["--force-conflicts", o.forceConflicts, "kubernetes"],
    ]);
    if (!o.wait && o.timeout !== undefined)
      throw new UsageError(
        "--timeout and --no-wait contradict each other: --timeout is how long to wait",
        "pass one of them",
      );
    if (o.dryRun !== "none" && o.timeout !== undefined)
      throw new UsageError("--timeout has no effect with --dry-run: a dry run does not wait", "drop --timeout");
    if (o.output === "yaml" && o.dryRun === "none")
      throw new UsageError(
        "-o yaml prints the objects a dry run would apply",
        "add --dry-run (or use vllmapp render --dry-run)",
      );
    if (o.output === "yaml" && target === "docker")
      throw new UsageError(
        "-o yaml prints Kubernetes objects; the Docker target has none",
        "use -o text (the docker commands) or -o json",
      );
    return { ...o, target, timeoutSeconds: o.timeout, params: o.param, ...outputOf(o) };
  },
);

export type DeployOptions = z.output<typeof deployOptionsSchema>;

export async function runDeploy(opts: DeployOptions): Promise<DeployResult> {
  const ui = uiFor(opts);
  const [{ loadTarget }, { plan, reportPlan }, { nodePlanIo }, { makeSourceResolver }] = await Promise.all([
    import("./load-target.js"),
    import("../app/plan.js"),
    import("../app/node-io.js"),
    import("./resolver.js"),
  ]);
  const target = await loadTarget(opts.target);
  const planOptions = {
    file: opts.file,
    app: opts.app,
    target: opts.target,
    namespace: opts.namespace,
    params: opts.params,
    set: opts.set,
    dockerGpus: opts.gpus,
  };
  const resolverOptions = {
    mode: "deploy" as const,
    offline: opts.offline,
    namespace: opts.namespace,
    context: opts.context,
    kubeconfig: opts.kubeconfig,
  };
  const session = await target.connect(opts).catch(async (failure: unknown) => {
    // a kubeconfig that cannot be used is said after the app file's own errors
    reportPlan(
      await plan(
        planOptions,
        nodePlanIo({ templates: opts.templates, resolve: await makeSourceResolver(resolverOptions) }),
      ),
      ui,
    );
    throw failure;
  });
  const resolve = await makeSourceResolver(resolverOptions, session.reads);
  // render for the server's Kubernetes minor (render --kube-version does the same offline)
  const kubeMinor = await session.serverMinor?.();
  if (kubeMinor !== undefined && kubeMinor < OLDEST_RENDERED_MINOR)
    throw new UsageError(
      `the API server runs Kubernetes 1.${kubeMinor}; vllmapp deploys to 1.${OLDEST_RENDERED_MINOR} and newer (supported: 1.${OLDEST_SUPPORTED_MINOR} to 1.${NEWEST_SUPPORTED_MINOR})`,
      "upgrade the cluster, or render for the oldest supported minor and adapt the manifests by hand",
    );
  // the namespace, a named PodTemplate and the learned budgets are read through the session: the plan is what is applied
  const p = await plan(
    { ...planOptions, ...(kubeMinor !== undefined ? { kubeMinor } : {}) },
    { ...nodePlanIo({ templates: opts.templates, resolve }), ...(session.reads ? { cluster: session.reads } : {}) },
  );
  reportPlan(p, ui);
  return session.deploy(
    p,
    {
      dryRun: opts.dryRun,
      wait: opts.wait,
      timeoutSeconds: opts.timeoutSeconds,
      createNamespace: opts.createNamespace,
      createSecrets: opts.createSecrets,
      forceConflicts: opts.forceConflicts,
    },
    ui,
  );
}

const DONE: Record<string, string> = {
  create: "created",
  configure: "configured",
  unchanged: "unchanged",
  prune: "pruned",
  replace: "replaced",
};

export function formatDeploy(r: DeployResult, opts: Pick<DeployOptions, "output" | "target">): string {
  if (opts.target === "docker") {
    if (r.dryRun) {
      return r.apps
        .flatMap((a) => [
          ...(a.docker?.before ?? []).flatMap((b) => [`# ${a.name}, before: ${b.what}`, formatArgv(b.argv)]),
          `# ${a.name}`,
          formatArgv(a.docker?.argv ?? []),
        ])
        .join("\n");
    }
    const table = formatTable([
      ["APP", "CONTAINER", "ACTION", "ENDPOINT", "MODEL"],
      ...r.apps.map((a) => [
        a.name,
        a.container ?? "",
        DONE[a.changes[0]?.action ?? "unchanged"]!,
        a.endpoint ?? "",
        a.model.servedAs,
      ]),
    ]);
    return [
      table,
      ...r.apps.flatMap((a) => (a.timeline?.current.length ? [`${a.name}:`, ...timelineLines(a.timeline)] : [])),
    ].join("\n");
  }
  if (r.dryRun && opts.output === "yaml")
    return r.apps
      .flatMap((a) => a.objects ?? [])
      .map((o) => `---\n${objectYaml(o)}`)
      .join("");
  const verb = (a: string) => (r.dryRun ? a : DONE[a]!);
  const out: string[] = r.prerequisites.map((p) => `${verb("create")} ${p}`);
  for (const a of r.apps) {
    out.push(`${a.name} (namespace ${a.namespace})${r.dryRun ? ` — dry run (${r.dryRun}), nothing written` : ""}`);
    const rows = a.changes.map((c) => [`  ${verb(c.action)}`, `${c.kind}/${c.name}`]);
    if (a.replicas) rows.push(["  ready", `${a.replicas.ready}/${a.replicas.desired}`]);
    if (a.endpoint && !r.dryRun) rows.push(["  endpoint", a.endpoint]);
    out.push(formatTable(rows));
    if (a.timeline?.current.length) out.push(...timelineLines(a.timeline));
  }
  return out.join("\n");
}

export function deployCommand(): Command {
  const cmd = new Command("deploy")
    .description("resolve, render and apply (server-side apply; --local: docker run), then wait until ready")
    .option("--no-wait", "return once applied, without waiting for readiness")
    .option("--timeout <duration>", "how long to wait for readiness (default: startup_timeout)")
    .addOption(
      new Option("--dry-run [mode]", "client: print the plan; server: send the apply with dryRun=All")
        .choices(["none", "client", "server"])
        .preset("client"),
    )
    .option("--create-namespace", "create the namespace if it does not exist")
    .option("--create-secrets", "create a missing <app>-secrets Secret from the local environment")
    .option("--force-conflicts", "take over fields another field manager owns")
    .option("--offline", "skip the remote checks of the model source (a warning says what was skipped)")
    .option("--gpus <devices>", "docker: --gpus value (all, 0 for none, or 0,1)");
  addCommonOptions(cmd);
  cmd.addHelpText(
    "after",
    `
Examples:
  $ vllmapp deploy                                   # apply to the current context and wait until ready
  $ vllmapp deploy -f llama.yaml -n inference --create-secrets
  $ vllmapp deploy --dry-run=server                  # ask the API server what it would change
  $ vllmapp deploy --local --gpus all                # docker run on this machine`,
  );
  cmd.action(async (raw) => {
    const opts = parseOptions(deployOptionsSchema, raw);
    const result = await runDeploy(opts);
    const ui = uiFor(opts);
    if (opts.json) ui.out(JSON.stringify(result, null, 2));
    else {
      const text = formatDeploy(result, opts);
      if (text) ui.out(text);
    }
  });
  return cmd;
}
