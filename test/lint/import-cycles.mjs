// @ts-check
// Import cycles in src/, type-only and dynamic imports included (madge, configured by .madgerc):
// none between files, and none between folders (cluster/ → app/ → models/ → cluster/ would be one).
// Run by `npm run lint`; exits 1 with the cycles it finds.
import madge from "madge";

const root = new URL("../../", import.meta.url).pathname;
const graph = (
  await madge(`${root}src`, {
    baseDir: root,
    fileExtensions: ["ts"],
    tsConfig: `${root}tsconfig.json`,
    detectiveOptions: { ts: { skipTypeImports: false, skipAsyncImports: false } },
  })
).obj();

const files = Object.keys(graph).length;
if (files < 50) throw new Error(`madge found only ${files} files in src/: is the tsconfig path right?`);

/**
 * Strongly connected components (Tarjan) of a graph given as node → successors.
 * @param {Map<string, Set<string>>} edges
 */
function cycles(edges) {
  let index = 0;
  /** @type {Map<string, number>} */
  const idx = new Map(),
    /** @type {Map<string, number>} */
    low = new Map(),
    /** @type {string[]} */
    stack = [],
    on = new Set(),
    /** @type {string[][]} */
    out = [];
  /** m.get(v) of a v visited already (so set) @param {Map<string, number>} m @param {string} v */
  const at = (m, v) => /** @type {number} */ (m.get(v));
  /** @param {string} v */
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(at(low, v), at(low, w)));
      } else if (on.has(w)) low.set(v, Math.min(at(low, v), at(idx, w)));
    }
    if (low.get(v) === idx.get(v)) {
      const c = [];
      let w;
      do {
        w = /** @type {string} */ (stack.pop());
        on.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1) out.push(c.sort());
    }
  };
  for (const v of edges.keys()) if (!idx.has(v)) visit(v);
  return out;
}

/**
 * src/cluster/api.ts → "cluster"; a file at the top, src/target.ts → "target.ts" (a folder of its own).
 * @param {string} f
 */
const folderOf = (f) => f.split("/").slice(1, 2)[0] ?? f;
const byFile = new Map(Object.entries(graph).map(([f, deps]) => [f, new Set(deps)]));
/** @type {Map<string, Set<string>>} */
const byFolder = new Map();
for (const [f, deps] of Object.entries(graph)) {
  const from = folderOf(f);
  for (const d of deps) {
    const to = folderOf(d);
    if (from === to) continue;
    const tos = byFolder.get(from) ?? new Set();
    byFolder.set(from, tos.add(to));
  }
}
const found = [
  ...cycles(byFile).map((c) => `files: ${c.join(" ⇄ ")}`),
  ...cycles(byFolder).map((c) => `folders: ${c.join(" ⇄ ")}`),
];
if (found.length) {
  console.error(`import cycles in src/:\n${found.map((c) => `  ${c}`).join("\n")}`);
  process.exit(1);
}
console.error(`no import cycles in src/ (${files} files, ${byFolder.size} folders)`);
