/**
 * The depends_on graph: loading an app file and the files its apps depend on, resolving each reference
 * once (through the LoadDeps passed in), the deploy order with cycles rejected, selection with
 * dependencies, and deploy waves. Pure except for the LoadDeps passed in.
 */
import { ConfigError, describeFsError, VllmappError, type Diagnostic } from "../errors.js";
import { didYouMean } from "../text.js";
import {
  decodeConfigBytes,
  parseConfigText,
  sortDiagnostics,
  type LoadDeps,
  type LoadedApp,
  type LoadResult,
  type PartialApp,
} from "./load.js";

export interface LoadedConfig extends LoadResult {
  /** every app loaded (of the file and the files it depends on), dependencies first */
  order: LoadedApp[];
  /** each loaded app's dependencies, resolved */
  dependencies: ReadonlyMap<LoadedApp, readonly LoadedApp[]>;
}

/** An app of the graph, keyed "file\0name", with its dependencies' keys ("file\0*": every app of a file). */
interface GraphNode {
  app: LoadedApp;
  deps: string[];
}

/** What loading found so far: each file read, and the problems of all of them. */
interface Loading {
  /** the file named on the command line (only its apps take --set, only its partial apps are kept) */
  root: string;
  deps: LoadDeps;
  byFile: Map<string, LoadResult>;
  diagnostics: Diagnostic[];
  warnings: Diagnostic[];
  /** the root file's apps as far as they validated, when it has errors */
  rootPartial?: PartialApp[];
}

/**
 * Load a file and every file its apps' `depends_on` names (by path), resolve dependencies and
 * reject cycles. Returns apps in deploy order (dependencies first) and each app's resolved dependencies:
 * the one place a depends_on reference (`name`, `./file.yaml`, `./file.yaml#app`) is resolved.
 */
export function loadConfig(file: string, deps: LoadDeps): LoadedConfig {
  const loading: Loading = { root: file, deps, byFile: new Map(), diagnostics: [], warnings: [] };
  const { byFile, diagnostics, warnings } = loading;
  const queue = [file];
  const nodes = new Map<string, GraphNode>();
  while (queue.length) {
    const f = queue.shift()!;
    if (byFile.has(f)) continue;
    const r = readConfigFile(loading, f);
    if (!r) continue;
    const local = new Set(r.apps.map((a) => a.config.name));
    for (const app of r.apps) {
      const edges: string[] = [];
      app.config.depends_on?.forEach((ref, i) => {
        const resolved = resolveReference(ref, i, app, local, deps);
        if ("problem" in resolved) diagnostics.push(resolved.problem);
        else {
          if (resolved.file) queue.push(resolved.file);
          edges.push(resolved.edge);
        }
      });
      nodes.set(`${app.file}\0${app.config.name}`, { app, deps: edges });
    }
  }
  expandEdges(nodes, byFile, diagnostics);
  const order = deployOrder(nodes, diagnostics);
  if (diagnostics.length) {
    const partial = loading.rootPartial ?? byFile.get(file)?.apps.map((app) => ({ app, dropped: [] }));
    throw new ConfigError(sortDiagnostics(diagnostics), partial, warnings);
  }
  const root = byFile.get(file)!;
  const dependencies = new Map<LoadedApp, LoadedApp[]>();
  for (const node of nodes.values())
    dependencies.set(
      node.app,
      node.deps.map((d) => nodes.get(d)!.app),
    );
  return { apps: root.apps, warnings, order, dependencies };
}

/**
 * Read and parse one file of the graph (once). A file that cannot be read, or that has errors, adds its
 * problems (and, for the root file, its partial apps) to `loading` and gives undefined.
 */
function readConfigFile(loading: Loading, f: string): LoadResult | undefined {
  const { byFile, diagnostics, warnings, deps } = loading;
  if (byFile.has(f)) return byFile.get(f);
  let content: string | Uint8Array;
  try {
    content = deps.readFile(f);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!(e instanceof VllmappError) && typeof code !== "string") throw e;
    const hint =
      f === loading.root
        ? "pass the file with -f, or run `vllmapp init` to write one"
        : "depends_on paths are relative to the file that names them";
    diagnostics.push(
      e instanceof VllmappError
        ? { file: f, line: 1, col: 1, path: "", severity: "error", message: e.message, hint: e.hint ?? hint }
        : {
            file: f,
            line: 1,
            col: 1,
            path: "",
            severity: "error",
            message: `cannot read ${f}: ${code} (${describeFsError(code!)})`,
            hint,
          },
    );
    return undefined;
  }
  try {
    const r = parseConfigText(
      typeof content === "string" ? content : decodeConfigBytes(content, f),
      f,
      f === loading.root ? deps.editRoot : undefined,
    );
    byFile.set(f, r);
    warnings.push(...r.warnings);
    return r;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    diagnostics.push(...e.diagnostics);
    warnings.push(...e.warnings);
    if (f === loading.root) loading.rootPartial = e.partial as PartialApp[];
    return undefined;
  }
}

/**
 * What `depends_on[i]` of an app names: an app of the same file (by name), or a file by path (all its
 * apps, or `#app` one of them), which is then loaded too; or a problem (no such app here, no such file).
 */
function resolveReference(
  ref: string,
  i: number,
  app: LoadedApp,
  local: ReadonlySet<string>,
  deps: Pick<LoadDeps, "resolvePath" | "exists">,
): { edge: string; file?: string } | { problem: Diagnostic } {
  const f = app.file;
  const pos = app.locate(["depends_on", i]);
  const [pathPart, namePart] = ref.includes("#") ? (ref.split("#", 2) as [string, string]) : [ref, undefined];
  if (!ref.includes("#") && local.has(ref)) return { edge: `${f}\0${ref}` };
  const looksLikePath = ref.includes("#") || /[/\\]|\.ya?ml$/.test(ref);
  if (!looksLikePath) {
    const guess = didYouMean(ref, local);
    return {
      problem: {
        file: f,
        ...pos,
        path: `depends_on[${i}]`,
        severity: "error",
        message: `no app named "${ref}" in this file${guess ? `; did you mean "${guess}"?` : ""}`,
        hint: "name an app of this file, or another file by path (./other.yaml or ./other.yaml#app)",
      },
    };
  }
  const target = deps.resolvePath(f, pathPart);
  if (!deps.exists(target)) {
    return {
      problem: {
        file: f,
        ...pos,
        path: `depends_on[${i}]`,
        severity: "error",
        message: `file ${pathPart} does not exist (resolved to ${target})`,
      },
    };
  }
  return { edge: namePart ? `${target}\0${namePart}` : `${target}\0*`, file: target };
}

/** Each node's "file\0*" dependency becomes every app of that file; a name another file lacks is a problem. */
function expandEdges(
  nodes: Map<string, GraphNode>,
  byFile: ReadonlyMap<string, LoadResult>,
  diagnostics: Diagnostic[],
): void {
  for (const [key, node] of nodes) {
    const expanded: string[] = [];
    node.deps.forEach((d) => {
      const [df, dn] = d.split("\0") as [string, string];
      if (dn === "*") {
        for (const a of byFile.get(df)?.apps ?? []) expanded.push(`${df}\0${a.config.name}`);
      } else if (nodes.has(d)) {
        expanded.push(d);
      } else if (byFile.has(df)) {
        const idx = node.app.config.depends_on!.findIndex((r) => r.endsWith(`#${dn}`));
        diagnostics.push({
          file: node.app.file,
          ...node.app.locate(["depends_on", Math.max(idx, 0)]),
          path: `depends_on[${Math.max(idx, 0)}]`,
          severity: "error",
          message: `${df} has no app named "${dn}"`,
          hint: `apps there: ${byFile
            .get(df)!
            .apps.map((a) => a.config.name)
            .join(", ")}`,
        });
      }
    });
    nodes.set(key, { ...node, deps: expanded });
  }
}

/** The apps in deploy order (dependencies first, depth-first); each dependency cycle is a problem, once. */
function deployOrder(nodes: ReadonlyMap<string, GraphNode>, diagnostics: Diagnostic[]): LoadedApp[] {
  const order: LoadedApp[] = [];
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const reported = new Set<string>();
  const visit = (key: string) => {
    const s = state.get(key);
    if (s === "done") return;
    if (s === "visiting") {
      const cycle = [...stack.slice(stack.indexOf(key)), key];
      const id = [...cycle].sort().join("|");
      if (!reported.has(id)) {
        reported.add(id);
        const app = nodes.get(key)!.app;
        const names = cycle.map((k) => k.split("\0")[1]);
        diagnostics.push({
          file: app.file,
          ...app.locate(["depends_on"]),
          path: "depends_on",
          severity: "error",
          message: `dependency cycle: ${names.join(" → ")}`,
          hint: "remove one of these depends_on entries",
        });
      }
      return;
    }
    state.set(key, "visiting");
    stack.push(key);
    for (const d of nodes.get(key)?.deps ?? []) visit(d);
    stack.pop();
    state.set(key, "done");
    order.push(nodes.get(key)!.app);
  };
  for (const key of nodes.keys()) visit(key);
  return order;
}

/** The apps `roots` depend on, directly or not, and `roots` themselves, in deploy order. */
export function withDependencies(
  roots: readonly LoadedApp[],
  loaded: Pick<LoadedConfig, "order" | "dependencies">,
): LoadedApp[] {
  const wanted = new Set<LoadedApp>();
  const stack = [...roots];
  while (stack.length) {
    const a = stack.pop()!;
    if (wanted.has(a)) continue;
    wanted.add(a);
    stack.push(...(loaded.dependencies.get(a) ?? []));
  }
  return loaded.order.filter((a) => wanted.has(a));
}

/**
 * Deploy waves: items in `order` (dependencies first) grouped so that each comes after every item it
 * depends on; the items of one wave are independent and can be deployed at once.
 */
export function deployWaves<T>(order: readonly T[], dependencies: ReadonlyMap<T, readonly T[]>): T[][] {
  const level = new Map<T, number>();
  const waves: T[][] = [];
  for (const item of order) {
    const l = Math.max(-1, ...(dependencies.get(item) ?? []).map((d) => level.get(d) ?? -1)) + 1;
    level.set(item, l);
    (waves[l] ??= []).push(item);
  }
  return waves;
}
