import type { z } from "zod";

/**
 * Field issues and readable messages. Every message is one sentence that names the field, e.g.
 * `containerPort must be at most 65535.`; the path says where it is, e.g.
 * `containerDefinitions[0].portMappings[1].containerPort`.
 */

export interface FieldIssue {
  /** Field path as users read it, e.g. `containerDefinitions[0].image`. */
  path: string;
  message: string;
}

/** `warnings` name what was accepted but ignored (describe-task-definition output fields). */
export type ParseResult<T> = { ok: true; value: T; warnings?: FieldIssue[] } | { ok: false; issues: FieldIssue[] };

export type IssuePath = ReadonlyArray<PropertyKey>;

export function formatPath(path: IssuePath): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out || "(body)";
}

/** The field a message talks about: the last named segment and any indexes after it (`command[2]`). */
export function subjectOf(path: IssuePath | undefined): string {
  if (!path || path.length === 0) return "The task definition";
  let i = path.length - 1;
  while (i >= 0 && typeof path[i] === "number") i--;
  if (i < 0) return formatPath(path);
  const head = String(path[i]);
  const tail = formatPath(path.slice(i + 1));
  return tail === "(body)" ? head : head + tail;
}

/** A zod schema-level error function that writes `fn(subject)`; use for refinements and regexes. */
export function says(fn: (subject: string) => string): (iss: { path?: PropertyKey[] | undefined }) => string {
  return (iss) => fn(subjectOf(iss.path));
}

/** Short, printable rendering of a received value for messages. */
export function shown(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value);
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : typeof value;
}

function orList(values: readonly unknown[]): string {
  const parts = values.map((v) => (typeof v === "string" ? JSON.stringify(v) : String(v)));
  if (parts.length <= 1) return parts.join("");
  return `${parts.slice(0, -1).join(", ")} or ${parts[parts.length - 1]}`;
}

const EXPECTED: Record<string, string> = {
  number: "a number",
  int: "a whole number",
  string: "a string",
  boolean: "true or false",
  array: "a list (JSON array)",
  object: "an object",
  record: "an object",
  map: "an object",
  nan: "a number",
};

/** Units appended to numeric bound messages, by field name. */
const UNITS: Record<string, string> = {
  memory: " MiB",
  memoryReservation: " MiB",
  sharedMemorySize: " MiB",
  maxSwap: " MiB",
  size: " MiB",
  sizeInGiB: " GiB",
  stopTimeout: " seconds",
  startTimeout: " seconds",
  interval: " seconds",
  timeout: " seconds",
  startPeriod: " seconds",
  restartAttemptPeriod: " seconds",
};

type AnyIssue = z.core.$ZodRawIssue;

/**
 * Zod error map giving one readable sentence per issue. Pass it as the per-parse `error` option
 * (`schema.safeParse(body, { error: readableErrorMap })`); schema-level messages still win.
 */
export function readableErrorMap(iss: AnyIssue): string {
  const path = iss.path as PropertyKey[] | undefined;
  const s = subjectOf(path);
  const lastName = [...(path ?? [])].reverse().find((p): p is string => typeof p === "string") ?? "";
  const unit = UNITS[lastName] ?? "";
  if ((iss.code === "invalid_type" || iss.code === "invalid_value" || iss.code === "invalid_union") && iss.input === undefined) {
    return `${s} is required.`;
  }
  switch (iss.code) {
    case "invalid_type": {
      const expected = EXPECTED[iss.expected] ?? iss.expected;
      if (iss.expected === "int" && typeof iss.input === "number") return `${s} must be a whole number, not ${iss.input}.`;
      return `${s} must be ${expected}, not ${shown(iss.input)}.`;
    }
    case "too_small": {
      const min = Number(iss.minimum);
      if (iss.origin === "string") return min <= 1 ? `${s} must not be empty.` : `${s} must be at least ${min} characters long.`;
      if (iss.origin === "array" || iss.origin === "set")
        return min <= 1 ? `${s} must not be empty.` : `${s} must have at least ${min} entries.`;
      return iss.inclusive ? `${s} must be at least ${min}${unit}.` : `${s} must be greater than ${min}${unit}.`;
    }
    case "too_big": {
      const max = Number(iss.maximum);
      if (iss.origin === "string") return `${s} must be at most ${max} characters long.`;
      if (iss.origin === "array" || iss.origin === "set") return `${s} must have at most ${max} entries.`;
      return iss.inclusive ? `${s} must be at most ${max}${unit}.` : `${s} must be less than ${max}${unit}.`;
    }
    case "invalid_value":
      return iss.values.length === 1
        ? `${s} must be ${orList(iss.values)}, not ${shown(iss.input)}.`
        : `${s} must be one of ${orList(iss.values)}, not ${shown(iss.input)}.`;
    case "invalid_format":
      return `${s} has an invalid format.`;
    case "not_multiple_of":
      return `${s} must be a multiple of ${String(iss.divisor)}.`;
    case "unrecognized_keys":
      return `${s} has unknown fields: ${iss.keys.join(", ")}.`;
    case "invalid_key":
      return `${s} has an invalid key.`;
    case "invalid_element":
      return `${s} has an invalid entry.`;
    case "invalid_union":
      return `${s} has an invalid value.`;
    default:
      return `${s} is invalid.`;
  }
}

export interface IssuesOfOptions {
  /**
   * Message for an unknown field `key` found in the object at `objectPath`. Unknown fields are always
   * reported one per field, at the field's own path.
   */
  unknownField?: (key: string, objectPath: IssuePath) => string;
}

/** Converts a zod error into field issues: one per problem, unknown fields one per field. */
export function issuesOf(error: z.ZodError, options: IssuesOfOptions = {}): FieldIssue[] {
  const out: FieldIssue[] = [];
  const seen = new Set<string>();
  for (const i of error.issues) {
    if (i.code === "unrecognized_keys") {
      for (const key of i.keys) {
        const message = options.unknownField?.(key, i.path) ?? `${key} is not a known field; check its spelling or remove it.`;
        push({ path: formatPath([...i.path, key]), message });
      }
    } else {
      push({ path: formatPath(i.path), message: i.message });
    }
  }
  return out;

  function push(issue: FieldIssue) {
    const k = `${issue.path}\u0000${issue.message}`;
    if (seen.has(k)) return;
    seen.add(k);
    out.push(issue);
  }
}
