import type { z } from "zod";
import { issuesOf } from "../../shared/task-definition/index.ts";
import { invalid } from "./errors.ts";

/** Parses an operation's input or throws a 400-kind OpError naming every failing field. */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const fields = issuesOf(r.error);
  throw invalid(fields.map((f) => `${f.path}: ${f.message}`).join("; "), fields);
}
