/** Durations (`300`, `"5m"`, `"1h30m"`) and Kubernetes quantities (`"32Gi"`, `16`). */

const DURATION_UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/** Seconds for a duration, or undefined when it is not one. Bare numbers are seconds. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== "string") return undefined;
  const s = value.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    matched = re.lastIndex;
  }
  return matched === s.length && s.length > 0 ? total : undefined;
}

export function formatDuration(seconds: number): string {
  if (seconds % 3600 === 0 && seconds >= 3600) return `${seconds / 3600}h`;
  if (seconds % 60 === 0 && seconds >= 60) return `${seconds / 60}m`;
  return `${seconds}s`;
}

const QUANTITY_RE = /^(\d+(\.\d+)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
const EXPONENT_RE = /^(\d+(\.\d*)?|\.\d+)[eE][+-]?\d+$/;
const BYTE_FACTORS: Record<string, number> = {
  "": 1,
  m: 0.001,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

export function isQuantity(value: unknown): boolean {
  return (typeof value === "number" && value >= 0) || (typeof value === "string" && QUANTITY_RE.test(value.trim()));
}

/** A Kubernetes quantity as a plain number (bytes for memory, cores for CPU). */
export function quantityValue(value: string | number): number {
  if (typeof value === "number") return value;
  const s = value.trim();
  // a number the file wrote in exponent form reaches here as JavaScript prints it ("3.7e-254"), which
  // Kubernetes reads too (its <decimalExponent>)
  if (EXPONENT_RE.test(s)) return Number(s);
  const m = QUANTITY_RE.exec(s);
  if (!m) throw new Error(`not a quantity: ${value}`);
  return Number(m[1]) * BYTE_FACTORS[m[3] ?? ""]!;
}

/** Normalise a quantity to the string form Kubernetes prints back. */
export function quantityString(value: string | number): string {
  return typeof value === "number" ? String(value) : value.trim();
}

/** Docker's --shm-size / --memory syntax (b, k, m, g) from a Kubernetes quantity. */
export function dockerSize(value: string | number): string {
  const bytes = quantityValue(value);
  if (bytes % 2 ** 30 === 0) return `${bytes / 2 ** 30}g`;
  if (bytes % 2 ** 20 === 0) return `${bytes / 2 ** 20}m`;
  return `${Math.ceil(bytes)}b`;
}

/**
 * The quantity a malformed one most likely meant: "16GB", "16gb", "16 Gi", "16gi" → "16Gi";
 * undefined when there is no clear guess.
 */
export function quantityFix(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtTpPeE])\s*(i?)\s*[bB]?\s*$/.exec(value);
  if (!m) return undefined;
  const unit = m[2]!.toLowerCase() === "k" ? "Ki" : `${m[2]!.toUpperCase()}i`;
  const fixed = `${m[1]}${unit}`;
  return fixed === value ? undefined : fixed;
}

const DECIMAL_BYTE_UNITS = new Set(["k", "M", "G", "T", "P", "E"]);

/**
 * How a byte quantity (memory, shm, disk, cache size) reads, when it is likely not what was meant:
 * a bare number is bytes (`16` = 16 bytes), `m` is milli (`512m` = half a byte), and decimal units
 * (`16G` = 16×10⁹ bytes, not 16Gi). Undefined when it reads as meant.
 */
export function byteQuantityProblem(
  value: string | number,
): { severity: "error" | "warning"; message: string; hint: string } | undefined {
  const s = typeof value === "number" ? String(value) : value.trim();
  if (EXPONENT_RE.test(s) && Number(s) < 2 ** 20) {
    return {
      severity: "error",
      message: `${JSON.stringify(value)} is ${Number(s)} bytes: a bare number is bytes`,
      hint: 'write the size with a unit, e.g. "16Gi" or "512Mi"',
    };
  }
  const m = QUANTITY_RE.exec(s);
  if (!m) return undefined;
  const n = m[1]!;
  const unit = m[3] ?? "";
  if (unit === "" && Number(n) < 2 ** 20) {
    return {
      severity: "error",
      message: `${JSON.stringify(value)} is ${n} bytes: a bare number is bytes`,
      hint: `write "${n}Gi" (or "${n}Mi")`,
    };
  }
  if (unit === "m") {
    return {
      severity: "error",
      message: `"${s}" is ${Number(n) / 1000} bytes: m means milli`,
      hint: `write "${n}Mi" for mebibytes`,
    };
  }
  if (DECIMAL_BYTE_UNITS.has(unit)) {
    const gi = quantityValue(s) / 2 ** 30;
    return {
      severity: "warning",
      message: `"${s}" is ${n}×10^${{ k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 }[unit]} bytes (${gi >= 1 ? `${Number(gi.toFixed(2))}Gi` : `${Number((quantityValue(s) / 2 ** 20).toFixed(1))}Mi`}), not ${n}${unit === "k" ? "Ki" : `${unit}i`}`,
      hint: `if you meant ${n}${unit === "k" ? "Ki" : `${unit}i`}, write "${n}${unit === "k" ? "Ki" : `${unit}i`}"`,
    };
  }
  return undefined;
}

/** The same rules as JSON Schema patterns (for the strings; numbers are ≥ 0): the editor and the CLI accept the same values. */
export const QUANTITY_PATTERN = `^\\s*${QUANTITY_RE.source.slice(1, -1)}\\s*$`;
export const DURATION_PATTERN = "^\\s*(\\d+(\\.\\d+)?|(\\d+(\\.\\d+)?(ms|s|m|h|d))+)\\s*$";
