/** `vllmapp render`: flags → plan → print (--dry-run) or write one folder per app. Never touches a cluster or Docker. */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Command } from "commander";
import * as z from "zod/mini";
import { fsUsageError, UsageError } from "../errors.js";
import { apiKeyRef, createApiKeyCommand } from "../render/labels.js";
import {
  NEWEST_SUPPORTED_MINOR,
  OLDEST_RENDERED_MINOR,
  OLDEST_SUPPORTED_MINOR,
  parseKubeVersion,
} from "../render/kube-version.js";
import type { Plan, PlannedApp } from "../app/plan.js";
import type { K8sObject, RenderedApp } from "../render/types.js";
import type { Ui } from "../ui/output.js";
import {
  addCommonOptions,
  connectionShape,
  converted,
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
import { missingSecrets, missingSecretWarning } from "../render/secret-refs.js";

export const renderOptionsSchema = converted(
  z.object({
    ...fileShape,
    ...targetShape,
    ...connectionShape,
    ...outputShape,
    param: paramsFlag,
    set: setFlag,
    templates: z.optional(z.string()),
    dryRun: z._default(z.boolean(), false),
    showOnly: z._default(z.array(z.string()), []),
    syncWaves: z._default(z.boolean(), true),
    out: z.optional(z.string()),
    resolve: z._default(z.boolean(), false),
    offline: z._default(z.boolean(), false),
    gpus: z.optional(z.string()),
    kubeVersion: z.optional(z.string()),
  }),
  (o) => {
    if (o.dryRun && o.out !== undefined)
      throw new UsageError(
        "--out and --dry-run contradict each other: --dry-run prints to stdout, --out writes files",
        "pass one of them",
      );
    const target = targetOf(o);
    rejectIneffective(target, [
      ["--gpus", o.gpus, "docker"],
      ["--kube-version", o.kubeVersion, "kubernetes"],
    ]);
    const kube = o.kubeVersion === undefined ? undefined : parseKubeVersion(o.kubeVersion);
    if (kube && "problem" in kube) throw new UsageError(kube.problem, kube.hint);
    // without --resolve, render reads no kubeconfig: these would be silently ignored
    for (const [flag, given] of [
      ["--context", o.context],
      ["--kubeconfig", o.kubeconfig],
    ] as const) {
      if (given !== undefined && !o.resolve)
        throw new UsageError(
          `${flag} has no effect on render without --resolve: render alone reads no kubeconfig`,
          `drop ${flag}, or add --resolve (which looks up run outputs in the cluster)`,
        );
    }
    if (o.offline && !o.resolve)
      throw new UsageError(
        "--offline has no effect without --resolve: render alone never contacts anything",
        "drop --offline, or add --resolve",
      );
    if (o.showOnly.length && !o.dryRun)
      throw new UsageError(
        "--show-only picks objects to print, and render prints only with --dry-run",
        "add --dry-run",
      );
    if (o.showOnly.length && target === "docker")
      throw new UsageError(
        "--show-only picks Kubernetes objects; the Docker target renders none",
        "drop --show-only, or drop --local",
      );
    for (const s of o.showOnly)
      if (!/^[A-Za-z]+\/[a-z0-9.-]+$/.test(s))
        throw new UsageError(`--show-only ${s}: write Kind/name`, "e.g. --show-only Deployment/qwen3");
    if (!o.dryRun && o.output !== undefined && o.output !== "json")
      throw new UsageError(
        `-o ${o.output} prints to stdout, and render prints only with --dry-run`,
        "add --dry-run (without it render writes files; --json prints what it wrote)",
      );
    return { ...o, target, params: o.param, ...(kube ? { kubeMinor: kube.minor } : {}), ...outputOf(o) };
  },
);

export type RenderOptions = z.output<typeof renderOptionsSchema>;

export interface RenderResult {
  apps: RenderedApp[];
  written: { app: string; dir: string; files: string[] }[];
  /** DIR/kustomization.yaml over the apps' folders (multi-app files), when written */
  kustomization: string | null;
}

/** Load, (optionally) resolve and render; write files unless --dry-run. */
export async function runRender(opts: RenderOptions, ui: Ui): Promise<RenderResult> {
  const p = await planRender(opts, ui);
  for (const a of p.apps)
    if (a.podTemplate?.problem)
      ui.warn(`${a.rendered.name}: ${a.podTemplate.problem}: the pod is rendered without it (deploy refuses to go on)`);
  const rendered = opts.showOnly.length
    ? showOnly(
        p.apps.map((a) => a.rendered),
        opts.showOnly,
      )
    : p.apps.map((a) => a.rendered);
  const keyless = warnMissingSecrets(p.apps, ui);
  if (opts.dryRun) return { apps: rendered, written: [], kustomization: null };
  return { apps: rendered, ...(await writeRendered(rendered, opts, keyless, ui)) };
}

/**
 * The plan render prints: without --resolve, from the file alone; with it, through what deploy reads from the
 * cluster and the sources' backends. Its diagnostics are reported on the way out.
 */
async function planRender(opts: RenderOptions, ui: Ui): Promise<Plan> {
  const [{ plan, reportPlan }, { nodePlanIo }] = await Promise.all([
    import("../app/plan.js"),
    import("../app/node-io.js"),
  ]);
  // --resolve reads what deploy reads from the cluster (the context's namespace, a named PodTemplate, learned
  // budgets, run outputs), through one connection opened when first needed: it prints what deploy applies
  const cluster =
    opts.resolve && opts.target === "kubernetes"
      ? (await import("../cluster/plan-reads.js")).lazyClusterReads({
          context: opts.context,
          kubeconfig: opts.kubeconfig,
        })
      : undefined;
  const resolve = opts.resolve
    ? await (
        await import("./resolver.js")
      ).makeSourceResolver(
        {
          mode: "render",
          offline: opts.offline,
          namespace: opts.namespace,
          context: opts.context,
          kubeconfig: opts.kubeconfig,
        },
        cluster,
      )
    : undefined;
  // without --kube-version, --resolve renders for the server's minor, as deploy does
  const serverMinor = cluster && opts.kubeMinor === undefined ? await cluster.serverMinor() : undefined;
  const kubeMinor =
    opts.kubeMinor ?? (serverMinor !== undefined && serverMinor >= OLDEST_RENDERED_MINOR ? serverMinor : undefined);
  const p = await plan(
    {
      file: opts.file,
      app: opts.app,
      target: opts.target,
      namespace: opts.namespace,
      params: opts.params,
      set: opts.set,
      dockerGpus: opts.gpus,
      syncWaves: opts.syncWaves,
      kubeMinor,
    },
    { ...nodePlanIo({ templates: opts.templates, resolve }), ...(cluster ? { cluster } : {}) },
  );
  reportPlan(p, ui);
  return p;
}

/**
 * Warn of the Secrets the pods read that the output does not fill: a generated API key's (rendered without
 * data: outside `deploy` the user creates the key) and the others (<app>-secrets, a pod_template's own).
 * Answers the apps whose generated key is missing, for which no "kubectl apply" hint is printed.
 */
function warnMissingSecrets(apps: readonly PlannedApp[], ui: Ui): Set<string> {
  const keyless = new Set<string>();
  for (const { loaded, rendered: r } of apps) {
    const key = apiKeyRef(loaded.config);
    if (!r.objects || !key?.generated) continue;
    keyless.add(r.name);
    ui.warn(
      `${r.name}: Secret ${key.secret} is rendered without data (\`vllmapp deploy\` fills it), so applied as it is the pods stay in CreateContainerConfigError. ` +
        `Create the key once, before or after applying (it is generated on your machine and never printed):\n  ${createApiKeyCommand(key.secret, key.key, r.namespace)}`,
    );
  }
  for (const { rendered: r } of apps)
    for (const s of r.objects ? missingSecrets(r.objects) : []) ui.warn(missingSecretWarning(r.name, s, r.namespace));
  return keyless;
}

/**
 * Write each app to DIR/<app>/ (always: adding an app to the file never moves another app's files), and one
 * DIR/kustomization.yaml over the apps of a multi-app file (not for --app, which renders a part of it), unless
 * a kustomization vllmapp did not write is in the way.
 */
async function writeRendered(
  rendered: readonly RenderedApp[],
  opts: Pick<RenderOptions, "out" | "app">,
  keyless: ReadonlySet<string>,
  ui: Ui,
): Promise<Pick<RenderResult, "written" | "kustomization">> {
  const { renderFiles, topKustomization, RENDER_MARKER } = await import("../render/format.js");
  const written: RenderResult["written"] = [];
  const root = opts.out ?? "rendered";
  for (const app of rendered) {
    const dir = path.join(root, app.name);
    const files = renderFiles(app);
    try {
      writeFolder(dir, files, RENDER_MARKER);
    } catch (e) {
      throw fsUsageError("write", dir, e, "choose a folder you can write to: --out DIR");
    }
    written.push({ app: app.name, dir, files: [...files.keys()] });
    const apply = app.objects ? (keyless.has(app.name) ? "" : ` (kubectl apply -k ${dir})`) : "";
    ui.success(`wrote ${files.size} files to ${dir}${apply}`);
  }
  const kustomized = rendered.filter((a) => a.objects);
  if (kustomized.length <= 1 || opts.app !== undefined) return { written, kustomization: null };
  const file = path.join(root, "kustomization.yaml");
  if (existsSync(file) && !readFileSync(file, "utf8").startsWith(RENDER_MARKER)) {
    ui.warn(
      `${file} was not written by vllmapp; left as it is (list the app folders in it: ${kustomized.map((a) => `${a.name}/`).join(", ")})`,
    );
    return { written, kustomization: null };
  }
  try {
    writeFileSync(file, topKustomization(kustomized.map((a) => a.name)));
  } catch (e) {
    throw fsUsageError("write", file, e, "choose a folder you can write to: --out DIR");
  }
  ui.success(`wrote ${file} over ${kustomized.length} apps${keyless.size ? "" : ` (kubectl apply -k ${root})`}`);
  return { written, kustomization: file };
}

/** `--show-only Kind/name`: only those objects (kind without case), each of which must exist. */
function showOnly(apps: RenderedApp[], wanted: readonly string[]): RenderedApp[] {
  const key = (o: K8sObject) => `${o.kind.toLowerCase()}/${o.metadata.name}`;
  const all = apps.flatMap((a) => a.objects ?? []);
  const missing = wanted.filter((w) => !all.some((o) => key(o) === w.toLowerCase()));
  if (missing.length) {
    throw new UsageError(
      `--show-only ${missing.join(", ")}: no such object in this render`,
      `the objects: ${all.map((o) => `${o.kind}/${o.metadata.name}`).join(", ")}`,
    );
  }
  const keep = new Set(wanted.map((w) => w.toLowerCase()));
  return apps
    .map((a) => ({ ...a, ...(a.objects ? { objects: a.objects.filter((o) => keep.has(key(o))) } : {}) }))
    .filter((a) => !a.objects || a.objects.length);
}

/** Replace the folder's vllmapp-written files with the new set; leave files vllmapp did not write. */
function writeFolder(dir: string, files: Map<string, string>, marker: string): void {
  mkdirSync(dir, { recursive: true });
  const kustomization = path.join(dir, "kustomization.yaml");
  const previous: string[] = [];
  if (existsSync(kustomization)) {
    const text = readFileSync(kustomization, "utf8");
    if (text.startsWith(marker)) {
      for (const m of text.matchAll(/^\s*-\s+(\S+\.yaml)\s*$/gm)) previous.push(m[1]!);
    }
  }
  for (const [name, content] of files) {
    const tmp = path.join(dir, `.${name}.tmp`);
    writeFileSync(tmp, content);
    renameSync(tmp, path.join(dir, name));
  }
  for (const stale of previous)
    if (!files.has(stale) && readdirSync(dir).includes(stale)) rmSync(path.join(dir, stale));
}

export function renderCommand(): Command {
  const cmd = new Command("render")
    .description(
      "render the vllm serve command and the Kubernetes manifests (or docker run) without touching a cluster or Docker",
    )
    .option("--dry-run", "print to stdout instead of writing files")
    .option(
      "--out <dir>",
      "folder to write: DIR/<app>/ for each app, and DIR/kustomization.yaml over them for a multi-app file (default ./rendered)",
    )
    .option(
      "--show-only <Kind/name>",
      "print only this object (repeatable; with --dry-run)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option("--no-sync-waves", "no argocd.argoproj.io/sync-wave annotations from depends_on")
    .option("--resolve", "resolve run outputs and check model sources against their backends")
    .option("--offline", "with --resolve: skip the checks that need the network (a warning says what was skipped)")
    .option("--gpus <devices>", "docker: --gpus value (all, 0 for none, or 0,1)")
    .option(
      "--kube-version <X.Y>",
      `the Kubernetes minor to render for (1.${OLDEST_SUPPORTED_MINOR} to 1.${NEWEST_SUPPORTED_MINOR}; default 1.${NEWEST_SUPPORTED_MINOR})`,
    );
  addCommonOptions(cmd);
  cmd.addHelpText(
    "after",
    `
Examples:
  $ vllmapp render --dry-run                                   # ./vllm-app.yaml's manifests as YAML on stdout
  $ vllmapp render --dry-run -f deploy/llama/vllm-app.yaml     # another file
  $ vllmapp render --dry-run -o json                           # one JSON document
  $ vllmapp render --out deploy/                               # deploy/<app>/: one file per object + kustomization.yaml
  $ cat vllm-app.yaml | vllmapp render --dry-run -f -          # the file from stdin (Argo CD plugins, pipelines)
  $ vllmapp render --dry-run --show-only Deployment/qwen3      # one object
  $ vllmapp render --dry-run --set resources.gpu=H100:2        # override a field for this render
  $ vllmapp render --dry-run --kube-version 1.31               # for a cluster at Kubernetes 1.31
  $ vllmapp render --dry-run --local                           # the docker run command`,
  );
  cmd.action(async (raw) => {
    const opts = parseOptions(renderOptionsSchema, raw);
    const ui = uiFor(opts);
    const result = await runRender(opts, ui);
    if (opts.dryRun) {
      const { formatJson, formatText, formatYaml } = await import("../render/format.js");
      const format = opts.output ?? (opts.target === "docker" ? "text" : "yaml");
      ui.out(
        format === "json"
          ? formatJson(result.apps)
          : format === "text"
            ? formatText(result.apps)
            : formatYaml(result.apps),
      );
    } else if (opts.json) {
      ui.out(JSON.stringify({ written: result.written, kustomization: result.kustomization }, null, 2));
    }
  });
  return cmd;
}
