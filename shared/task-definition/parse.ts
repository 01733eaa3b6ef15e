import { z } from "zod";
import { formatPath, issuesOf, readableErrorMap, type IssuePath, type ParseResult } from "./issues.ts";
import { taskDefinitionSchema, type TaskDefinitionSpec } from "./schema.ts";

export { formatPath, issuesOf, readableErrorMap, subjectOf } from "./issues.ts";
export type { FieldIssue, IssuesOfOptions, ParseResult } from "./issues.ts";

/**
 * ECS fields Flotilla knows and refuses, with the reason. Any other unknown field is refused as a
 * probable typo, with a suggestion when a known field is close.
 */
export const UNSUPPORTED_FIELDS: Readonly<Record<string, string>> = {
  // container definitions
  environmentFiles:
    "environmentFiles is not supported: Flotilla does not fetch environment files from S3; list the variables in environment, or in secrets for sensitive values.",
  links:
    'links is not supported: Docker\'s legacy links are deprecated; use networkMode "awsvpc" so the task\'s containers reach each other on localhost, and dependsOn for start order.',
  firelensConfiguration:
    'firelensConfiguration is not supported: FireLens log routing needs AWS for Fluent Bit; use the "json-file" or "local" log driver.',
  resourceRequirements: "resourceRequirements (GPUs and inference accelerators) is not supported by Flotilla yet.",
  credentialSpecs: "credentialSpecs is not supported: Active Directory credential specs are for Windows containers, and Flotilla runs Linux containers only.",
  dockerSecurityOptions:
    "dockerSecurityOptions is not supported: task definitions cannot change SELinux, AppArmor or seccomp settings on Flotilla hosts.",
  disableNetworking: 'disableNetworking is not supported; use networkMode "none" to run the task without networking.',
  containerPortRange: "containerPortRange is not supported; list each port as its own portMappings entry with containerPort.",
  secretOptions: 'secretOptions is not supported: the "json-file" and "local" log drivers take no secrets.',
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
    "taskDefinition looks like a describe-task-definition response; send the object inside taskDefinition as the body instead.",
  ...Object.fromEntries(
    ["taskDefinitionArn", "revision", "status", "compatibilities", "registeredAt", "registeredBy", "deregisteredAt"].map((k) => [
      k,
      `${k} is set by Flotilla when the task definition is registered; remove it (it comes from describe-task-definition output).`,
    ]),
  ),
};

/**
 * Parses and normalises a task definition body; never throws for bad input. A field whose value is
 * null counts as absent (as in the ECS API; tools such as Terraform emit nulls for unset fields).
 */
export function parseTaskDefinition(body: unknown): ParseResult<TaskDefinitionSpec> {
  const result = taskDefinitionSchema.safeParse(withoutNullFields(body), { error: readableErrorMap });
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, issues: issuesOf(result.error, { unknownField: explainUnknownField }) };
}

/** A copy of `value` without object fields that are null (array entries stay). Shallow below depth 12. */
export function withoutNullFields(value: unknown, depth = 0): unknown {
  if (depth > 12 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => withoutNullFields(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = withoutNullFields(v, depth + 1);
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

/** The candidate closest to `key` (case-insensitive edit distance ≤ 2, or same letters ignoring case). */
function closest(key: string, candidates: readonly string[]): string | undefined {
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
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = cur;
  }
  return prev[b.length] ?? Infinity;
}
