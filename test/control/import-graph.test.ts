import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/**
 * The control service's import graph runs one way: front doors (console; api, broker; the AWS JSON
 * door ecs-api, which api mounts; link, views) →
 * ops → services → scheduling → placement → db. A cycle between those layers (ops ⇄
 * scheduling once, through a row type) makes every layer depend on every other; these tests name
 * the imports that bring one back. Type-only imports count: they are what put a row type in the
 * wrong layer.
 */
const ROOT = resolve(import.meta.dir, "../..");
const CONTROL = join(ROOT, "control");

/** Top to bottom; a folder may import only folders in rows below its own. */
const LAYERS: string[][] = [["console"], ["api", "broker"], ["ecs-api"], ["link", "views"], ["ops"], ["services"], ["scheduling"], ["placement"], ["db"]];

const transpiler = new Bun.Transpiler({ loader: "ts" });
const tsxTranspiler = new Bun.Transpiler({ loader: "tsx" });

/**
 * Relative imports of a file, type-only ones included: scanImports drops `import type` (it reads
 * imports as the bundler does), so type-only forms are turned into plain ones first.
 */
function importsOf(file: string): string[] {
  const source = readFileSync(file, "utf8")
    .replace(/\bimport\s+type\s+/g, "import ")
    .replace(/\bexport\s+type\s+(?=[{*])/g, "export ")
    .replace(/([{,]\s*)type\s+(?=[A-Za-z_$])/g, "$1");
  return (file.endsWith(".tsx") ? tsxTranspiler : transpiler)
    .scanImports(source)
    .map((i) => i.path)
    .filter((p) => p.startsWith("."))
    .map((p) => resolve(dirname(file), p));
}

/** Every control/ source file and what it imports inside control/, as paths relative to control/. */
function controlGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const rel of new Bun.Glob("**/*.{ts,tsx}").scanSync(CONTROL)) {
    const deps = importsOf(join(CONTROL, rel))
      .filter((abs) => abs.startsWith(CONTROL + "/"))
      .map((abs) => relative(CONTROL, abs));
    graph.set(rel, deps);
  }
  return graph;
}

const folderOf = (rel: string) => (rel.includes("/") ? rel.slice(0, rel.indexOf("/")) : "");
const rankOf = (folder: string) => LAYERS.findIndex((row) => row.includes(folder));

/** Imports that go sideways or up the layer list, as "from → to" lines. */
export function layerViolations(graph: Map<string, string[]>): string[] {
  const out: string[] = [];
  for (const [from, deps] of graph) {
    const fromRank = rankOf(folderOf(from));
    if (fromRank < 0) continue;
    for (const to of deps) {
      const toFolder = folderOf(to);
      const toRank = rankOf(toFolder);
      if (toRank < 0 || toFolder === folderOf(from)) continue;
      if (toRank <= fromRank) out.push(`control/${from} → control/${to} (${folderOf(from)}/ may not import ${toFolder}/)`);
    }
  }
  return out.sort();
}

/** Import cycles between files (strongly connected components of more than one file, or a self-import). */
export function fileCycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(scc.sort().map((f) => `control/${f}`));
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

describe("control/ import graph", () => {
  const graph = controlGraph();

  test("sees the imports it checks, type-only ones included", () => {
    // A graph that lost its edges would pass every check below.
    expect(graph.get("ops/tasks.ts")).toContain("scheduling/start-tasks.ts");
    expect(graph.get("services/store.ts")).toContain("db/rows.ts"); // `import type` only
  });

  test("layers import only layers below them", () => {
    expect(layerViolations(graph)).toEqual([]);
  });

  test("no import cycle between files", () => {
    expect(fileCycles(graph)).toEqual([]);
  });

  test("the checks name the files of an import that goes the wrong way", () => {
    const bad = new Map(graph);
    bad.set("scheduling/start-tasks.ts", [...graph.get("scheduling/start-tasks.ts")!, "ops/task-definitions.ts"]);
    bad.set("ops/task-definitions.ts", [...graph.get("ops/task-definitions.ts")!, "scheduling/start-tasks.ts"]);
    expect(layerViolations(bad)).toEqual(["control/scheduling/start-tasks.ts → control/ops/task-definitions.ts (scheduling/ may not import ops/)"]);
    expect(fileCycles(bad)).toContainEqual(expect.arrayContaining(["control/ops/task-definitions.ts", "control/scheduling/start-tasks.ts"]));
  });
});

describe("shared/", () => {
  test("imports nothing from control/ or agent/ (both sides build on it)", () => {
    const out: string[] = [];
    const SHARED = join(ROOT, "shared");
    for (const rel of new Bun.Glob("**/*.ts").scanSync(SHARED)) {
      for (const abs of importsOf(join(SHARED, rel))) {
        // package.json is the release's own (its version): neither side's code.
        if (!abs.startsWith(SHARED + "/") && abs !== join(ROOT, "package.json")) out.push(`shared/${rel} → ${relative(ROOT, abs)}`);
      }
    }
    expect(out).toEqual([]);
  });
});
