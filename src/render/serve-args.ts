/**
 * The `vllm serve` argv (SPEC §5) and offline validation of extra_args against the flag catalog of
 * vLLM 0.19.0 (serve-flags.json), accepting exactly what vLLM's argparse accepts. Pure.
 */
import catalog from "./serve-flags.json" with { type: "json" };
import { didYouMean } from "../text.js";

export interface FlagSpec {
  name: string;
  aliases: string[];
  type: "int" | "float" | "str" | "bool" | "json" | "choice" | "list";
  choices: (string | number)[] | null;
  choices_enforced: boolean | null;
  takes_value: boolean;
  nargs: "+" | "?" | null;
  item_type: string | null;
  accepts_none: boolean;
  negatable: boolean;
  deprecated: boolean;
  value_format?: string;
  repeatable?: boolean;
}

interface RemovedFlag {
  name: string;
  last_seen_main: { date: string };
  was_deprecated: boolean;
  last_help?: string;
}

export const VLLM_VERSION: string = catalog.vllm_version;
const FLAGS = catalog.flags as unknown as FlagSpec[];
const REMOVED = (catalog.history as unknown as { removed: RemovedFlag[] }).removed;
const NEWER_ONLY = new Set(
  ((catalog.history as unknown as { in_newer_main_only?: ({ name: string } | string)[] }).in_newer_main_only ?? []).map((e) =>
    typeof e === "string" ? e : e.name,
  ),
);

/** option string → flag (and whether it is the --no- form) */
const OPTIONS = new Map<string, { flag: FlagSpec; negated: boolean }>();
for (const f of FLAGS) {
  for (const o of [f.name, ...f.aliases]) OPTIONS.set(o, { flag: f, negated: false });
  if (f.negatable) OPTIONS.set(`--no-${f.name.slice(2)}`, { flag: f, negated: true });
}
const LONG_OPTIONS = [...OPTIONS.keys()].filter((o) => o.startsWith("--"));

/** Flags vllmapp sets itself, and the vllm-app.yaml field to use instead. */
export const OWNED_FLAGS: Record<string, { field: string; why: string }> = {
  "--port": { field: "port", why: "set port: in vllm-app.yaml" },
  "--served-model-name": { field: "model_id", why: "set model_id: in vllm-app.yaml" },
  "--model": { field: "model_hf_path", why: "set model_hf_path: or model_path: in vllm-app.yaml" },
  "--api-key": { field: "requires_auth", why: "set requires_auth: true; vllmapp generates the key into a Secret and passes it as VLLM_API_KEY" },
  "--host": { field: "port", why: "vllmapp makes the server listen on all interfaces of the container; remove --host" },
};

export interface ArgToken {
  value: string;
  /** field path of the token in vllm-app.yaml, e.g. ["extra_args", 2] */
  path: (string | number)[];
}

export interface ArgProblem {
  path: (string | number)[];
  severity: "error" | "warning" | "note";
  message: string;
  hint?: string;
}

export interface ExtraArgsResult {
  args: string[];
  problems: ArgProblem[];
  /** canonical names of the flags set */
  flagsSet: Set<string>;
}

const INT_RE = /^[-+]?\d+$/;
const HUMAN_INT_RE = /^\d+(\.\d+)?[kKmMgGtT]$/;
const FLOAT_RE = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^[-+]?(inf|nan)$/i;
const NEGATIVE_NUMBER = /^-\d+$|^-\d*\.\d+$/;

function checkScalar(flag: FlagSpec, value: string, type: string): string | undefined {
  if (flag.accepts_none && (value === "None" || value === "")) return undefined;
  switch (type) {
    case "int":
      if (INT_RE.test(value)) return undefined;
      if (flag.value_format?.startsWith("human_readable_int") && HUMAN_INT_RE.test(value)) return undefined;
      if (flag.value_format === "human_readable_int_or_auto" && value === "auto") return undefined;
      return `expects an integer${flag.value_format?.startsWith("human_readable_int") ? ' (or a size like "32k")' : ""}, got "${value}"`;
    case "float":
      return FLOAT_RE.test(value) ? undefined : `expects a number, got "${value}"`;
    case "json":
      if (/^\s*[{[]/.test(value)) {
        try {
          JSON.parse(value);
        } catch (e) {
          return `expects JSON, and "${value}" does not parse: ${(e as Error).message}`;
        }
      }
      return undefined;
    default:
      return undefined;
  }
}

function checkValue(flag: FlagSpec, value: string): { severity: "error" | "warning"; message: string; hint?: string } | undefined {
  const itemType = flag.type === "list" || flag.type === "choice" ? flag.item_type ?? "str" : flag.type;
  const bad = checkScalar(flag, value, itemType);
  if (bad) return { severity: "error", message: `${flag.name} ${bad}` };
  if (flag.choices) {
    const known = flag.choices.map(String);
    if (!known.includes(value) && !(flag.accepts_none && value === "None")) {
      const guess = didYouMean(value, known);
      if (flag.choices_enforced) {
        return { severity: "error", message: `${flag.name} does not accept "${value}"${guess ? `; did you mean "${guess}"?` : ""}`, hint: `choose one of: ${known.join(", ")}` };
      }
      return { severity: "warning", message: `"${value}" is not a built-in value of ${flag.name}${guess ? ` (did you mean "${guess}"?)` : ""}; vLLM accepts it only if a plugin registers it`, hint: `built-in values: ${known.join(", ")}` };
    }
  }
  return undefined;
}

function looksLikeOption(tok: string | undefined): boolean {
  return tok !== undefined && tok.startsWith("-") && tok !== "-" && !NEGATIVE_NUMBER.test(tok);
}

/** Look an option string up the way argparse does: exact, underscores, unambiguous prefix. */
function lookupOption(raw: string): { flag: FlagSpec; negated: boolean; expandedFrom?: string } | { ambiguous: string[] } | undefined {
  let opt = raw;
  if (opt.startsWith("--")) opt = "--" + opt.slice(2).replace(/_/g, "-");
  const exact = OPTIONS.get(opt);
  if (exact) return exact;
  if (!opt.startsWith("--")) return undefined;
  const matches = LONG_OPTIONS.filter((o) => o.startsWith(opt));
  const distinct = new Set(matches.map((m) => `${OPTIONS.get(m)!.flag.name}${OPTIONS.get(m)!.negated}`));
  if (distinct.size === 1) return { ...OPTIONS.get(matches[0]!)!, expandedFrom: raw };
  if (distinct.size > 1) return { ambiguous: matches };
  return undefined;
}

function unknownFlagProblem(opt: string, path: ArgToken["path"], sev: "error" | "warning"): ArgProblem {
  const norm = opt.startsWith("--") ? "--" + opt.slice(2).replace(/_/g, "-") : opt;
  const removed = REMOVED.find((r) => r.name === norm);
  if (removed) {
    return {
      path, severity: sev,
      message: `${norm} was removed from vLLM: it was last seen on vLLM main on ${removed.last_seen_main.date} and vLLM ${VLLM_VERSION} rejects it${removed.was_deprecated ? " (it had been deprecated)" : ""}`,
      hint: removed.last_help ? `its last help said: ${removed.last_help}` : "remove it from extra_args",
    };
  }
  if (NEWER_ONLY.has(norm)) {
    return { path, severity: sev, message: `${norm} exists only in vLLM newer than ${VLLM_VERSION}`, hint: "remove it, or set image: to a vLLM image that has it" };
  }
  const guess = didYouMean(norm, [...OPTIONS.keys()]) ?? didYouMean(norm, REMOVED.map((r) => r.name));
  const guessRemoved = guess !== undefined && !OPTIONS.has(guess);
  return {
    path, severity: sev,
    message: `unknown vllm serve flag ${opt}${guess ? `; did you mean ${guess}?${guessRemoved ? ` (that flag was removed from vLLM; ${VLLM_VERSION} rejects it too)` : ""}` : ""}`,
    hint: guess && !guessRemoved ? `write ${guess}` : guess ? "remove it from extra_args" : `see \`vllm serve --help\` for vLLM ${VLLM_VERSION}`,
  };
}

/**
 * Validate extra_args tokens. `strict` is true for the default image: catalog problems are errors;
 * for other images they are warnings (their vLLM may differ). Owned flags are errors for every image.
 */
export function validateExtraArgs(tokens: readonly ArgToken[], strict: boolean): ExtraArgsResult {
  const problems: ArgProblem[] = [];
  const flagsSet = new Set<string>();
  const sev = strict ? "error" : "warning";
  const args = tokens.map((t) => t.value);
  let i = 0;
  let lastSwitch: string | undefined;
  while (i < tokens.length) {
    const tok = tokens[i]!;
    const raw = tok.value;
    const afterSwitch = lastSwitch;
    lastSwitch = undefined;
    i++;
    if (raw === "--") {
      problems.push({ path: tok.path, severity: "error", message: `"--" would make everything after it a positional argument`, hint: "remove it" });
      continue;
    }
    if (!looksLikeOption(raw)) {
      problems.push(
        afterSwitch
          ? { path: tok.path, severity: "error", message: `unexpected argument "${raw}": ${afterSwitch} is a switch and takes no value`, hint: /^(false|0|no|off)$/i.test(raw) && OPTIONS.get(`--no-${afterSwitch.slice(2)}`) ? `write --no-${afterSwitch.slice(2)}` : `write ${afterSwitch} alone` }
          : { path: tok.path, severity: "error", message: `unexpected argument "${raw}": extra_args holds flags and their values only`, hint: "the model comes from model_hf_path or model_path; check that the flag before it takes a value" },
      );
      continue;
    }
    // A list element holding a flag and its value, e.g. "--max-model-len 8192".
    if (/\s/.test(raw) && tok.path.length > 1) {
      const parts = raw.trim().split(/\s+/);
      problems.push({
        path: tok.path, severity: "error",
        message: `"${raw}" is one list element, so vLLM would receive it as a single argument`,
        hint: `split it: ${JSON.stringify(parts)}`,
      });
      continue;
    }
    // -O3, -O=3, -O 3: vLLM's own rewrite to --optimization-level.
    const oMatch = /^-O(=?)(.*)$/.exec(raw);
    if (oMatch) {
      let level = oMatch[2]!;
      if (level === "" && oMatch[1] === "") level = tokens[i] !== undefined && !looksLikeOption(tokens[i]!.value) ? tokens[i++]!.value : "";
      if (!/^[0-3]$/.test(level)) problems.push({ path: tok.path, severity: sev, message: `-O expects an optimization level 0–3, got "${level}"` });
      flagsSet.add("--optimization-level");
      continue;
    }
    const eq = raw.indexOf("=");
    let opt = eq >= 0 ? raw.slice(0, eq) : raw;
    const explicit = eq >= 0 ? raw.slice(eq + 1) : undefined;
    const dot = opt.indexOf(".");
    const dotted = dot > 0 ? opt.slice(dot) : undefined;
    if (dotted) opt = opt.slice(0, dot);
    const found = lookupOption(opt);
    if (!found) {
      problems.push(unknownFlagProblem(opt, tok.path, sev));
      // skip a following value, so it is not reported as a stray positional
      if (explicit === undefined && tokens[i] !== undefined && !looksLikeOption(tokens[i]!.value)) i++;
      continue;
    }
    if ("ambiguous" in found) {
      problems.push({ path: tok.path, severity: sev, message: `${opt} is ambiguous: it could be ${found.ambiguous.slice(0, 6).join(", ")}`, hint: "write the full flag name" });
      if (explicit === undefined && tokens[i] !== undefined && !looksLikeOption(tokens[i]!.value)) i++;
      continue;
    }
    const { flag, negated } = found;
    flagsSet.add(flag.name);
    const owned = OWNED_FLAGS[flag.name];
    if (owned) {
      problems.push({ path: tok.path, severity: "error", message: `${flag.name} is set by vllmapp; use the ${owned.field} field instead`, hint: owned.why });
      if (flag.takes_value && explicit === undefined) while (tokens[i] !== undefined && !looksLikeOption(tokens[i]!.value)) i++;
      continue;
    }
    if (found.expandedFrom) {
      problems.push({ path: tok.path, severity: "note", message: `${found.expandedFrom} is accepted as an abbreviation of ${negated ? `--no-${flag.name.slice(2)}` : flag.name}`, hint: `write ${negated ? `--no-${flag.name.slice(2)}` : flag.name} in full; a later vLLM flag could make the abbreviation ambiguous` });
    }
    if (flag.deprecated) {
      problems.push({ path: tok.path, severity: "warning", message: `${flag.name} is deprecated in vLLM ${VLLM_VERSION}` });
    }
    if (dotted) {
      if (flag.type !== "json") {
        problems.push({ path: tok.path, severity: sev, message: `${flag.name} is not a JSON option, so "${opt}${dotted}" has no meaning`, hint: `write ${flag.name} VALUE` });
      } else if (explicit === undefined) {
        if (tokens[i] === undefined) problems.push({ path: tok.path, severity: sev, message: `${opt}${dotted} expects a value` });
        else i++;
      }
      continue;
    }
    if (!flag.takes_value) {
      lastSwitch = negated ? `--no-${flag.name.slice(2)}` : flag.name;
      if (explicit !== undefined) {
        const positive = /^(true|1|yes|on)$/i.test(explicit);
        const fix = flag.negatable
          ? positive || negated ? (negated ? `--no-${flag.name.slice(2)}` : flag.name) : `--no-${flag.name.slice(2)}`
          : positive ? flag.name : `nothing (leave ${flag.name} out)`;
        problems.push({
          path: tok.path, severity: sev,
          message: `${negated ? `--no-${flag.name.slice(2)}` : flag.name} is a switch and takes no value, got "${raw}"`,
          hint: `write ${fix}${flag.negatable ? ` (the switch is ${flag.name} / --no-${flag.name.slice(2)})` : ""}`,
        });
      }
      continue;
    }
    // flags with values
    const values: string[] = [];
    if (explicit !== undefined) values.push(explicit);
    if (flag.nargs === "+") {
      while (tokens[i] !== undefined && !looksLikeOption(tokens[i]!.value)) values.push(tokens[i++]!.value);
      if (values.length === 0) problems.push({ path: tok.path, severity: sev, message: `${flag.name} expects one or more values` });
    } else if (flag.nargs === "?") {
      if (explicit === undefined && tokens[i] !== undefined && !looksLikeOption(tokens[i]!.value)) values.push(tokens[i++]!.value);
    } else if (explicit === undefined) {
      const next = tokens[i];
      if (next === undefined || looksLikeOption(next.value)) {
        problems.push({ path: tok.path, severity: sev, message: `${flag.name} expects a value`, hint: `write ${flag.name} VALUE or ${flag.name}=VALUE` });
        continue;
      }
      values.push(next.value);
      i++;
    }
    for (const v of values) {
      const bad = checkValue(flag, v);
      if (bad) problems.push({ path: tok.path, severity: bad.severity === "error" ? sev : "warning", message: bad.message, hint: bad.hint });
    }
  }
  return { args, problems, flagsSet };
}

/** Substitute `${name}` with parameter values; unknown names are problems. */
export function substituteParameters(tokens: ArgToken[], params: ReadonlyMap<string, string>): { tokens: ArgToken[]; problems: ArgProblem[] } {
  const problems: ArgProblem[] = [];
  const out = tokens.map((t) => ({
    ...t,
    value: t.value.replace(/\$\{([A-Za-z_][A-Za-z0-9_-]*)\}/g, (whole, name: string) => {
      const v = params.get(name);
      if (v === undefined) {
        const guess = didYouMean(name, params.keys());
        problems.push({ path: t.path, severity: "error", message: `\${${name}} names no parameter${guess ? `; did you mean \${${guess}}?` : ""}`, hint: params.size ? `parameters: ${[...params.keys()].join(", ")}` : "define it under parameters: [{name, value}]" });
        return whole;
      }
      return v;
    }),
  }));
  return { tokens: out, problems };
}
