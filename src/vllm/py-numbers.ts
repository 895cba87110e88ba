/** Python's and vLLM's number parsing (int(), float(), human-readable integers), emulated. Pure. */

export class Invalid extends Error {}

const DIGITS = String.raw`\d(?:_?\d)*`;
const PY_INT = new RegExp(String.raw`^\s*[+-]?${DIGITS}\s*$`);
const PY_FLOAT = new RegExp(
  String.raw`^\s*[+-]?(?:(?:(?:${DIGITS})?\.${DIGITS}|${DIGITS}\.?)(?:[eE][+-]?${DIGITS})?|inf|infinity|nan)\s*$`,
  "i",
);

const ND = /\p{Nd}/u;
/**
 * Python's int() and float() read every Unicode decimal digit (Arabic-Indic "٣", Devanagari, fullwidth
 * ...) as its ASCII digit. Unicode encodes each set of ten in a contiguous run, 0 first, so a digit's
 * value is its distance from the start of its run, modulo 10.
 */
function asciiDigits(s: string): string {
  if (/^[ -~\t\n\r]*$/.test(s)) return s;
  return s.replace(/\p{Nd}/gu, (d) => {
    let cp = d.codePointAt(0)!;
    let n = 0;
    while (ND.test(String.fromCodePoint(cp - 1))) {
      cp--;
      n++;
    }
    return String(n % 10);
  });
}

/** Python's int(s) */
export function pyInt(s: string): number {
  const a = asciiDigits(s);
  if (!PY_INT.test(a)) throw new Invalid(`invalid int value: '${s}'`);
  return Number(a.replace(/_/g, "").trim());
}

/** Python's float(s) */
export function pyFloat(s: string): number {
  const a = asciiDigits(s);
  if (!PY_FLOAT.test(a)) throw new Invalid(`invalid float value: '${s}'`);
  const t = a.replace(/_/g, "").trim().toLowerCase();
  if (/inf/.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
  if (/nan/.test(t)) return Number.NaN;
  return Number(t);
}

const DECIMAL: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12 };
const BINARY: Record<string, number> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** vLLM's human_readable_int: 1k = 1000, 1K = 1024, 25.6k; decimals are refused with binary suffixes. */
export function humanReadableInt(value: string): number {
  const v = asciiDigits(value).trim();
  const m = /^(\d+(?:\.\d+)?)([kKmMgGtT])$/.exec(v);
  if (m) {
    const [, num, suffix] = m as unknown as [string, string, string];
    if (suffix in DECIMAL) return Math.trunc(Number(num) * DECIMAL[suffix]!);
    if (!/^\d+$/.test(num))
      throw new Invalid(
        `Decimals are not allowed with binary suffixes like ${suffix}. Did you mean to use ${num}${suffix.toLowerCase()} instead?`,
      );
    return Number(num) * BINARY[suffix]!;
  }
  if (!PY_INT.test(v)) throw new Invalid(`invalid human_readable_int value: '${value}'`);
  return Number(v.replace(/_/g, ""));
}

/** vLLM's _expand_json_human_readable_numbers: bare 80m / 4K tokens outside strings become integers. */
export function expandJsonHumanNumbers(val: string): string {
  const parts = val.split(/("(?:[^"\\]|\\.)*")/);
  for (let i = 0; i < parts.length; i += 2) {
    parts[i] = parts[i]!.replace(/(?<![\w])\d+(?:\.\d+)?[kKmMgGtT](?![\w])/g, (t) => String(humanReadableInt(t)));
  }
  return parts.join("");
}
