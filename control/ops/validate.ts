import type { z } from "zod";
import { explainUnknownFieldOf, issuesOf } from "../../shared/task-definition/index.ts";
import { invalid } from "./errors.ts";

/** Parses an operation's input or throws a 400-kind OpError naming every failing field (a misspelt field gets a "did you mean"). */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const fields = issuesOf(r.error, { unknownField: (key, path) => explainUnknownFieldOf(schema, key, path) });
  throw invalid(fields.map((f) => `${f.path}: ${f.message}`).join("; "), fields);
}
