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
const BYTE_FACTORS: Record<string, number> = {
  "": 1, m: 0.001, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

export function isQuantity(value: unknown): boolean {
  return (typeof value === "number" && value >= 0) || (typeof value === "string" && QUANTITY_RE.test(value.trim()));
}

/** A Kubernetes quantity as a plain number (bytes for memory, cores for CPU). */
export function quantityValue(value: string | number): number {
  if (typeof value === "number") return value;
  const m = QUANTITY_RE.exec(value.trim());
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

/** The same rules as JSON Schema patterns (for the strings; numbers are ≥ 0): the editor and the CLI accept the same values. */
export const QUANTITY_PATTERN = `^\\s*${QUANTITY_RE.source.slice(1, -1)}\\s*$`;
export const DURATION_PATTERN = "^\\s*(\\d+(\\.\\d+)?|(\\d+(\\.\\d+)?(ms|s|m|h|d))+)\\s*$";
