/**
 * deploy, logs, status, delete, list: the commands that touch a target. Each parses its flags and hands
 * off to the Kubernetes half (src/cluster, loaded only here) or the Docker half (src/local).
 */
import { Command, Option } from "commander";
import { UsageError } from "../errors.js";
import { addCommonOptions, commonOptions, uiFor, type CommonOptions } from "./options.js";
import type { Ui } from "../ui/output.js";

export interface DeployOptions extends CommonOptions {
  wait: boolean;
  timeout?: string;
  dryRun?: "none" | "client" | "server";
  createNamespace?: boolean;
  createSecrets?: boolean;
  forceConflicts?: boolean;
  offline?: boolean;
  gpus?: string;
}

export interface LogsOptions extends CommonOptions {
  appName?: string;
  follow?: boolean;
  tail?: number;
  since?: string;
  replica?: string;
  previous?: boolean;
  timestamps?: boolean;
}

export interface StatusOptions extends CommonOptions {
  appName?: string;
  showApiKey?: boolean;
}

export interface DeleteOptions extends CommonOptions {
  appName?: string;
  purgeCache?: boolean;
  wait: boolean;
}

export type ListOptions = CommonOptions;

/** What each target implements. Results are data: `--json` prints them, `format*` makes the text. */
export interface TargetDriver {
  deploy(opts: DeployOptions, ui: Ui): Promise<unknown>;
  logs(opts: LogsOptions, ui: Ui): Promise<void>;
  status(opts: StatusOptions, ui: Ui): Promise<unknown>;
  delete(opts: DeleteOptions, ui: Ui): Promise<unknown>;
  list(opts: ListOptions, ui: Ui): Promise<unknown>;
  format(kind: "deploy" | "status" | "delete" | "list", result: unknown): string;
}

async function driverFor(opts: CommonOptions): Promise<TargetDriver> {
  if (opts.target === "docker") return (await import("../local/index.js")).dockerDriver;
  return (await import("../cluster/index.js")).kubernetesDriver;
}

function print(ui: Ui, opts: CommonOptions, driver: TargetDriver, kind: "deploy" | "status" | "delete" | "list", result: unknown): void {
  if (opts.json) ui.out(JSON.stringify(result, null, 2));
  else {
    const text = driver.format(kind, result);
    if (text) ui.out(text);
  }
}

function positiveInt(v: string): number {
  if (!/^\d+$/.test(v)) throw new UsageError(`expected a whole number, got "${v}"`);
  return Number(v);
}

export function deployCommand(): Command {
  const cmd = new Command("deploy")
    .description("resolve, render and apply (server-side apply; --local: docker run), then wait until ready")
    .option("--no-wait", "return once applied, without waiting for readiness")
    .option("--timeout <duration>", "how long to wait for readiness (default: startup_timeout)")
    .addOption(new Option("--dry-run [mode]", "client: print the plan; server: send the apply with dryRun=All").choices(["none", "client", "server"]).preset("client"))
    .option("--create-namespace", "create the namespace if it does not exist")
    .option("--create-secrets", "create a missing <app>-secrets Secret from the local environment")
    .option("--force-conflicts", "take over fields another field manager owns")
    .option("--offline", "skip remote checks of the model source (render only; deploy never skips them silently)")
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
    const opts = { ...commonOptions(raw), wait: raw.wait !== false, timeout: raw.timeout, dryRun: raw.dryRun, createNamespace: raw.createNamespace, createSecrets: raw.createSecrets, forceConflicts: raw.forceConflicts, offline: raw.offline, gpus: raw.gpus } as DeployOptions;
    const ui = uiFor(opts);
    const driver = await driverFor(opts);
    print(ui, opts, driver, "deploy", await driver.deploy(opts, ui));
  });
  return cmd;
}

export function logsCommand(): Command {
  const cmd = new Command("logs")
    .description("stream the server's logs: every replica, prefixed by replica")
    .argument("[app]", "app name (default: the app of the file)")
    .option("-F, --follow", "keep streaming, including replicas started later")
    .option("--tail <n>", "lines from the end of each replica's log", positiveInt)
    .option("--since <duration>", "only lines newer than this (10m, 1h)")
    .option("--replica <name>", "only this replica (pod or container name)")
    .option("-p, --previous", "the previous (crashed) container's log")
    .option("--timestamps", "prefix each line with its timestamp");
  addCommonOptions(cmd);
  cmd.addHelpText(
    "after",
    `
Examples:
  $ vllmapp logs --follow
  $ vllmapp logs qwen3 --tail 100 --since 10m
  $ vllmapp logs --previous                          # why did it crash?
  $ vllmapp logs --local --json | jq .line`,
  );
  cmd.action(async (appName: string | undefined, raw) => {
    const opts = { ...commonOptions(raw), appName, follow: raw.follow, tail: raw.tail, since: raw.since, replica: raw.replica, previous: raw.previous, timestamps: raw.timestamps } as LogsOptions;
    const ui = uiFor(opts);
    await (await driverFor(opts)).logs(opts, ui);
  });
  return cmd;
}

export function statusCommand(): Command {
  const cmd = new Command("status")
    .description("replicas ready/desired, endpoint, model, image, age, and why it is not ready")
    .argument("[app]", "app name (default: the apps of the file)")
    .option("--show-api-key", "print the generated API key");
  addCommonOptions(cmd);
  cmd.addHelpText("after", `\nExamples:\n  $ vllmapp status\n  $ vllmapp status qwen3 --json\n  $ vllmapp status --local`);
  cmd.action(async (appName: string | undefined, raw) => {
    const opts = { ...commonOptions(raw), appName, showApiKey: raw.showApiKey } as StatusOptions;
    const ui = uiFor(opts);
    const driver = await driverFor(opts);
    print(ui, opts, driver, "status", await driver.status(opts, ui));
  });
  return cmd;
}

export function deleteCommand(): Command {
  const cmd = new Command("delete")
    .description("remove everything vllmapp created for the app (model caches stay unless --purge-cache)")
    .argument("[app]", "app name (default: the apps of the file)")
    .option("--purge-cache", "also delete the model cache (PVC, or the local copy)")
    .option("--no-wait", "do not wait until everything is gone");
  addCommonOptions(cmd);
  cmd.addHelpText("after", `\nExamples:\n  $ vllmapp delete\n  $ vllmapp delete qwen3 -n inference --purge-cache\n  $ vllmapp delete --local`);
  cmd.action(async (appName: string | undefined, raw) => {
    const opts = { ...commonOptions(raw), appName, purgeCache: raw.purgeCache, wait: raw.wait !== false } as DeleteOptions;
    const ui = uiFor(opts);
    const driver = await driverFor(opts);
    print(ui, opts, driver, "delete", await driver.delete(opts, ui));
  });
  return cmd;
}

export function listCommand(): Command {
  const cmd = new Command("list").description("the apps vllmapp manages in the namespace / on the Docker host");
  addCommonOptions(cmd, { file: false });
  cmd.addHelpText("after", `\nExamples:\n  $ vllmapp list\n  $ vllmapp list -n inference --json\n  $ vllmapp list --local`);
  cmd.action(async (raw) => {
    const opts = commonOptions(raw) as ListOptions;
    const ui = uiFor(opts);
    const driver = await driverFor(opts);
    print(ui, opts, driver, "list", await driver.list(opts, ui));
  });
  return cmd;
}
