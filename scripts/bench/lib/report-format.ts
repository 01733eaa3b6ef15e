/**
 * The generated results file, docs/benchmark-results.md: one section per benchmark, each replaced
 * by its next run, so the file holds the latest run of each and never grows. What the figures mean,
 * the targets and why a target is missed are written by hand in docs/benchmarks.md, which links
 * here (`benchmark-results.md#NAME`).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";

export const RESULTS_HEADER = `# Benchmark results (generated)

Written by \`scripts/bench/all\` (scripts/bench/lib/report.ts); do not edit by hand. Each run replaces
the sections of the benchmarks it ran, so this file holds the latest run of each. What the figures
mean, their targets and why a missed one is missed: [benchmarks.md](benchmarks.md).
`;

interface Verdict {
  name: string;
  value: unknown;
  target: unknown;
  /** "≤", "≥", or "" when the benchmark does not say which way. */
  relation: string;
  met: boolean | undefined;
  ratio?: number;
}

const isTarget = (v: unknown): v is { value: unknown; target: unknown; kind: string; met: boolean; ratio?: number } =>
  typeof v === "object" && v !== null && "value" in v && "target" in v && "kind" in v && "met" in v;

/**
 * Every target verdict in a benchmark's JSON, wherever it sits: `target()` objects from
 * lib/args.ts (at `targets.X` or `X.target`), and the placement benchmarks' `targets` + `met` maps.
 */
export function verdicts(result: unknown, path: string[] = []): Verdict[] {
  if (typeof result !== "object" || result === null) return [];
  if (isTarget(result)) {
    const name = path.filter((p) => p !== "targets" && p !== "target").join(".") || "target";
    return [{ name, value: result.value, target: result.target, relation: result.kind === "min" ? "≥" : "≤", met: result.met, ratio: result.ratio }];
  }
  const o = result as Record<string, unknown>;
  const out: Verdict[] = [];
  const limits = o.targets;
  const met = o.met;
  if (limits && met && typeof limits === "object" && typeof met === "object" && !Object.values(limits).some(isTarget)) {
    for (const [k, limit] of Object.entries(limits as Record<string, unknown>)) {
      out.push({ name: [...path, k].join("."), value: o[k], target: limit, relation: "", met: (met as Record<string, boolean>)[k] });
    }
  }
  for (const [k, v] of Object.entries(o)) {
    if (k === "met" || (k === "targets" && out.length)) continue;
    out.push(...verdicts(v, [...path, k]));
  }
  return out;
}

export function verdictTable(result: unknown): string {
  const error = (result as { error?: string } | null)?.error;
  const rows = verdicts(result).map((v) => {
    const verdict = v.met === true ? "met" : typeof v.value !== "number" || Number.isNaN(v.value) ? "not measured" : `**missed**${v.ratio === undefined ? "" : ` (${v.ratio}× the ${v.relation === "≥" ? "minimum" : "limit"})`}`;
    return `| ${v.name} | ${v.value} | ${v.relation ? `${v.relation} ` : ""}${v.target} | ${verdict} |`;
  });
  const table = rows.length ? ["| measure | result | target | verdict |", "|---|---|---|---|", ...rows].join("\n") + "\n" : "No stated target; see benchmarks.md.\n";
  return error ? `**Error:** ${error}\n\n${table}` : table;
}

export interface SectionInput {
  name: string;
  title: string;
  command: string;
  /** Machine and date of the run. */
  facts: string;
  /** One or two sentences: what is measured. */
  what: string;
  result: unknown;
}

export function section(s: SectionInput): string {
  return [
    `<!-- bench:${s.name} -->`,
    `## ${s.name}`,
    "",
    `**${s.title}.** ${s.what}`,
    "",
    `Command: \`${s.command}\`. ${s.facts}`,
    "",
    verdictTable(s.result),
    "<details><summary>Full JSON</summary>",
    "",
    "```json",
    JSON.stringify(s.result, null, 2),
    "```",
    "</details>",
    `<!-- /bench:${s.name} -->`,
  ].join("\n");
}

/** Replaces the section NAME of the results file (appends it the first time). */
export function writeSection(file: string, name: string, text: string): void {
  let doc = existsSync(file) ? readFileSync(file, "utf8") : RESULTS_HEADER;
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i >= 0 && j > i) doc = doc.slice(0, i) + text + doc.slice(j + end.length);
  else doc = `${doc.trimEnd()}\n\n${text}\n`;
  writeFileSync(file, doc);
}
