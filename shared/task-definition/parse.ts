import { z } from "zod";
import { OUTPUT_ONLY_TASK_FIELDS } from "./constants.ts";
import { formatPath, issuesOf, readableErrorMap, type FieldIssue, type IssuePath, type ParseResult } from "./issues.ts";
import { taskDefinitionSchema, type TaskDefinitionSpec } from "./schema.ts";
import { windowsMarker } from "./windows.ts";

export { formatPath, issuesOf, readableErrorMap, subjectOf } from "./issues.ts";
export type { FieldIssue, IssuesOfOptions, ParseResult } from "./issues.ts";

/**
 * ECS fields Flotilla knows and refuses, with the reason. Any other unknown field is refused as a
 * probable typo, with a suggestion when a known field is close. Sent empty (`[]`, `{}`) or off
 * (`false`), these fields mean "none" and are accepted (console exports write them that way).
 */
export const UNSUPPORTED_FIELDS: Readonly<Record<string, string>> = {
  // container definitions
  environmentFiles:
    "environmentFiles is not supported: Flotilla does not fetch environment files from S3; list the variables in environment, or in secrets for sensitive values.",
  credentialSpecs: "credentialSpecs is not supported: Active Directory (gMSA) credential specs need a domain-joined host and AWS; Flotilla does not fetch them.",
  disableNetworking: 'disableNetworking is not supported; use networkMode "none" to run the task without networking.',
  containerPortRange: "containerPortRange is not supported; list each port as its own portMappings entry with containerPort.",
  // volumes
  efsVolumeConfiguration:
    "efsVolumeConfiguration is not supported: Amazon EFS is not reachable from Flotilla hosts; use host.sourcePath or dockerVolumeConfiguration with a volume driver.",
  fsxWindowsFileServerVolumeConfiguration:
    "fsxWindowsFileServerVolumeConfiguration is not supported: Flotilla runs Linux containers only; use host.sourcePath or dockerVolumeConfiguration.",
  configuredAtLaunch:
    "configuredAtLaunch is not supported: Amazon EBS volumes attached at launch need AWS; use host.sourcePath or dockerVolumeConfiguration.",
  // task definition
  proxyConfiguration: "proxyConfiguration is not supported: App Mesh proxy configuration needs AWS App Mesh; remove it.",
  taskDefinition:
    "taskDefinition looks like a describe-task-definition response mixed with task definition fields; send either the whole response or the object inside taskDefinition.",
};

/** Top-level fields of a describe-task-definition response besides `taskDefinition`. */
const DESCRIBE_RESPONSE_FIELDS = new Set(["taskDefinition", "tags"]);

export interface PreparedBody {
  body: unknown;
  /** "taskDefinition." when the body was a describe-task-definition response, so paths point into what was sent. */
  pathPrefix: string;
  /** Each ignored field of describe-task-definition output, at its path in what was sent. */
  warnings: FieldIssue[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Turns what people paste into a RegisterTaskDefinition body: a describe-task-definition response
 * (`{"taskDefinition": {...}, "tags": [...]}`) is unwrapped, its tags kept, and the output-only
 * fields (taskDefinitionArn, revision, ...) are dropped with a warning each. ECS's CLI refuses such
 * bodies and pipelines strip the fields by hand; Flotilla says what it ignored instead.
 */
export function prepareTaskDefinitionBody(input: unknown): PreparedBody {
  const warnings: FieldIssue[] = [];
  if (!isObject(input)) return { body: input, pathPrefix: "", warnings };
  let body: Record<string, unknown> = input;
  let prefix = "";
  const wrapped =
    isObject(input.taskDefinition) && input.family === undefined && input.containerDefinitions === undefined &&
    Object.keys(input).every((k) => DESCRIBE_RESPONSE_FIELDS.has(k));
  if (wrapped) {
    body = { ...(input.taskDefinition as Record<string, unknown>) };
    prefix = "taskDefinition.";
    if (input.tags != null && body.tags == null) body.tags = input.tags;
  }
  for (const field of OUTPUT_ONLY_TASK_FIELDS) {
    if (!(field in body)) continue;
    if (body === input) body = { ...input };
    delete body[field];
    warnings.push({
      path: prefix + field,
      message: `${field} is output of describe-task-definition; Flotilla sets it itself, so the value sent was ignored.`,
    });
  }
  return { body, pathPrefix: prefix, warnings };
}

/**
 * Parses and normalises a task definition body; never throws for bad input. A field whose value is
 * null counts as absent (as in the ECS API; tools such as Terraform emit nulls for unset fields).
 * A describe-task-definition response is accepted too (see `prepareTaskDefinitionBody`); what was
 * ignored comes back as `warnings`.
 */
export function parseTaskDefinition(input: unknown): ParseResult<TaskDefinitionSpec> {
  const { body, pathPrefix, warnings } = prepareTaskDefinitionBody(input);
  const inSent = (issues: FieldIssue[]) =>
    pathPrefix ? issues.map((i) => ({ ...i, path: i.path === "(body)" ? pathPrefix.slice(0, -1) : pathPrefix + i.path })) : issues;
  const cleaned = withoutNullFields(body);
  const windows = windowsMarker(cleaned);
  if (windows) return { ok: false, issues: inSent([windows]) };
  const result = taskDefinitionSchema.safeParse(cleaned, { error: readableErrorMap });
  if (result.success) return { ok: true, value: result.data, warnings };
  return { ok: false, issues: inSent(issuesOf(result.error, { unknownField: explainUnknownField })) };
}

/** True for the "none" values of a field Flotilla refuses: `[]`, `{}` and `false`. */
function isNone(v: unknown): boolean {
  return v === false || (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0);
}

/**
 * A copy of `value` without object fields that are null, nor refused fields sent as "none"
 * (`environmentFiles: []`). Array entries stay. Shallow below depth 12.
 */
export function withoutNullFields(value: unknown, depth = 0): unknown {
  if (depth > 12 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => withoutNullFields(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === null || (Object.hasOwn(UNSUPPORTED_FIELDS, k) && isNone(v))) continue;
    out[k] = withoutNullFields(v, depth + 1);
  }
  return out;
}

/** Message for an unknown field `key` in the task definition object at `objectPath`. */
export function explainUnknownField(key: string, objectPath: IssuePath): string {
  const known = UNSUPPORTED_FIELDS[key];
  if (known !== undefined) return known;
  const where = objectPath.length ? ` in ${formatPath(objectPath)}` : "";
  const suggestion = closest(key, knownFieldsAt(taskDefinitionSchema, objectPath));
  return suggestion
    ? `${key} is not a known field${where}; did you mean ${suggestion}?`
    : `${key} is not a known field${where}; check its spelling or remove it.`;
}

/** Field names of the object schema found at `path` inside `schema` (array indexes step into elements). */
export function knownFieldsAt(schema: z.ZodType, path: IssuePath): string[] {
  let s: z.ZodType | undefined = unwrap(schema);
  for (const part of path) {
    if (!s) return [];
    if (typeof part === "number") s = s instanceof z.ZodArray ? unwrap(s.element as z.ZodType) : undefined;
    else s = s instanceof z.ZodObject ? unwrap((s.shape as Record<string, z.ZodType>)[String(part)]) : undefined;
  }
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

function unwrap(s: z.ZodType | undefined): z.ZodType | undefined {
  let cur = s;
  for (let guard = 0; cur && guard < 10; guard++) {
    if (cur instanceof z.ZodOptional || cur instanceof z.ZodDefault || cur instanceof z.ZodNullable) cur = cur.unwrap() as z.ZodType;
    else if (cur instanceof z.ZodPipe) cur = cur.in as z.ZodType;
    else break;
  }
  return cur;
}

/**
 * Message for an unknown field `key` at `objectPath` of any strict zod object schema (RunTask,
 * CreateService bodies): the same "did you mean" as task definitions give.
 */
export function explainUnknownFieldOf(schema: z.ZodType, key: string, objectPath: IssuePath): string {
  const where = objectPath.length ? ` in ${formatPath(objectPath)}` : "";
  const suggestion = closest(key, knownFieldsAt(schema, objectPath));
  return suggestion
    ? `${key} is not a known field${where}; did you mean ${suggestion}?`
    : `${key} is not a known field${where}; check its spelling or remove it.`;
}

/** The candidate closest to `key` (case-insensitive edit distance ≤ 2, or same letters ignoring case). */
export function closest(key: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const k = key.toLowerCase();
  for (const c of candidates) {
    const d = editDistance(k, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const limit = key.length <= 4 ? 1 : 2;
  return bestDistance <= limit ? best : undefined;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return Infinity;
  // Optimal string alignment: a swap of two neighbours ("lsit" → "list") counts as one edit.
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (before[j - 2] ?? 0) + 1);
      cur.push(d);
    }
    before = prev;
    prev = cur;
  }
  return prev[b.length] ?? Infinity;
}
