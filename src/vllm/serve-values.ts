/**
 * What vLLM refuses after argparse, when it builds its configs at start-up, from static rules each catalog
 * reads from its release (test/vllm-catalog/extract.py): the bounds of config fields (pydantic
 * Field(gt=, le=, ...)), the names registered for parsers, quantization methods and attention backends;
 * and a flag given twice, where the last silently wins. Kept apart from validateExtraArgs, which answers
 * exactly what the parser answers. Pure.
 */
import type { Finding } from "../errors.js";
import { didYouMean } from "../text.js";
import { convert, Invalid } from "./py-values.js";
import type { ExtraArgsResult } from "./serve-args.js";
import { loadCatalog } from "./catalog.js";

interface ValueRule {
  config: string;
  field: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}
interface Registered {
  names: string[];
  registry: string;
  plugin_flag?: string;
}
interface CatalogRules {
  value_rules?: Record<string, ValueRule>;
  registered?: Record<string, Registered>;
}

function bounds(r: ValueRule): string {
  const lo =
    r.exclusiveMinimum !== undefined ? `> ${r.exclusiveMinimum}` : r.minimum !== undefined ? `≥ ${r.minimum}` : "";
  const hi =
    r.exclusiveMaximum !== undefined ? `< ${r.exclusiveMaximum}` : r.maximum !== undefined ? `≤ ${r.maximum}` : "";
  return [lo, hi].filter(Boolean).join(" and ");
}

function outside(r: ValueRule, n: number): boolean {
  return (
    (r.minimum !== undefined && n < r.minimum) ||
    (r.maximum !== undefined && n > r.maximum) ||
    (r.exclusiveMinimum !== undefined && n <= r.exclusiveMinimum) ||
    (r.exclusiveMaximum !== undefined && n >= r.exclusiveMaximum)
  );
}

/** Names close to `v` (at most three), for a message of a few lines rather than the registry. */
export function closeNames(v: string, names: readonly string[]): string[] {
  const low = v.toLowerCase();
  const guess = didYouMean(v, names);
  const near = names.filter(
    (n) => n !== guess && (n.toLowerCase().includes(low) || (low.length >= 3 && low.includes(n.toLowerCase()))),
  );
  return [...(guess ? [guess] : []), ...near].slice(0, 3);
}

/**
 * The start-up problems of a checked argv on `version`: errors (`strict`: the image's release is known),
 * else warnings; a repeated flag is a warning (vLLM takes the last value without a word). Messages name
 * the release the check named (`checked.named`: the image's own where its parser is `version`'s).
 */
export function startupProblems(checked: ExtraArgsResult, version: string, strict: boolean): Finding[] {
  const { named } = checked;
  const cat = loadCatalog(version) as ReturnType<typeof loadCatalog> & CatalogRules;
  const flags = new Map(cat.flags.map((f) => [f.name, f]));
  const sev = strict ? "error" : "warning";
  const out: Finding[] = [];
  const seen = new Map<string, (typeof checked.flagUses)[number]>();
  for (const use of checked.flagUses) {
    const flag = flags.get(use.name);
    if (!flag) continue;
    const before = seen.get(use.name);
    if (before && flag.kind !== "append" && flag.nargs !== "+" && flag.nargs !== "*") {
      out.push({
        path: use.path,
        severity: "warning",
        message: `${use.name} is given twice (also at ${before.path.join(".")}); vLLM ${named} uses the last${use.values.length ? ` (${use.values.join(" ")})` : ""} and ignores the first`,
        hint: "keep one",
      });
    }
    seen.set(use.name, use);
    const rule = cat.value_rules?.[use.name];
    for (const raw of use.values) {
      if (rule) {
        let v: unknown;
        try {
          v = convert(flag.type, raw, cat.schemas);
        } catch (e) {
          if (!(e instanceof Invalid)) throw e;
          continue; // the parser's own refusal is reported by validateExtraArgs
        }
        if (typeof v === "number" && outside(rule, v)) {
          out.push({
            path: use.path,
            severity: sev,
            message: `${use.name} ${raw}: vLLM ${named} refuses it at start-up: ${rule.config}.${rule.field} must be ${bounds(rule)}`,
            hint: `give a value ${bounds(rule)}`,
          });
        }
      }
      const reg = cat.registered?.[use.name];
      if (reg && raw !== "" && raw !== "None") {
        const known =
          use.name === "--attention-backend" ? reg.names.includes(raw.toUpperCase()) : reg.names.includes(raw);
        if (!known) {
          const plugin = reg.plugin_flag && checked.flagsSet.has(reg.plugin_flag);
          const near = closeNames(use.name === "--attention-backend" ? raw.toUpperCase() : raw, reg.names);
          out.push({
            path: use.path,
            severity: plugin ? "warning" : sev,
            message: `${use.name} "${raw}": vLLM ${named} has no such name in ${reg.registry}${near.length ? ` (close: ${near.join(", ")})` : ""}, so the server fails at start-up${plugin ? ` unless ${reg.plugin_flag} registers it` : ""}`,
            hint: near.length
              ? `write ${near[0]}`
              : `one of vLLM ${named}'s ${reg.names.length} names (vllm serve --help)`,
          });
        }
      }
    }
  }
  return out;
}
