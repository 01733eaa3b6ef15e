import { containerPrerequisites } from "../../shared/task-definition/index.ts";

interface Ordered {
  name: string;
  dependsOn?: ReadonlyArray<{ containerName: string }> | undefined;
  volumesFrom?: ReadonlyArray<{ sourceContainer: string }> | undefined;
}

/**
 * Stop waves, dependents first (ECS stops in reverse dependency order): each wave holds the
 * containers nothing still running depends on, so containers without relations stop together
 * instead of one stopTimeout after another.
 */
export function stopWaves(containers: readonly Ordered[]): string[][] {
  const names = new Set(containers.map((c) => c.name));
  const waits = new Map(containers.map((c) => [c.name, containerPrerequisites(c).filter((d) => d !== c.name && names.has(d))]));
  const left = new Set(names);
  const waves: string[][] = [];
  while (left.size) {
    // A container may stop once no remaining container depends on it.
    const wave = [...left].filter((n) => ![...left].some((o) => o !== n && waits.get(o)!.includes(n)));
    const next = wave.length ? wave : [...left]; // a cycle (not valid anyway): stop the rest together
    waves.push(next);
    for (const n of next) left.delete(n);
  }
  return waves;
}
