/**
 * The words of validation errors that vllmapp does not word at the check itself: zod's issue codes
 * turned into sentences that say what was expected and what was found ("expected an integer, got the
 * string \"8000\""), so no validator text ("Invalid input", "Too small") reaches the user. Pure.
 */
import type { $ZodIssue, $ZodRawIssue } from "zod/v4/core";

const EXPECTED: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  bigint: "an integer",
  boolean: "true or false",
  object: "a mapping (key: value)",
  record: "a mapping (key: value)",
  map: "a mapping (key: value)",
  array: "a list",
  tuple: "a list",
  set: "a list",
  null: "an empty value",
  undefined: "nothing",
  nan: "a number",
};

/** What the user wrote, as they would name it: `the string "8000"`, `the number 16`, `a list`. */
export function describeValue(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "an empty value (null)";
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v)}`;
  if (typeof v === "number") return `the number ${v}`;
  if (typeof v === "boolean") return `${v}`;
  if (Array.isArray(v)) return `a list of ${v.length} item${v.length === 1 ? "" : "s"}`;
  if (v instanceof Uint8Array) return "binary data (a !!binary value)";
  if (v instanceof Date) return "a timestamp (write it in quotes to keep it a string)";
  if (v instanceof Set || v instanceof Map) return "a !!set or !!omap";
  if (typeof v === "object") return "a mapping";
  return typeof v;
}

export function expectedWords(expected: string): string {
  return EXPECTED[expected] ?? `a value of type ${expected}`;
}

/** "A, B or C" */
function either(words: readonly string[]): string {
  const u = [...new Set(words)];
  return u.length <= 1 ? (u[0] ?? "another value") : `${u.slice(0, -1).join(", ")} or ${u[u.length - 1]}`;
}

/** The kinds of value the branches of a union accept, from their type errors at the union itself. */
export function unionExpected(branches: readonly (readonly $ZodIssue[])[]): string[] {
  const out: string[] = [];
  for (const b of branches) {
    for (const i of b) {
      // the branch's own message names the kind best ("an integer" where the issue says "number")
      if (i.path.length === 0 && i.code === "invalid_type")
        out.push(/^expected (.+?), got /.exec(i.message)?.[1] ?? expectedWords(i.expected));
      if (i.path.length === 0 && i.code === "invalid_value")
        out.push(i.values.map((v) => JSON.stringify(v)).join(", "));
    }
  }
  return out;
}

function bound(origin: string, n: number | bigint, inclusive: boolean | undefined, dir: "min" | "max"): string {
  const num = Number(n);
  switch (origin) {
    case "string":
      if (dir === "min" && num <= 1) return "must not be empty";
      return `must be ${dir === "min" ? "at least" : "at most"} ${num} character${num === 1 ? "" : "s"} long`;
    case "array":
    case "set":
      if (dir === "min" && num <= 1) return "needs at least one item";
      return `must have ${dir === "min" ? "at least" : "at most"} ${num} item${num === 1 ? "" : "s"}`;
    default:
      if (inclusive === false) return `must be ${dir === "min" ? "greater" : "less"} than ${num}`;
      return `must be ${dir === "min" ? "at least" : "at most"} ${num}`;
  }
}

/** zod's issue → a sentence, for every issue code (vllmapp's own messages at the checks win over this). */
export function issueMessage(iss: $ZodRawIssue): string {
  const input = iss.input;
  switch (iss.code) {
    case "invalid_type": {
      // z.int() reports "number"; its format says integer
      const format = (iss.inst as { _zod?: { def?: { format?: string } } } | undefined)?._zod?.def?.format;
      const integer = iss.expected === "number" && /int/.test(format ?? "");
      return `expected ${integer ? "an integer" : expectedWords(iss.expected)}, got ${describeValue(input)}`;
    }
    case "too_small":
      return bound(iss.origin, iss.minimum, iss.inclusive, "min");
    case "too_big":
      return bound(iss.origin, iss.maximum, iss.inclusive, "max");
    case "invalid_value":
      return `expected ${either(iss.values.map((v) => JSON.stringify(v)))}, got ${describeValue(input)}`;
    case "invalid_format":
      switch (iss.format) {
        case "url":
          return `expected a URL (http://host:port), got ${describeValue(input)}`;
        case "starts_with":
          return `must start with ${JSON.stringify((iss as { prefix?: string }).prefix ?? "")}`;
        case "regex":
          return `${describeValue(input)} is not in the expected form`;
        default:
          return `expected a ${iss.format}, got ${describeValue(input)}`;
      }
    case "not_multiple_of":
      return `must be a multiple of ${String(iss.divisor)}`;
    case "unrecognized_keys":
      return `unknown field${iss.keys.length > 1 ? "s" : ""} ${iss.keys.map((k) => `"${k}"`).join(", ")}`;
    case "invalid_union": {
      const kinds = unionExpected(iss.errors);
      return kinds.length
        ? `expected ${either(kinds)}, got ${describeValue(input)}`
        : `${describeValue(input)} matches none of the forms this field takes`;
    }
    case "invalid_key":
      return `the key ${describeValue(input)} is not allowed here`;
    case "invalid_element":
      return `an entry is not allowed: ${describeValue(input)}`;
    default:
      return `${describeValue(input)} is not allowed here`;
  }
}
