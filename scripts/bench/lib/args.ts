/** `--name value` pairs from argv; benchmarks take a handful of numeric options. */
export function benchArgs(argv = process.argv.slice(2)): { num(name: string, fallback: number): number; str(name: string, fallback: string): string; flag(name: string): boolean } {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) throw new Error(`unexpected argument "${a}"`);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith("--")) values.set(a.slice(2), "true");
    else values.set(a.slice(2), argv[++i]!);
  }
  return {
    num(name, fallback) {
      const v = values.get(name);
      if (v === undefined) return fallback;
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got "${v}"`);
      return n;
    },
    str: (name, fallback) => values.get(name) ?? fallback,
    flag: (name) => values.get(name) === "true",
  };
}

/** How a measured value compares with its target: the ratio says by how much it is missed. */
export function target(value: number, limit: number, kind: "max" | "min" = "max") {
  const met = kind === "max" ? value <= limit : value >= limit;
  return { value, target: limit, kind, met, ratio: Math.round((value / limit) * 100) / 100 };
}
