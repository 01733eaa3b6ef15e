import { readFileSync } from "node:fs";
import { UsageError } from "./errors.ts";

/** Reads a JSON object from a file ("-" = stdin); unreadable or non-object input is a UsageError. */
export function readJsonFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = path === "-" ? readFileSync(0, "utf8") : readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${path} is not valid JSON (${(e as Error).message})`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new UsageError(`${path} must hold a JSON object`);
  return v as Record<string, unknown>;
}
