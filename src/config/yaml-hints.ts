/**
 * Indentation mistakes, said where they are. For an over-indented line YAML's parser reports the line
 * above it ("Nested mappings are not allowed in compact mappings" at `gpu: L4:1`), because it reads the
 * deeper line as a continuation of that value; for a line out of step with its siblings it reports
 * column 1. This finds the line a person has to fix, and says how. Pure.
 */
import type { Diagnostic } from "../errors.js";

interface Line {
  n: number;
  indent: number;
  text: string;
}

function significant(text: string): Line[] {
  return text
    .split(/\r?\n/)
    .map((t, i) => ({ n: i + 1, indent: t.length - t.trimStart().length, text: t.trim() }))
    .filter((l) => l.text !== "" && !l.text.startsWith("#") && l.text !== "---");
}

const keyOf = (l: Line) => /^(?:-\s+)?([^\s:#][^:#]*?):(?:\s|$)/.exec(l.text)?.[1];

/** One diagnostic for the YAML errors of a document that come from indentation, or undefined. */
export function indentationProblem(text: string, file: string, code: string, line: number): Diagnostic | undefined {
  const lines = significant(text);
  if (code === "BLOCK_AS_IMPLICIT_KEY" || code === "MULTILINE_IMPLICIT_KEY") {
    const i = lines.findIndex((l) => l.n === line);
    const above = lines[i];
    const deeper = lines[i + 1];
    if (!above || !deeper || deeper.indent <= above.indent) return undefined;
    const key = keyOf(above);
    const own = keyOf(deeper);
    return {
      file,
      line: deeper.n,
      col: deeper.indent + 1,
      path: "",
      severity: "error",
      message: `line ${deeper.n} is indented more than line ${above.n} (${above.text}), which already has a value, so it cannot hold fields`,
      hint: `start ${own ? `${own}:` : "it"} at column ${above.indent + 1}, like ${key ? `${key}: on line ${above.n}` : `line ${above.n}`}`,
    };
  }
  if (code === "BAD_INDENT") {
    const i = lines.findIndex((l) => l.n >= line);
    const bad = lines[i];
    if (!bad) return undefined;
    // its siblings: the lines above at the indentation of the nearest shallower parent's children
    let parent: Line | undefined;
    for (let j = i - 1; j >= 0; j--)
      if (lines[j]!.indent < bad.indent && !lines[j]!.text.startsWith("- ")) {
        parent = lines[j];
        break;
      }
    const sibling = lines
      .slice(0, i)
      .reverse()
      .find((l) => l.indent > (parent?.indent ?? -1) && l.indent !== bad.indent && (!parent || l.n > parent.n));
    if (!sibling) return undefined;
    const own = keyOf(bad);
    return {
      file,
      line: bad.n,
      col: bad.indent + 1,
      path: "",
      severity: "error",
      message: `line ${bad.n} starts at column ${bad.indent + 1}, but the fields ${parent && keyOf(parent) ? `of ${keyOf(parent)} ` : ""}above it start at column ${sibling.indent + 1}`,
      hint: `indent ${own ? `${own}:` : "it"} to column ${sibling.indent + 1}, like ${keyOf(sibling) ?? `line ${sibling.n}`}${keyOf(sibling) ? ":" : ""} on line ${sibling.n}`,
    };
  }
  return undefined;
}
