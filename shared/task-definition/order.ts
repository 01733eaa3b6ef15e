/**
 * Start order of a task's containers. A container waits for the containers it names in `dependsOn`
 * (with their conditions), for its `volumesFrom` sources and for the containers it `links` to (Docker
 * links need the target running, so ECS starts it first). Pure graph helpers; they work on any
 * task definition shape, valid or not.
 */

interface OrderedContainer {
  name: string;
  dependsOn?: ReadonlyArray<{ containerName: string }> | undefined;
  volumesFrom?: ReadonlyArray<{ sourceContainer: string }> | undefined;
  links?: ReadonlyArray<string> | undefined;
}

interface OrderedTask {
  containerDefinitions: ReadonlyArray<OrderedContainer>;
}

/** Names of the containers `c` must wait for (dependsOn targets, volumesFrom sources, link targets), deduplicated. */
export function containerPrerequisites(c: OrderedContainer): string[] {
  const out: string[] = [];
  for (const d of c.dependsOn ?? []) if (!out.includes(d.containerName)) out.push(d.containerName);
  for (const v of c.volumesFrom ?? []) if (!out.includes(v.sourceContainer)) out.push(v.sourceContainer);
  for (const l of c.links ?? []) {
    const target = l.split(":")[0] ?? "";
    if (target && !out.includes(target)) out.push(target);
  }
  return out;
}

/**
 * A dependency cycle as container names with the first repeated at the end (`["a", "b", "a"]`), or
 * null. Self references and unknown names are ignored here (the validator reports them separately).
 */
export function findDependencyCycle(td: OrderedTask): string[] | null {
  const byName = new Map(td.containerDefinitions.map((c) => [c.name, c] as const));
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];

  const visit = (name: string): string[] | null => {
    state.set(name, "visiting");
    stack.push(name);
    const c = byName.get(name);
    for (const dep of c ? containerPrerequisites(c) : []) {
      if (dep === name || !byName.has(dep)) continue;
      const s = state.get(dep);
      if (s === "visiting") return [...stack.slice(stack.indexOf(dep)), dep];
      if (s === undefined) {
        const found = visit(dep);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(name, "done");
    return null;
  };

  for (const c of td.containerDefinitions) {
    if (state.has(c.name)) continue;
    const found = visit(c.name);
    if (found) return found;
  }
  return null;
}

/**
 * Container names in an order that starts every container after everything it waits for; among
 * containers that are free to start, definition order is kept. Throws on a cycle (a validated task
 * definition has none). Unknown names and self references are ignored.
 */
export function containerStartOrder(td: OrderedTask): string[] {
  const containers = td.containerDefinitions;
  const known = new Set(containers.map((c) => c.name));
  const waitsFor = containers.map((c) => containerPrerequisites(c).filter((d) => d !== c.name && known.has(d)));
  const order: string[] = [];
  const startedIdx = new Set<number>();
  const startedNames = new Set<string>();
  while (order.length < containers.length) {
    const next = containers.findIndex((_, i) => !startedIdx.has(i) && (waitsFor[i] ?? []).every((d) => startedNames.has(d)));
    if (next < 0) {
      const cycle = findDependencyCycle(td);
      throw new Error(`container dependencies form a cycle${cycle ? `: ${cycle.join(" → ")}` : ""}`);
    }
    const name = containers[next]?.name ?? "";
    startedIdx.add(next);
    startedNames.add(name);
    order.push(name);
  }
  return order;
}

/** The reverse of the start order: dependents stop before what they depend on, as ECS does. */
export function containerStopOrder(td: OrderedTask): string[] {
  return containerStartOrder(td).reverse();
}
