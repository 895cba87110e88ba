/**
 * What a vLLM config class's own validators say about a JSON config value, beyond its JSON schema:
 * each catalog records, per JSON option and per field, the real class's verdict on a fixed set of probe
 * values given alone (`{"field": VALUE}`; test/vllm-catalog/extract.py `PROBE_VALUES`). That captures
 * custom validator functions (quantization names, comma-separated lists accepted for arrays, `null`
 * accepted by a pre-validator) and cross-field rules (`kv_role` required once `kv_connector` is set).
 * Pure.
 */
import { expandJsonHumanNumbers } from "./py-numbers.js";

/** field → probe value text → null (accepted) or the error vLLM raised */
export type ProbeTable = Record<string, Record<string, string | null>>;

export interface ProbeVerdict {
  ok: boolean;
  error?: string;
  /** true: the verdict was probed with this very value; false: inferred from every probe of its JSON type */
  exact: boolean;
  /** the error names the field itself (a type or value error), not a rule across fields */
  fieldLevel: boolean;
}

type Kind = "null" | "bool" | "int" | "float" | "string" | "array" | "object";
function kindOf(v: unknown): Kind {
  if (v === null) return "null";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float";
  if (typeof v === "string") return "string";
  return Array.isArray(v) ? "array" : "object";
}

function same(a: unknown, b: unknown): boolean {
  if (kindOf(a) !== kindOf(b)) return false;
  if (a === null || typeof a !== "object") return a === b;
  return JSON.stringify(a) === JSON.stringify(b);
}

const parsedProbes = new Map<string, { value: unknown } | undefined>();
function parseProbe(text: string, humanReadable: boolean): { value: unknown } | undefined {
  const key = `${humanReadable ? 1 : 0}${text}`;
  if (!parsedProbes.has(key)) {
    let r: { value: unknown } | undefined;
    try {
      r = { value: JSON.parse(humanReadable ? expandJsonHumanNumbers(text) : text) };
    } catch {
      r = undefined;
    }
    parsedProbes.set(key, r);
  }
  return parsedProbes.get(key);
}

const VALUE_CONSTRAINT =
  /\[type=(literal_error|enum|greater_than|greater_than_equal|less_than|less_than_equal|multiple_of)\b/;

/**
 * The letter case a field's validator folds its input to before checking it against its names, shown by
 * the probes: a name the schema lists, probed in another case, was accepted. undefined: case matters.
 */
export function foldedCase(
  table: ProbeTable | undefined,
  field: string,
  listed: (s: string) => boolean,
): "lower" | "upper" | undefined {
  const probes = table?.[field];
  if (!probes) return undefined;
  for (const [text, verdict] of Object.entries(probes)) {
    if (verdict !== null) continue;
    const p = parseProbe(text, false);
    if (!p || typeof p.value !== "string" || listed(p.value)) continue;
    if (p.value !== p.value.toLowerCase() && listed(p.value.toLowerCase())) return "lower";
    if (p.value !== p.value.toUpperCase() && listed(p.value.toUpperCase())) return "upper";
  }
  return undefined;
}

/** A pydantic model-level error ("Value error, ..." with no field location) is a rule across fields. */
export function isFieldLevel(error: string, _field: string): boolean {
  const m = /validation errors? for \w+[\s|]+(.*)$/.exec(error);
  if (!m) return true;
  return !/^(Value error|Assertion failed)/.test(m[1]!);
}

/** The real validator's verdict on `{field: value}`, exact or inferred; undefined when it cannot be told. */
export function probeVerdict(
  table: ProbeTable | undefined,
  field: string,
  value: unknown,
  humanReadable: boolean,
): ProbeVerdict | undefined {
  const probes = table?.[field];
  if (!probes) return undefined;
  // a field the class declares but does not take from input (init=False): every value is refused
  const all = Object.values(probes).filter((v) => !(v && /Invalid JSON|JSONDecodeError/.test(v)));
  if (
    all.length > 0 &&
    all.every((v) => v !== null && /Unexpected keyword argument|unexpected_keyword_argument/.test(v))
  ) {
    return { ok: false, error: all[0]!, exact: false, fieldLevel: true };
  }
  const sameKind: (string | null)[] = [];
  for (const [text, verdict] of Object.entries(probes)) {
    const p = parseProbe(text, humanReadable);
    if (!p) continue;
    if (same(p.value, value))
      return verdict === null
        ? { ok: true, exact: true, fieldLevel: true }
        : { ok: false, error: verdict, exact: true, fieldLevel: isFieldLevel(verdict, field) };
    if (kindOf(p.value) === kindOf(value)) sameKind.push(verdict);
  }
  if (sameKind.length === 0) return undefined;
  const kind = kindOf(value);
  // every probe of this JSON type accepted: the validator coerces the type (e.g. a string for a list)
  if (sameKind.every((v) => v === null) && kind !== "object" && kind !== "array")
    return { ok: true, exact: false, fieldLevel: true };
  // every probe of this type refused for the field itself: the type is wrong for it. Strings and objects
  // are left to the schema: a name or an object the probes did not try may well be valid.
  // A refusal for the value rather than its type (a Literal or an enum: "Input should be 2, 3 or 4") says
  // nothing about the values not probed; the schema decides those.
  if (
    kind !== "string" &&
    kind !== "object" &&
    sameKind.every((v) => v !== null && isFieldLevel(v, field) && !VALUE_CONSTRAINT.test(v))
  ) {
    return { ok: false, error: sameKind[0]!, exact: false, fieldLevel: true };
  }
  return undefined;
}

const truthy = (v: unknown) =>
  !(
    v === undefined ||
    v === null ||
    v === false ||
    v === 0 ||
    v === "" ||
    (Array.isArray(v) && v.length === 0) ||
    (typeof v === "object" && v !== null && Object.keys(v).length === 0)
  );

/**
 * Cross-field rules of vLLM's config classes, as data. A rule is applied only when the release's probes
 * show it (the trigger field alone was refused with a model-level error), so releases without it are
 * unaffected.
 */
export const CROSS_FIELD_RULES: {
  config: string;
  field: string;
  holds: (o: Record<string, unknown>) => boolean;
  needs: string;
}[] = [
  {
    config: "KVTransferConfig",
    field: "kv_connector",
    holds: (o) => o.kv_role != null,
    needs: 'kv_role ("kv_producer", "kv_consumer" or "kv_both")',
  },
  {
    config: "ECTransferConfig",
    field: "ec_connector",
    holds: (o) => o.ec_role != null,
    needs: 'ec_role ("ec_producer", "ec_consumer" or "ec_both")',
  },
  {
    config: "ProfilerConfig",
    field: "torch_profiler_dir",
    holds: (o) => o.profiler === "torch",
    needs: 'profiler: "torch"',
  },
  {
    config: "ProfilerConfig",
    field: "proton_profiler_dir",
    holds: (o) => o.profiler === "proton",
    needs: 'profiler: "proton"',
  },
  {
    config: "StructuredOutputsConfig",
    field: "disable_any_whitespace",
    holds: (o) => o.backend === "xgrammar" || o.backend === "guidance",
    needs: 'backend: "xgrammar" or "guidance"',
  },
  {
    config: "StructuredOutputsConfig",
    field: "disable_additional_properties",
    holds: (o) => o.backend === "guidance",
    needs: 'backend: "guidance"',
  },
];

interface DerivedRule {
  field: string;
  when: (o: Record<string, unknown>) => boolean;
  holds: (o: Record<string, unknown>) => boolean;
  message: string;
}
const derived = new WeakMap<ProbeTable, DerivedRule[]>();

/**
 * Rules across fields that a release's validators state in their own words, read from the probe errors:
 *   "F (is) only applicable when G is set to 'V'"   F given (not null, not its default) needs G = V
 *   "F must be set when G is 'V'"                    G = V needs F
 *   "F requires G to be set"                         F given needs G
 */
function derivedRules(table: ProbeTable, defaults: Record<string, unknown>): DerivedRule[] {
  let rules = derived.get(table);
  if (rules) return rules;
  rules = [];
  const seen = new Set<string>();
  const given = (o: Record<string, unknown>, f: string) =>
    o[f] !== undefined && o[f] !== null && !same(o[f], defaults[f]);
  for (const verdicts of Object.values(table)) {
    for (const error of Object.values(verdicts)) {
      if (!error || isFieldLevel(error, "")) continue;
      const text = error.replace(/^.*?validation errors? for \w+[\s|]+(Value error, )?/, "").replace(/ \[type=.*$/, "");
      let m: RegExpExecArray | null;
      let rule: DerivedRule | undefined;
      if ((m = /^(\w+) (?:is )?only applicable when (\w+) is set to '([^']*)'/.exec(text))) {
        const [, f, g, v] = m as unknown as [string, string, string, string];
        rule = { field: f, when: (o) => given(o, f), holds: (o) => o[g] === v, message: text };
      } else if ((m = /^(\w+) must be set when (\w+) is '([^']*)'/.exec(text))) {
        const [, f, g, v] = m as unknown as [string, string, string, string];
        rule = { field: g, when: (o) => o[g] === v, holds: (o) => given(o, f), message: text };
      } else if ((m = /^(\w+) requires (\w+) to be set/.exec(text))) {
        const [, f, g] = m as unknown as [string, string, string];
        rule = { field: f, when: (o) => given(o, f), holds: (o) => o[g] !== undefined && o[g] !== null, message: text };
      }
      if (rule && !seen.has(text)) {
        seen.add(text);
        rules.push(rule);
      }
    }
  }
  derived.set(table, rules);
  return rules;
}

/** The cross-field rule `obj` breaks in this release, as a message; undefined when none. */
export function crossFieldProblem(
  config: string,
  table: ProbeTable | undefined,
  obj: Record<string, unknown>,
  defaults: Record<string, unknown> = {},
): string | undefined {
  for (const rule of CROSS_FIELD_RULES) {
    if (rule.config !== config || !truthy(obj[rule.field])) continue;
    const probes = table?.[rule.field];
    const evidence = probes && Object.values(probes).find((v) => v !== null && !isFieldLevel(v, rule.field));
    if (!evidence) continue;
    if (!rule.holds(obj))
      return `${rule.field} needs ${rule.needs} (vLLM: ${evidence.replace(/^.*?validation errors? for \w+[\s|]+(Value error, )?/, "").replace(/ \[type=.*$/, "")})`;
  }
  // then the ones the release's validators state in their messages
  if (table) {
    for (const rule of derivedRules(table, defaults)) {
      if (rule.field in obj && rule.when(obj) && !rule.holds(obj)) return `vLLM: ${rule.message.trim()}`;
    }
  }
  return undefined;
}
