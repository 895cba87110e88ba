/**
 * The `vllm serve` argv (README "vLLM flag catalogs") and offline validation of extra_args against the catalog of the image's
 * vLLM release (templates/vllm/catalogs/, see catalog.ts). It replays what the real parser does:
 * vLLM's FlexibleArgumentParser rewrites (underscores, -O, dotted JSON keys), then Python 3.12 argparse
 * (exact, `=`, abbreviated and single-dash options with attached values, nargs, negative numbers), the
 * option's type conversion, then its choices, then pydantic's validation of JSON config objects. Pure
 * (catalogs are read once, on demand).
 */
import type { Finding } from "../errors.js";
import { didYouMean } from "../text.js";
import { Invalid, convert, humanReadableInt, pyJsonLoads, type ConvertContext } from "./py-values.js";
import { catalogIndex, loadCatalog, loadProbes, namedRelease, type Catalog, type CatalogFlag } from "./catalog.js";

/** Flags vllmapp sets itself, and the vllm-app.yaml field to use instead. */
export const OWNED_FLAGS: Record<string, { field?: string; why: string }> = {
  "--port": { field: "port", why: "set port: in vllm-app.yaml" },
  "--served-model-name": { field: "model_id", why: "set model_id: in vllm-app.yaml" },
  "--model": { field: "model_hf_path", why: "set model_hf_path: or model_path: in vllm-app.yaml" },
  "--api-key": {
    field: "requires_auth",
    why: "set requires_auth: true; vllmapp generates the key into a Secret and passes it as VLLM_API_KEY",
  },
  "--host": {
    why: "vllmapp makes the server listen on all interfaces of the container (port: sets the port); remove --host",
  },
};

export interface ArgToken {
  value: string;
  /** field path of the token in vllm-app.yaml, e.g. ["extra_args", 2] */
  path: (string | number)[];
}

export interface ExtraArgsResult {
  args: string[];
  problems: Finding[];
  /** canonical names of the flags set */
  flagsSet: Set<string>;
  /** each flag set, with the option string as written (after vLLM's rewrites), where, and the values it took */
  flagUses: { name: string; written: string; path: (string | number)[]; values: string[] }[];
  /** the release the messages name (catalog.ts namedRelease), for the checks that follow (serve-values.ts) */
  named: string;
}

interface Opt {
  flag: CatalogFlag;
  negated: boolean;
}
interface Parser {
  catalog: Catalog;
  options: Map<string, Opt>;
  negativeLike: boolean;
}

const parsers = new Map<string, Parser>();
export function parserFor(version: string): Parser {
  let p = parsers.get(version);
  if (!p) {
    const catalog = loadCatalog(version);
    const options = new Map<string, Opt>();
    for (const flag of catalog.flags) {
      for (const o of [flag.name, ...flag.aliases]) options.set(o, { flag, negated: false });
      for (const o of flag.negations) options.set(o, { flag, negated: true });
    }
    const negativeLike = [...options.keys()].some((o) => /^-\d+$|^-\d*\.\d+$/.test(o));
    p = { catalog, options, negativeLike };
    parsers.set(version, p);
  }
  return p;
}

/** One argument after vLLM's rewrites, and the extra_args token it came from. */
interface Arg {
  value: string;
  src: number;
  json?: unknown;
}

type Classified =
  | { kind: "A" }
  | { kind: "O"; opt: Opt; optionString: string; explicit?: string; abbreviatedFrom?: string }
  | { kind: "unknown"; optionString: string }
  | { kind: "ambiguous"; matches: string[] };

const NEGATIVE_NUMBER = /^-\d+$|^-\d*\.\d+$/;

/** Python 3.12 argparse _parse_optional. */
function classify(p: Parser, arg: string): Classified {
  if (!arg || arg[0] !== "-") return { kind: "A" };
  const exact = p.options.get(arg);
  if (exact) return { kind: "O", opt: exact, optionString: arg };
  if (arg.length === 1) return { kind: "A" };
  const eq = arg.indexOf("=");
  if (eq >= 0) {
    const o = p.options.get(arg.slice(0, eq));
    if (o) return { kind: "O", opt: o, optionString: arg.slice(0, eq), explicit: arg.slice(eq + 1) };
  }
  const tuples: { opt: Opt; optionString: string; explicit?: string }[] = [];
  if (arg[1] === "-") {
    const prefix = eq >= 0 ? arg.slice(0, eq) : arg;
    const explicit = eq >= 0 ? arg.slice(eq + 1) : undefined;
    for (const [o, opt] of p.options)
      if (o.startsWith(prefix)) tuples.push({ opt, optionString: o, ...(explicit !== undefined ? { explicit } : {}) });
  } else {
    const short = arg.slice(0, 2);
    for (const [o, opt] of p.options) {
      if (o === short) tuples.push({ opt, optionString: o, explicit: arg.slice(2) });
      else if (o.startsWith(arg)) tuples.push({ opt, optionString: o });
    }
  }
  if (tuples.length > 1) return { kind: "ambiguous", matches: tuples.map((t) => t.optionString) };
  if (tuples.length === 1) return { kind: "O", ...tuples[0]!, abbreviatedFrom: arg };
  if (NEGATIVE_NUMBER.test(arg) && !p.negativeLike) return { kind: "A" };
  if (arg.includes(" ")) return { kind: "A" };
  return { kind: "unknown", optionString: eq >= 0 ? arg.slice(0, eq) : arg };
}

/** FlexibleArgumentParser.parse_args: the rewrites vLLM makes before argparse sees the arguments. */
function rewrite(p: Parser, values: readonly string[]): { args: Arg[]; error?: { src: number; message: string } } {
  const hasOptLevel = p.options.has("--optimization-level");
  const legacyO = p.options.get("-O")?.flag.name === "--compilation-config";
  const out: Arg[] = [];
  for (let i = 0; i < values.length; i++) {
    const arg = values[i]!;
    if (arg.startsWith("--help=")) out.push({ value: "--help", src: i });
    else if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const key = eq >= 0 ? arg.slice(0, eq) : arg;
      const dot = key.indexOf(".");
      const fixed = dot >= 0 ? key.slice(0, dot).replace(/_/g, "-") + key.slice(dot) : key.replace(/_/g, "-");
      out.push({ value: eq >= 0 ? `${fixed}=${arg.slice(eq + 1)}` : fixed, src: i });
    } else if (hasOptLevel && arg.startsWith("-O") && arg !== "-O") {
      out.push(
        { value: "--optimization-level", src: i },
        { value: arg[2] === "=" ? arg.slice(3) : arg.slice(2), src: i },
      );
    } else if (hasOptLevel && arg === "-O" && ["0", "1", "2", "3"].includes(values[i + 1] ?? "")) {
      out.push({ value: "--optimization-level", src: i });
    } else if (!hasOptLevel && legacyO && arg.startsWith("-O") && arg !== "-O" && arg[2] !== ".") {
      // releases before --optimization-level: -O3 / -O=3 / -Odecode mean -O.level=...
      out.push({ value: `-O.level=${arg[2] === "=" ? arg.slice(3) : arg.slice(2)}`, src: i });
    } else if (!hasOptLevel && legacyO && arg === "-O" && ["0", "1", "2", "3"].includes(values[i + 1] ?? "")) {
      out.push({ value: "-O.level", src: i });
    } else out.push({ value: arg, src: i });
  }
  // dotted JSON keys: --x.a.b V  →  --x '{"a": {"b": V}}', appended after the other arguments
  const dicts = new Map<string, { value: Record<string, unknown>; src: number }>();
  const kept: Arg[] = [];
  for (let i = 0; i < out.length; i++) {
    const a = out[i]!;
    let name = a.value;
    if (!(name.startsWith("-") && name.includes(".")) || (name.startsWith("--") && !name.includes("."))) {
      kept.push(a);
      continue;
    }
    let valueStr: string;
    const eq = name.indexOf("=");
    if (eq >= 0) {
      valueStr = name.slice(eq + 1);
      name = name.slice(0, eq);
      if (!name.includes(".")) {
        kept.push(a);
        continue;
      }
    } else {
      if (i + 1 >= out.length) return { args: kept, error: { src: a.src, message: `${name} expects a value` } };
      valueStr = out[++i]!.value;
    }
    if (name.endsWith("+")) {
      name = name.slice(0, -1);
      valueStr = JSON.stringify(valueStr.split(","));
    }
    const [key, ...keys] = name.split(".") as [string, ...string[]];
    let value: unknown;
    try {
      value = pyJsonLoads(valueStr);
    } catch {
      try {
        value = humanReadableInt(valueStr);
      } catch {
        value = valueStr;
      }
    }
    let nested: unknown = value;
    for (const k of [...keys].reverse()) nested = { [k]: nested };
    const entry = dicts.get(key) ?? { value: {}, src: a.src };
    merge(entry.value, nested as Record<string, unknown>);
    dicts.set(key, entry);
  }
  for (const [key, d] of dicts)
    kept.push({ value: key, src: d.src }, { value: JSON.stringify(d.value), src: d.src, json: d.value });
  return { args: kept };
}

function merge(into: Record<string, unknown>, update: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(update)) {
    const cur = into[k];
    if (v && typeof v === "object" && !Array.isArray(v) && cur && typeof cur === "object" && !Array.isArray(cur))
      merge(cur as Record<string, unknown>, v as Record<string, unknown>);
    else if (Array.isArray(v) && Array.isArray(cur)) cur.push(...v);
    else into[k] = v;
  }
}

function display(opt: Opt): string {
  return opt.negated ? (opt.flag.negations[0] ?? opt.flag.name) : opt.flag.name;
}

function choiceEquals(c: unknown, v: unknown): boolean {
  return c === v || (typeof c === "number" && typeof v === "number" && c === v);
}

/** Type conversion, then choices: what argparse does with each value (and vLLM's own actions). */
function checkValue(
  p: Parser,
  flag: CatalogFlag,
  raw: string,
  json: unknown,
  warnings: string[],
  named: string,
): string | undefined {
  let v: unknown;
  // LoRAParserAction skips "" and None (its type turns "None" into None)
  // LoRAParserAction: "NAME=PATH" when the value has an "=" and no ",", split on every "=" (so a=b=c raises)
  if (flag.action === "LoRAParserAction" && raw.includes("=") && !raw.includes(",") && raw.split("=").length !== 2) {
    return `${flag.name} expects NAME=PATH (one "="), got "${raw}"`;
  }
  if (
    flag.action === "LoRAParserAction" &&
    raw !== "" &&
    !(raw === "None" && flag.type?.kind === "optional") &&
    !(raw.includes("=") && !raw.includes(","))
  ) {
    // name=path, or a JSON object {"name": ..., "path": ...}
    let o: unknown;
    try {
      o = pyJsonLoads(raw);
    } catch {
      return `${flag.name} expects NAME=PATH or a JSON object, got "${raw}"`;
    }
    if (!o || typeof o !== "object" || Array.isArray(o))
      return `${flag.name} expects NAME=PATH or a JSON object, got "${raw}"`;
  }
  if (flag.name === "--config" && !/\.ya?ml$/.test(raw)) return `--config must name a .yaml/.yml file, got "${raw}"`;
  try {
    const version = p.catalog.vllm_version;
    const ctx = {
      // read on first use: only a config object's fields need them
      get probes() {
        return loadProbes(version);
      },
      warnings,
      registered: (p.catalog as { registered?: ConvertContext["registered"] }).registered,
    };
    if (json !== undefined && flag.type?.kind === "optional" && flag.type.inner.kind === "dataclass")
      v = convert(flag.type.inner, JSON.stringify(json), p.catalog.schemas, ctx);
    else
      v =
        json !== undefined && flag.type?.kind === "dataclass"
          ? convert(flag.type, JSON.stringify(json), p.catalog.schemas, ctx)
          : convert(flag.type, raw, p.catalog.schemas, ctx);
  } catch (e) {
    if (!(e instanceof Invalid)) throw e;
    return `${flag.name}: ${e.message}`;
  }
  // a list the parser documents (metavar "{a,b} or name registered ...") but does not enforce: plugins may
  // register more names, so an unknown one is a warning
  const documented =
    !flag.choices && typeof flag.metavar === "string" ? /^\{([^}]*)\}/.exec(flag.metavar)?.[1]?.split(",") : undefined;
  if (documented && typeof v === "string" && v !== "" && !documented.includes(v)) {
    const guess = didYouMean(v, documented);
    warnings.push(
      `"${v}" is not a built-in value${guess ? ` (did you mean "${guess}"?)` : ""}; vLLM ${named} accepts it only if a plugin registers it`,
    );
  }
  if (flag.choices && !flag.choices.some((c) => choiceEquals(c, v))) {
    const shown = flag.choices.filter((c) => c !== null).map(String);
    const guess = didYouMean(String(v), shown);
    return `${flag.name} does not accept "${raw}"${guess ? `; did you mean "${guess}"?` : ""} (choose from ${shown.join(", ")})`;
  }
  return undefined;
}

/**
 * Flags removed before the oldest catalogued release (0.11) that configs copied from older guides still
 * carry (the Qwen3 model card's `--enable-reasoning`), with what replaced them.
 */
const REMOVED_BEFORE_CATALOGS: Record<string, string> = {
  "--enable-reasoning": "remove it: --reasoning-parser NAME alone turns reasoning on",
  "--use-v2-block-manager": "remove it: the v2 block manager became the only one",
  "--worker-use-ray": "use --distributed-executor-backend ray",
  "--engine-use-ray": "remove it (vLLM's engine no longer runs as a Ray actor)",
  "--speculative-model":
    "use speculative_config: (or draft_model_hf_path:) in vllm-app.yaml; vllmapp writes --speculative-config",
  "--num-speculative-tokens":
    "use speculative_config: {num_speculative_tokens: N} in vllm-app.yaml; vllmapp writes --speculative-config",
};

function unknownProblem(scan: ArgScan, opt: string, path: ArgToken["path"]): Finding {
  const { p, sev, imageVersion, named } = scan;
  const norm = opt.startsWith("--") ? "--" + opt.slice(2).replace(/_/g, "-") : opt;
  const base = norm.split(".")[0]!;
  const added = p.catalog.history.added_later.find((a) => a.name === base);
  const removed = p.catalog.history.removed.find((r) => r.name === base);
  if (added && (!removed || removed.last_seen < added.added_in)) {
    return {
      path,
      severity: sev,
      message: `${base} needs vLLM ≥ ${added.added_in}${imageVersion ? `; your image is ${imageVersion}` : ` (not in ${named})`}`,
      hint: `remove it, or use an image with vLLM ${added.added_in} or newer (e.g. vllm/vllm-openai:v${added.added_in})`,
    };
  }
  if (removed) {
    return {
      path,
      severity: sev,
      message: `${base} was removed in vLLM ${removed.removed_in} (last in ${removed.last_seen}${removed.deprecated ? ", where it was deprecated" : ""})${imageVersion ? `; your image is ${imageVersion}` : ""}`,
      hint: removed.replacement
        ? `use ${removed.replacement}`
        : removed.help
          ? `remove it; its last help said: ${removed.help}`
          : "remove it from extra_args",
    };
  }
  const old = REMOVED_BEFORE_CATALOGS[base];
  if (old)
    return {
      path,
      severity: sev,
      message: `${base} was removed before vLLM 0.11 (the oldest release vllmapp has a flag catalog for)`,
      hint: old,
    };
  const guess = didYouMean(norm, p.options.keys());
  return {
    path,
    severity: sev,
    message: `unknown vllm serve flag ${opt}${guess ? `; did you mean ${guess}?` : ""}`,
    hint: guess ? `write ${guess} (checked against vLLM ${named})` : `see \`vllm serve --help\` for vLLM ${named}`,
  };
}

export interface ValidateOptions {
  /** the catalog release (default: the newest catalogued one) */
  version?: string;
  /** the release the image runs, for messages (default: version) */
  imageVersion?: string;
  /** the upgrade report: the release is a target, not the image, so messages do not say "your image is" */
  target?: boolean;
}

/**
 * Validate extra_args tokens against one release's parser. `strict`: the image's release is known, so
 * what its parser rejects is an error; otherwise a warning. Owned flags are errors for every image.
 */
export function validateExtraArgs(
  tokens: readonly ArgToken[],
  strict: boolean,
  options: ValidateOptions = {},
): ExtraArgsResult {
  const version = options.version ?? catalogIndex().default;
  const p = parserFor(version);
  const args = tokens.map((t) => t.value);
  const scan: ArgScan = {
    p,
    version,
    imageVersion: options.target ? undefined : (options.imageVersion ?? version),
    named: namedRelease(version, options.target ? undefined : options.imageVersion),
    sev: strict ? "error" : "warning",
    list: [],
    cls: [],
    i: 0,
    problems: [],
    pathOf: (src) => tokens[src]?.path ?? tokens[tokens.length - 1]?.path ?? ["extra_args"],
  };
  const { problems, sev, pathOf } = scan;
  const flagsSet = new Set<string>();
  const flagUses: ExtraArgsResult["flagUses"] = [];
  const rw = rewrite(p, args);
  if (rw.error) problems.push({ path: pathOf(rw.error.src), severity: sev, message: rw.error.message });
  const list = (scan.list = rw.args);
  const cls = (scan.cls = list.map((a) => classify(p, a.value)));
  let lastSwitch: string | undefined;
  while (scan.i < list.length) {
    const a = list[scan.i]!;
    const c = cls[scan.i]!;
    const path = pathOf(a.src);
    const afterSwitch = lastSwitch;
    lastSwitch = undefined;
    scan.i++;
    if (a.value === "--") {
      problems.push({
        path,
        severity: "error",
        message: `"--" would make everything after it a positional argument`,
        hint: "remove it",
      });
      continue;
    }
    if (c.kind === "A") {
      problems.push(positionalProblem(a.value, path, afterSwitch, sev));
      continue;
    }
    if (c.kind === "ambiguous" || c.kind === "unknown") {
      problems.push(
        c.kind === "ambiguous"
          ? ambiguousProblem(scan, a.value, c.matches, path)
          : unknownProblem(scan, c.optionString, path),
      );
      skipPositionals(scan);
      continue;
    }
    const { flag } = c.opt;
    flagsSet.add(flag.name);
    const use = {
      name: flag.name,
      written: c.abbreviatedFrom?.split("=")[0] ?? c.optionString,
      path,
      values: [] as string[],
    };
    flagUses.push(use);
    if (refusedOption(scan, c, path)) continue;
    if (!flag.takes_value) {
      if (c.explicit !== undefined) problems.push(switchValueProblem(c, a.value, path, sev));
      lastSwitch = display(c.opt);
      continue;
    }
    const values = takeValues(scan, c, a, path);
    if (!values) continue;
    use.values = values.map((v) => v.value);
    checkValues(scan, flag, values);
  }
  return { args, problems, flagsSet, flagUses, named: scan.named };
}

/** One pass over the rewritten arguments, as argparse consumes them: the next one to read, and what was found. */
interface ArgScan {
  p: Parser;
  version: string;
  /** the image's release, for messages; undefined for an upgrade target */
  imageVersion: string | undefined;
  /** the release messages say vLLM is: the image's when its parser is the catalog's (namedRelease) */
  named: string;
  /** what the parser's rejections are: errors when the image's release is known */
  sev: "error" | "warning";
  list: Arg[];
  cls: Classified[];
  /** the next argument to read */
  i: number;
  problems: Finding[];
  /** the field path of the extra_args token an argument came from */
  pathOf: (src: number) => ArgToken["path"];
}

type OptionUse = Extract<Classified, { kind: "O" }>;

/** Step over the positional arguments that follow (the values of an option that is not there). */
function skipPositionals(scan: ArgScan): void {
  while (scan.i < scan.list.length && scan.cls[scan.i]!.kind === "A") scan.i++;
}

/** A positional argument: a flag and value written as one element, a value after a switch, or a stray word. */
function positionalProblem(
  value: string,
  path: ArgToken["path"],
  afterSwitch: string | undefined,
  sev: ArgScan["sev"],
): Finding {
  if (/\s/.test(value) && value.trim().startsWith("-") && typeof path[path.length - 1] === "number") {
    return {
      path,
      severity: sev,
      message: `"${value}" is one list element, so vLLM would receive it as a single argument`,
      hint: `split it: ${JSON.stringify(value.trim().split(/\s+/))}`,
    };
  }
  return afterSwitch
    ? {
        path,
        severity: sev,
        message: `unexpected argument "${value}": ${afterSwitch} is a switch and takes no value`,
        hint: `write ${afterSwitch} alone`,
      }
    : {
        path,
        severity: sev,
        message: `unexpected argument "${value}": extra_args holds flags and their values only`,
        hint: "the model comes from model_hf_path or model_path; check that the flag before it takes a value",
      };
}

/** An abbreviation that matches several options of this release. */
function ambiguousProblem(scan: ArgScan, value: string, matches: string[], path: ArgToken["path"]): Finding {
  const names = [...new Set(matches.map((m) => display(scan.p.options.get(m)!)))];
  return {
    path,
    severity: scan.sev,
    message: `${value.split("=")[0]} is ambiguous in vLLM ${scan.named}: it could be ${matches.join(", ")}`,
    hint: `write the full flag name${names.length === 1 ? ` (${names[0]})` : ""}`,
  };
}

/**
 * What is said of an option before its values: a flag vllmapp sets (its values skipped) or one that stops
 * the server (help, version) is refused, true; an abbreviation and a deprecated flag get a note or warning.
 */
function refusedOption(scan: ArgScan, c: OptionUse, path: ArgToken["path"]): boolean {
  const { flag } = c.opt;
  const owned = OWNED_FLAGS[flag.name];
  if (owned) {
    scan.problems.push({
      path,
      severity: "error",
      message: `${flag.name} is set by vllmapp${owned.field ? `; use the ${owned.field} field instead` : ""}`,
      hint: owned.why,
    });
    if (flag.takes_value && c.explicit === undefined) skipPositionals(scan);
    return true;
  }
  if (flag.kind === "help" || flag.kind === "version") {
    scan.problems.push({
      path,
      severity: scan.sev,
      message: `${c.optionString} makes vLLM print ${flag.kind === "help" ? "its help" : "its version"} and exit, so the server would never start`,
      hint: "remove it (run `vllm serve --help` in the image to read the help)",
    });
    return true;
  }
  if (c.abbreviatedFrom && c.abbreviatedFrom !== c.optionString && c.abbreviatedFrom.startsWith("--")) {
    scan.problems.push({
      path,
      severity: "note",
      message: `${c.abbreviatedFrom.split("=")[0]} is accepted as an abbreviation of ${c.optionString}`,
      hint: `write ${c.optionString} in full; a later vLLM flag could make the abbreviation ambiguous`,
    });
  }
  if (flag.deprecated && !c.opt.negated) {
    scan.problems.push({
      path,
      severity: "warning",
      message: `${flag.name} is deprecated in vLLM ${scan.named}${flag.deprecation ? `: ${flag.deprecation}` : ""}`,
      ...(flag.replacement ? { hint: `use ${flag.replacement}` } : {}),
    });
  }
  return false;
}

/** A switch given a value (`--x=false`): the switch or its negation to write instead. */
function switchValueProblem(c: OptionUse, value: string, path: ArgToken["path"], sev: ArgScan["sev"]): Finding {
  const { flag } = c.opt;
  const fix = c.opt.negated
    ? display(c.opt)
    : /^(false|0|no|off)$/i.test(c.explicit!) && flag.negations[0]
      ? flag.negations[0]
      : flag.name;
  return {
    path,
    severity: sev,
    message: `${c.optionString} is a switch and takes no value, got "${value}"`,
    hint: `write ${fix}${flag.negations.length ? ` (the switch is ${flag.name} / ${flag.negations.join(" / ")})` : ""}`,
  };
}

/**
 * The values an option takes, as argparse gives them: its explicit `=` value, else the run of following
 * arguments that are not options, as many as nargs allows. Too few is a problem (undefined).
 */
function takeValues(scan: ArgScan, c: OptionUse, a: Arg, path: ArgToken["path"]): Arg[] | undefined {
  const { flag } = c.opt;
  const { list, cls } = scan;
  if (c.explicit !== undefined) {
    if (typeof flag.nargs === "number" && flag.nargs !== 1) {
      scan.problems.push({
        path,
        severity: scan.sev,
        message: `${flag.name} takes ${flag.nargs} values, so "${a.value}" cannot give it one`,
        hint: `write ${flag.name} followed by ${flag.nargs} values`,
      });
      return undefined;
    }
    return [{ value: c.explicit, src: a.src }];
  }
  const i = scan.i;
  let n = 0;
  while (i + n < list.length && cls[i + n]!.kind === "A" && list[i + n]!.value !== "--") n++;
  const nargs = flag.nargs;
  const take =
    nargs === null
      ? Math.min(n, 1)
      : nargs === "?"
        ? Math.min(n, 1)
        : nargs === "+" || nargs === "*"
          ? n
          : typeof nargs === "number"
            ? Math.min(n, nargs)
            : n;
  const need = nargs === null || nargs === "+" ? 1 : typeof nargs === "number" ? nargs : 0;
  if (take < need) {
    scan.problems.push({
      path,
      severity: scan.sev,
      message: `${flag.name} expects ${nargs === "+" ? "one or more values" : typeof nargs === "number" && nargs > 1 ? `${nargs} values` : "a value"}${i < list.length ? `, and "${list[i]!.value}" is an option` : ""}`,
      hint: `write ${flag.name} VALUE or ${flag.name}=VALUE`,
    });
    return undefined;
  }
  scan.i += take;
  return list.slice(i, i + take);
}

/** Each value converted and checked as the parser would; the first bad one is a problem, and the rest unread. */
function checkValues(scan: ArgScan, flag: CatalogFlag, values: readonly Arg[]): void {
  for (const v of values) {
    const warnings: string[] = [];
    const bad = checkValue(scan.p, flag, v.value, v.json, warnings, scan.named);
    for (const w of warnings)
      scan.problems.push({ path: scan.pathOf(v.src), severity: "warning", message: `${flag.name}: ${w}` });
    if (bad) {
      scan.problems.push({ path: scan.pathOf(v.src), severity: scan.sev, message: bad });
      break;
    }
  }
}

/** Substitute `${name}` with parameter values; unknown names are problems. */
export function substituteParameters(
  tokens: ArgToken[],
  params: ReadonlyMap<string, string>,
): { tokens: ArgToken[]; problems: Finding[] } {
  const problems: Finding[] = [];
  const out = tokens.map((t) => ({
    ...t,
    value: t.value.replace(/\$\{([A-Za-z_][A-Za-z0-9_-]*)\}/g, (whole, name: string) => {
      const v = params.get(name);
      if (v === undefined) {
        const guess = didYouMean(name, params.keys());
        problems.push({
          path: t.path,
          severity: "error",
          message: `\${${name}} names no parameter${guess ? `; did you mean \${${guess}}?` : ""}`,
          hint: params.size
            ? `parameters: ${[...params.keys()].join(", ")}`
            : "define it under parameters: [{name, value}]",
        });
        return whole;
      }
      return v;
    }),
  }));
  return { tokens: out, problems };
}
