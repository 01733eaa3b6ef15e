/**
 * A keyed set with O(1) add, delete and access by position. Positions let the engine sample
 * uniformly at random without copying the set; deletion swaps the last item into the hole, so the
 * order is arbitrary and changes as items leave.
 */
export class IndexedSet<T> {
  readonly items: T[] = [];
  private readonly keys: string[] = [];
  private readonly positions = new Map<string, number>();

  get size(): number {
    return this.items.length;
  }

  has(key: string): boolean {
    return this.positions.has(key);
  }

  /** Adds, or replaces the item stored under `key` in place. */
  set(key: string, item: T): void {
    const at = this.positions.get(key);
    if (at !== undefined) {
      this.items[at] = item;
      return;
    }
    this.positions.set(key, this.items.length);
    this.items.push(item);
    this.keys.push(key);
  }

  delete(key: string): boolean {
    const at = this.positions.get(key);
    if (at === undefined) return false;
    const last = this.items.length - 1;
    if (at !== last) {
      const movedKey = this.keys[last]!;
      this.items[at] = this.items[last]!;
      this.keys[at] = movedKey;
      this.positions.set(movedKey, at);
    }
    this.items.pop();
    this.keys.pop();
    this.positions.delete(key);
    return true;
  }
}
