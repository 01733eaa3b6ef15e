import { shortName } from "../../shared/arn.ts";

/** Human output: aligned columns, "-" for missing values. */
export function table(rows: Record<string, unknown>[], columns: [header: string, pick: (r: any) => unknown][]): string {
  const cells = rows.map((r) => columns.map(([, pick]) => cell(pick(r))));
  const headers = columns.map(([h]) => h);
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (vals: string[]) => vals.map((v, i) => (i === vals.length - 1 ? v : v.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(headers), ...cells.map(line)].join("\n");
}

/** Key/value block for describe commands. */
export function details(pairs: [label: string, value: unknown][]): string {
  const w = Math.max(...pairs.map(([l]) => l.length));
  return pairs.map(([l, v]) => `${(l + ":").padEnd(w + 1)} ${cell(v)}`).join("\n");
}

export function cell(v: unknown): string {
  if (v === undefined || v === null || v === "") return "-";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** Short id for tables: an ARN's name (`web:3`, a task id), through the one ARN parser. */
export const lastSegment = (s: string | undefined) => (s ? shortName(s) : undefined);
