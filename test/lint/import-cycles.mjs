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

/** Strongly connected components (Tarjan) of a graph given as node → successors. */
function cycles(edges) {
  let index = 0;
  const idx = new Map(),
    low = new Map(),
    stack = [],
    on = new Set(),
    out = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const c = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1) out.push(c.sort());
    }
  };
  for (const v of edges.keys()) if (!idx.has(v)) visit(v);
  return out;
}

/** src/cluster/api.ts → "cluster"; a file at the top, src/target.ts → "target.ts" (a folder of its own). */
const folderOf = (f) => f.split("/").slice(1, 2)[0] ?? f;
const byFile = new Map(Object.entries(graph).map(([f, deps]) => [f, new Set(deps)]));
const byFolder = new Map();
for (const [f, deps] of Object.entries(graph)) {
  const from = folderOf(f);
  for (const d of deps) {
    const to = folderOf(d);
    if (from === to) continue;
    if (!byFolder.has(from)) byFolder.set(from, new Set());
    byFolder.get(from).add(to);
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
