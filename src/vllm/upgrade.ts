/**
 * The upgrade report (`vllmapp check --vllm-version X`): for one app, which of its extra_args flags break
 * on release X (unknown or removed there, or refused values), become ambiguous (an abbreviation that
 * matches several flags on X), or change meaning (type, choices, default, switch/value, deprecation),
 * each with the fix. Compares the catalog of the app's current release with X's. Pure.
 */
import type { Finding } from "../errors.js";
import { shellSplit } from "../text.js";
import type { AppConfig } from "../config/schema.js";
import { convert, Invalid } from "./py-values.js";
import { parserFor, substituteParameters, validateExtraArgs, type ArgToken } from "./serve-args.js";
import { catalogIndex, chooseCatalog, compareVersions, cudaFloor, loadCatalog, type CatalogFlag } from "./catalog.js";
import { metricFor, type MetricKey } from "./metrics.js";

export type FindingKind = "breaks" | "ambiguous" | "changes";

/**
 * One entry of the upgrade report (`check --vllm-version`, its --json shape): what moving to another release
 * does to a flag, ranked by kind and always with a fix. Not a Finding: it judges a change, not the app as it is.
 */
export interface UpgradeFinding {
  kind: FindingKind;
  /** the flag as written in extra_args */
  flag: string;
  /** field path in vllm-app.yaml, e.g. ["extra_args", 2] */
  path: (string | number)[];
  message: string;
  fix: string;
}

export interface AppUpgrade {
  app: string;
  /** the release the app's image runs today (its catalog) */
  from: string;
  to: string;
  findings: UpgradeFinding[];
}

/**
 * The catalogued release `X.Y.Z`, or the newest catalogued `X.Y.*` for `X.Y`; an error text when
 * there is none.
 */
export function resolveRelease(spec: string): { version: string } | { error: string; hint: string } {
  const releases = [...catalogIndex().releases].sort(compareVersions);
  const s = spec.replace(/^v/, "");
  if (/^\d+\.\d+\.\d+$/.test(s) && releases.includes(s)) return { version: s };
  const same = catalogIndex().same_as?.[s];
  if (same) return { version: same };
  if (/^\d+\.\d+$/.test(s)) {
    const minor = releases.filter((r) => r.startsWith(`${s}.`));
    if (minor.length) return { version: minor[minor.length - 1]! };
  }
  return {
    error: /^\d+\.\d+(\.\d+)?$/.test(s)
      ? `vllmapp has no catalog for vLLM ${spec}`
      : `--vllm-version takes a release like 0.33.0 or 0.33, got "${spec}"`,
    hint: `catalogued releases: ${releases.join(", ")}`,
  };
}

/** An app's extra_args as tokens with their field paths, parameters substituted (as render does). */
export function extraArgsTokens(app: AppConfig): ArgToken[] {
  let tokens: ArgToken[] = [];
  if (typeof app.extra_args === "string") {
    try {
      tokens = shellSplit(app.extra_args).map((value) => ({ value, path: ["extra_args"] }));
    } catch {
      return [];
    }
  } else if (app.extra_args) tokens = app.extra_args.map((value, i) => ({ value, path: ["extra_args", i] }));
  const params = new Map((app.parameters ?? []).map((p) => [p.name, String(p.value)] as [string, string]));
  return substituteParameters(tokens, params).tokens;
}

const show = (v: unknown) =>
  v === null || v === undefined ? "none" : typeof v === "string" ? `"${v}"` : JSON.stringify(v);

function typeName(f: CatalogFlag): string {
  if (f.kind === "switch") return "a switch";
  let t = f.type;
  while (t?.kind === "optional") t = t.inner;
  if (!t) return "a string";
  if (t.kind === "dataclass") return `a JSON ${t.config}`;
  if (t.kind === "enum") return `one of ${t.values.join(", ")}`;
  return (
    (
      {
        int: "an integer",
        float: "a number",
        str: "a string",
        json: "JSON",
        human_readable_int: "an integer (32k, 1M)",
        human_readable_int_or_auto: "an integer or auto",
        pybool: "a boolean",
      } as Record<string, string>
    )[t.kind] ?? t.kind
  );
}

/** The app's values as each release converts them: the same (JSON) when the type change does not matter to them. */
function sameValues(a: CatalogFlag, b: CatalogFlag, from: string, to: string, values: readonly string[]): boolean {
  if (!values.length) return a.kind === b.kind;
  const as = (f: CatalogFlag, release: string) => {
    try {
      return JSON.stringify(values.map((v) => convert(f.type, v, loadCatalog(release).schemas)));
    } catch (e) {
      if (e instanceof Invalid) return undefined;
      throw e;
    }
  };
  const x = as(a, from);
  return x !== undefined && x === as(b, to);
}

/** How flag `a` (release from) and `b` (release to) differ for a user who sets it to `values`. */
function meaningChanges(
  a: CatalogFlag,
  b: CatalogFlag,
  from: string,
  to: string,
  values: readonly string[],
): { message: string; fix: string }[] {
  const out: { message: string; fix: string }[] = [];
  if (typeName(a) !== typeName(b) && !sameValues(a, b, from, to, values))
    out.push({
      message: `takes ${typeName(b)} on ${to} (${typeName(a)} on ${from})`,
      fix: `check the value against \`vllm serve --help\` of ${to}`,
    });
  const ca = a.choices?.filter((c) => c !== null).map(String) ?? [];
  const cb = b.choices?.filter((c) => c !== null).map(String) ?? [];
  const gone = ca.filter((c) => !cb.includes(c));
  const added = cb.filter((c) => !ca.includes(c));
  if (a.choices && b.choices && (gone.length || added.length)) {
    out.push({
      message:
        `its choices changed on ${to}:${gone.length ? ` no longer ${gone.join(", ")};` : ""}${added.length ? ` new ${added.join(", ")}` : ""}`.replace(
          /;$/,
          "",
        ),
      fix: gone.length
        ? `if you pass ${gone.join(" or ")}, pick one of ${cb.join(", ")}`
        : "nothing to do unless you want a new choice",
    });
  } else if (a.choices && !b.choices)
    out.push({ message: `its choice list is gone on ${to} (any value of its type is accepted)`, fix: "nothing to do" });
  else if (!a.choices && b.choices)
    out.push({
      message: `takes only ${cb.join(", ")} on ${to}`,
      fix: `make sure the value is one of ${cb.join(", ")}`,
    });
  const isRepr = (d: unknown) => typeof d === "string" && /^\w+\(/.test(d);
  if (
    JSON.stringify(a.default ?? null) !== JSON.stringify(b.default ?? null) &&
    !isRepr(a.default) &&
    !isRepr(b.default)
  ) {
    out.push({
      message: `its default changed from ${show(a.default)} to ${show(b.default)} on ${to}`,
      fix: "nothing for this app, which sets it",
    });
  }
  if (b.deprecated && !a.deprecated)
    out.push({
      message: `is deprecated on ${to}${b.deprecation ? `: ${b.deprecation}` : ""}`,
      fix: b.replacement ? `use ${b.replacement}` : "plan to remove it",
    });
  return out;
}

/** The metric families the app's rendered objects read: the dashboard, the alerts, the autoscaler's query. */
function metricsUsed(app: AppConfig): { key: MetricKey; by: string }[] {
  const out: { key: MetricKey; by: string }[] = [];
  const add = (by: string, keys: MetricKey[]) => out.push(...keys.map((key) => ({ key, by })));
  if (app.monitoring?.dashboard)
    add("the dashboard", [
      "requestSuccess",
      "running",
      "waiting",
      "ttft",
      "interToken",
      "e2e",
      "queueTime",
      "promptTokens",
      "generationTokens",
      "kvCacheUsage",
      "prefixHits",
      "prefixQueries",
      "preemptions",
    ]);
  if (app.monitoring?.alerts) add("the alerts", ["ttft", "waiting", "kvCacheUsage", "preemptions"]);
  if (Array.isArray(app.scaling?.replicas))
    add(
      "the autoscaler's query",
      app.scaling?.metric && "request_rate" in app.scaling.metric ? ["requestSuccess"] : ["running", "waiting"],
    );
  return out;
}

/** What changes with the image itself: its CUDA floor, and the metric names the app's objects read. */
function imageChanges(app: AppConfig, from: string, to: string): UpgradeFinding[] {
  const out: UpgradeFinding[] = [];
  const a = cudaFloor(from);
  const b = cudaFloor(to);
  if (a && b && a.version !== b.version) {
    out.push({
      kind: "changes",
      flag: "",
      path: ["image"],
      message: `vLLM ${to}'s images are built for CUDA ${b.version} (NVIDIA driver ≥ ${b.min_driver ?? "?"}); ${from}'s for CUDA ${a.version} (≥ ${a.min_driver ?? "?"})`,
      fix:
        compareVersions(b.version, a.version) > 0
          ? `make sure the GPU nodes run driver ${b.min_driver ?? `for CUDA ${b.version}`} or newer (deploy checks the nodes' driver labels)`
          : "nothing to do",
    });
  }
  const seen = new Set<string>();
  for (const { key, by } of metricsUsed(app)) {
    const now = metricFor(key, from);
    const next = metricFor(key, to);
    const id = `${key} ${by}`;
    if (seen.has(id) || (now.family === next.family && !next.problem)) continue;
    seen.add(id);
    out.push({
      kind: "changes",
      flag: "",
      path: ["monitoring"],
      message:
        next.problem && now.family === next.family
          ? `${by} reads ${now.series}: ${next.problem.message}`
          : `${by} reads ${now.series} on ${from}; vLLM ${to} serves it as ${next.series}`,
      fix: "vllmapp renders the image's own names; update dashboards, alerts or recording rules made outside vllmapp",
    });
  }
  return out;
}

function fixOf(p: Finding): string {
  return p.hint ?? "remove it from extra_args";
}

/** The upgrade report of one app from its current release to `to`. */
export function upgradeApp(app: AppConfig, defaultImage: string, to: string): AppUpgrade {
  const from = chooseCatalog(app.image, app.vllm_version, defaultImage).version;
  const tokens = extraArgsTokens(app);
  const now = validateExtraArgs(tokens, true, { version: from });
  const next = validateExtraArgs(tokens, true, { version: to, target: true });
  const key = (p: { path: readonly (string | number)[] }) => JSON.stringify(p.path);
  const brokenNow = new Set(now.problems.filter((p) => p.severity === "error").map(key));
  const findings: UpgradeFinding[] = [];
  const written = (path: readonly (string | number)[]) => {
    const t = tokens.find((x) => JSON.stringify(x.path) === JSON.stringify(path));
    return t ? t.value.split("=")[0]! : "";
  };
  for (const p of next.problems) {
    if (p.severity !== "error" || brokenNow.has(key(p))) continue;
    findings.push({
      kind: /is ambiguous/.test(p.message) ? "ambiguous" : "breaks",
      flag: written(p.path),
      path: p.path,
      message: p.message,
      fix: fixOf(p),
    });
  }
  // an abbreviation that still works but now means another flag
  const toCat = loadCatalog(to);
  const fromCat = loadCatalog(from);
  const byName = (flags: CatalogFlag[]) => new Map(flags.map((f) => [f.name, f]));
  const fromFlags = byName(fromCat.flags);
  const toFlags = byName(toCat.flags);
  const nextUse = new Map(next.flagUses.map((u) => [key(u), u]));
  for (const u of now.flagUses) {
    const n = nextUse.get(key(u));
    // an abbreviation that now resolves to another flag; a name written in full that both releases know
    // (--disable-log-requests: its own switch on 0.11, --enable-log-requests's negation on 0.33) keeps its meaning
    const exactOnBoth = parserFor(from).options.has(u.written) && parserFor(to).options.has(u.written);
    if (n && n.name !== u.name && n.written === u.written && !exactOnBoth) {
      findings.push({
        kind: "changes",
        flag: u.written,
        path: u.path,
        message: `${u.written} means ${u.name} on ${from} but ${n.name} on ${to}`,
        fix: `write ${u.name} in full`,
      });
    }
    if (!n || n.name !== u.name) continue;
    const a = fromFlags.get(u.name);
    const b = toFlags.get(u.name);
    if (!a || !b) continue;
    for (const c of meaningChanges(a, b, from, to, u.values))
      findings.push({ kind: "changes", flag: u.written, path: u.path, message: `${u.name}: ${c.message}`, fix: c.fix });
  }
  findings.push(
    ...imageChanges(app, chooseCatalog(app.image, app.vllm_version, defaultImage).imageVersion ?? from, to),
  );
  const order: Record<FindingKind, number> = { breaks: 0, ambiguous: 1, changes: 2 };
  findings.sort((x, y) => order[x.kind] - order[y.kind]);
  return { app: app.name, from, to, findings };
}

/** The human table: one block per app, one row per finding. */
export function formatUpgrade(
  reports: readonly AppUpgrade[],
  formatPath: (p: readonly (string | number)[]) => string,
): string {
  const lines: string[] = [];
  for (const r of reports) {
    const breaks = r.findings.filter((f) => f.kind !== "changes").length;
    const changes = r.findings.length - breaks;
    lines.push(
      `${r.app}: vLLM ${r.from} → ${r.to}: ${breaks ? `${breaks} flag${breaks === 1 ? " breaks" : "s break"}` : "nothing breaks"}${changes ? `, ${changes} change${changes === 1 ? "" : "s"}` : ""}`,
    );
    if (!r.findings.length) continue;
    const rows = r.findings.map((f) => [f.kind, formatPath(f.path), f.flag, `${f.message} — fix: ${f.fix}`]);
    const head = ["", "field", "flag", "what happens — fix"];
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
    const fmt = (row: string[]) => `  ${row.map((c, i) => (i < 3 ? c.padEnd(w[i]!) : c)).join("  ")}`.trimEnd();
    lines.push(fmt(head));
    for (const row of rows) lines.push(fmt(row));
  }
  return lines.join("\n");
}
