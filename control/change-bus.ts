/**
 * In-process change notifications: what changed, never the data itself, so a listener (the web
 * console's server-sent events) reads current state through the same operations as everyone else.
 * One bus per control (built by createControl and carried in the operations context), never a
 * module-level global: two control services in one test process must not hear each other.
 */
export type Change =
  | { kind: "instance"; instanceId: string }
  | { kind: "tasks"; instanceId?: string }
  | { kind: "services" }
  | { kind: "task-definitions" };

export type ChangeListener = (change: Change) => void;

export class ChangeBus {
  private readonly listeners = new Set<ChangeListener>();

  subscribe(fn: ChangeListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** A listener that throws is its own problem: the writer that emitted must not fail. */
  emit(change: Change): void {
    for (const fn of this.listeners) {
      try {
        fn(change);
      } catch {
        // listeners keep their own errors
      }
    }
  }

  get size(): number {
    return this.listeners.size;
  }
}
