/** Seeded generators of hostile JSON for the fuzz test (mulberry32: reproducible from a seed). */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick };
}
export type Rng = ReturnType<typeof rng>;

const WEIRD_STRINGS = ["", " ", "__proto__", "constructor", "../../etc/passwd", "a".repeat(5000), "\u0000", "💥", "null", "1e309", "<script>", "arn:aws:ecs:x", "%s%n", "'; DROP TABLE tasks;--"];

export function randomValue(r: Rng, depth = 0): unknown {
  switch (r.int(depth > 2 ? 6 : 9)) {
    case 0: return r.pick(WEIRD_STRINGS);
    case 1: return r.pick([0, -1, 1, 1.5, 2 ** 53, -(2 ** 63), 1e308, 65536]);
    case 2: return r.pick([true, false, null]);
    case 3: return Math.random().toString(36).slice(2, 2 + r.int(20));
    case 4: return r.int(100000);
    case 5: return "x".repeat(r.int(300));
    case 6: return Array.from({ length: r.int(5) }, () => randomValue(r, depth + 1));
    case 7: return Object.fromEntries(Array.from({ length: r.int(5) }, () => [r.pick([...WEIRD_STRINGS.slice(0, 5), "name", "value", "role", "count"]), randomValue(r, depth + 1)]));
    default: return {};
  }
}

/** A copy of `seed` with one to three random edits somewhere in its tree. */
export function mutate(r: Rng, seed: unknown): unknown {
  const copy = structuredClone(seed);
  for (let n = 1 + r.int(3); n > 0; n--) {
    let node: any = copy;
    // Walk down a random path of objects and arrays.
    for (let d = 0; d < 4 && node && typeof node === "object" && r.next() < 0.6; d++) {
      const keys = Object.keys(node);
      if (!keys.length) break;
      const k = r.pick(keys);
      if (node[k] && typeof node[k] === "object") node = node[k];
      else break;
    }
    if (!node || typeof node !== "object") continue;
    const keys = Object.keys(node);
    const op = r.int(3);
    if (op === 0 && keys.length) delete node[r.pick(keys)];
    else if (op === 1 && keys.length) node[r.pick(keys)] = randomValue(r);
    else node[Array.isArray(node) ? node.length : r.pick(["extra", "__proto__", "isAdmin", "privileged", "constructor"])] = randomValue(r);
  }
  return copy;
}

/** A body as text: mostly mutated seeds, sometimes random JSON, sometimes not JSON at all. */
export function hostileBody(r: Rng, seeds: unknown[]): string {
  const k = r.int(10);
  if (k < 6) return JSON.stringify(mutate(r, r.pick(seeds)));
  if (k < 8) return JSON.stringify(randomValue(r));
  if (k < 9) return JSON.stringify(r.pick(seeds)).slice(0, r.int(60));
  return Array.from({ length: r.int(50) }, () => String.fromCharCode(r.int(256))).join("");
}
