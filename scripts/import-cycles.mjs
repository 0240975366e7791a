// Lists the import cycles among the project's TypeScript modules: every relative `import` and
// `export ... from` (type-only ones too, since a cycle of types still ties two modules together),
// resolved from `./x.js` to `./x.ts`, over every .ts file under the folder given (default: the
// repository root), leaving out node_modules, dist, .venv and trainers/python. Prints each cycle
// (a strongly connected group of modules) and exits with 1 when there is one, else with 0.
// Usage: node scripts/import-cycles.mjs [FOLDER]
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const SKIPPED = new Set(["node_modules", "dist", ".venv", ".git", "python"]);
const IMPORT =
  /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s*)?["'](\.{1,2}\/[^"']+)["']/g;

function modules(folder) {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    if (SKIPPED.has(entry.name)) return [];
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return modules(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

/** Each module's relative imports that name a module of the project. */
function importGraph(files) {
  const graph = new Map();
  for (const file of files) {
    const targets = [];
    for (const match of readFileSync(file, "utf8").matchAll(IMPORT)) {
      const target = resolve(dirname(file), match[1] ?? "").replace(/\.js$/, ".ts");
      if (existsSync(target)) targets.push(target);
    }
    graph.set(file, targets);
  }
  return graph;
}

/** Strongly connected groups of more than one module, or of one that imports itself (Tarjan). */
function cycles(graph) {
  let next = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) !== index.get(v)) return;
    const group = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      group.push(w);
    } while (w !== v);
    if (group.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(group.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

const folder = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), ".."));
const graph = importGraph(modules(folder));
const found = cycles(graph);
const edges = [...graph.values()].reduce((n, targets) => n + targets.length, 0);
console.log(
  `${graph.size} modules, ${edges} relative imports, ${found.length} import ${found.length === 1 ? "cycle" : "cycles"}`,
);
for (const group of found)
  console.log(`cycle: ${group.map((file) => relative(folder, file)).join(" <-> ")}`);
process.exitCode = found.length > 0 ? 1 : 0;
