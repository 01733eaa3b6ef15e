import { diffLines } from "diff";

export interface DiffLine {
  kind: "same" | "added" | "removed";
  /** Line numbers in the older and newer text (absent on the side that lacks the line). */
  from?: number;
  to?: number;
  text: string;
}

/** Pretty JSON, keys as the view gives them: the same text the revision page shows. */
export const prettyJson = (v: unknown) => JSON.stringify(v, null, 2);

/**
 * A line diff of two texts (jsdiff's Myers diff), one entry per line with its line numbers, so a
 * page can show it as a table without any script. Unchanged runs longer than 2 × context lines are
 * cut to their ends; `context: Infinity` keeps everything.
 */
export function lineDiff(older: string, newer: string, context = 3): { lines: (DiffLine | { kind: "skip"; count: number })[]; added: number; removed: number } {
  const all: DiffLine[] = [];
  let from = 1;
  let to = 1;
  let added = 0;
  let removed = 0;
  for (const part of diffLines(older, newer)) {
    const lines = part.value.replace(/\n$/, "").split("\n");
    for (const text of lines) {
      if (part.added) {
        all.push({ kind: "added", to: to++, text });
        added++;
      } else if (part.removed) {
        all.push({ kind: "removed", from: from++, text });
        removed++;
      } else all.push({ kind: "same", from: from++, to: to++, text });
    }
  }
  const keep = all.map(() => false);
  all.forEach((l, i) => {
    if (l.kind === "same") return;
    for (let j = Math.max(0, i - context); j <= Math.min(all.length - 1, i + context); j++) keep[j] = true;
  });
  const out: (DiffLine | { kind: "skip"; count: number })[] = [];
  for (let i = 0; i < all.length; i++) {
    if (keep[i] || context === Infinity) {
      out.push(all[i]!);
      continue;
    }
    let n = 0;
    while (i + n < all.length && !keep[i + n]) n++;
    out.push({ kind: "skip", count: n });
    i += n - 1;
  }
  return { lines: out, added, removed };
}
