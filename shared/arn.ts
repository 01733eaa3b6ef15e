import { FLOTILLA_VERSION } from "./version.ts";
/**
 * ECS-shaped ARNs, built and parsed in one place. Flotilla has no AWS account, so the partition
 * says whose they are; ARNs that ECS users paste (`arn:aws:ecs:eu-west-1:123456789012:…`) parse
 * the same way, since only the resource part carries meaning here.
 */
const PREFIX = "arn:flotilla:ecs:local:000000000000";

export const arn = {
  cluster: (name: string) => `${PREFIX}:cluster/${name}`,
  containerInstance: (cluster: string, id: string) => `${PREFIX}:container-instance/${cluster}/${id}`,
  task: (cluster: string, id: string) => `${PREFIX}:task/${cluster}/${id}`,
  taskDefinition: (family: string, revision: number) => `${PREFIX}:task-definition/${family}:${revision}`,
  service: (cluster: string, name: string) => `${PREFIX}:service/${cluster}/${name}`,
};

/** The ECS resource types an ARN can name. */
export const ARN_KINDS = ["cluster", "container-instance", "task", "task-definition", "service"] as const;
export type ArnKind = (typeof ARN_KINDS)[number];

/** A parsed ARN: which kind of resource, and its name (cluster name, id, `family:revision`). */
export type ParsedArn =
  | { kind: "cluster"; name: string }
  | { kind: "container-instance"; cluster?: string; name: string }
  | { kind: "task"; cluster?: string; name: string }
  | { kind: "service"; cluster?: string; name: string }
  | { kind: "task-definition"; name: string; family: string; revision: number };

const ARN = /^arn:[a-z0-9-]+:ecs:[a-z0-9-]*:[0-9]*:([a-z-]+)\/(.+)$/;
const SEGMENT = /^[A-Za-z0-9_-]{1,255}$/;
const FAMILY_REVISION = /^([A-Za-z0-9_-]{1,255}):([1-9][0-9]{0,9})$/;

/**
 * Parses an ECS ARN; undefined when it is not one (wrong shape, another AWS service, a resource
 * type ECS does not have). Tasks, container instances and services are accepted in both of ECS's
 * formats: with the cluster (`task/cluster/id`) and the older one without (`task/id`).
 */
export function parseArn(value: string): ParsedArn | undefined {
  const m = ARN.exec(value);
  if (!m) return undefined;
  const kind = m[1]!;
  const parts = m[2]!.split("/");
  if (!parts.every((p) => p.length > 0)) return undefined;
  switch (kind) {
    case "cluster":
      return parts.length === 1 && SEGMENT.test(parts[0]!) ? { kind, name: parts[0]! } : undefined;
    case "task-definition": {
      const fr = parts.length === 1 ? FAMILY_REVISION.exec(parts[0]!) : null;
      return fr ? { kind, name: parts[0]!, family: fr[1]!, revision: Number(fr[2]) } : undefined;
    }
    case "container-instance":
    case "task":
    case "service": {
      if (parts.length > 2 || !parts.every((p) => SEGMENT.test(p))) return undefined;
      return parts.length === 2 ? { kind, cluster: parts[0]!, name: parts[1]! } : { kind, name: parts[0]! };
    }
    default:
      return undefined;
  }
}

const DESCRIPTION: Record<ArnKind, string> = {
  cluster: "a cluster ARN",
  "container-instance": "a container instance ARN",
  task: "a task ARN",
  "task-definition": "a task definition ARN",
  service: "a service ARN",
};

/**
 * Where a field means one kind of resource: the plain name or id, or the name out of an ARN of
 * that kind. Any other ARN (a service ARN given as a task definition) is an error saying what
 * was expected and what was given, for the caller to turn into a 400 naming the field.
 */
export function nameOrArnOf(
  kind: Exclude<ArnKind, "task-definition">,
  value: string,
): { ok: true; name: string; cluster?: string } | { ok: false; message: string } {
  const expected = `expected ${kind === "cluster" || kind === "service" ? "a name" : "an id"} or ${DESCRIPTION[kind]}`;
  if (!value.startsWith("arn:")) {
    return SEGMENT.test(value) ? { ok: true, name: value } : { ok: false, message: `${expected}, got "${value}"` };
  }
  const parsed = parseArn(value);
  if (!parsed) return { ok: false, message: `${expected}; "${value}" is not a valid ECS ARN` };
  if (parsed.kind !== kind) return { ok: false, message: `${expected}, got ${DESCRIPTION[parsed.kind]}` };
  return { ok: true, name: parsed.name, cluster: "cluster" in parsed ? parsed.cluster : undefined };
}

/**
 * A task definition reference: `family`, `family:revision` or a task definition ARN (revision
 * undefined means "the latest ACTIVE revision").
 */
export function taskDefinitionRefOf(value: string): { ok: true; family: string; revision?: number } | { ok: false; message: string } {
  const expected = "expected a task definition ARN, family or family:revision";
  if (value.startsWith("arn:")) {
    const parsed = parseArn(value);
    if (!parsed) return { ok: false, message: `${expected}; "${value}" is not a valid ECS ARN` };
    if (parsed.kind !== "task-definition") return { ok: false, message: `${expected}, got ${DESCRIPTION[parsed.kind]}` };
    return { ok: true, family: parsed.family, revision: parsed.revision };
  }
  const fr = FAMILY_REVISION.exec(value);
  if (fr) return { ok: true, family: fr[1]!, revision: Number(fr[2]) };
  if (SEGMENT.test(value)) return { ok: true, family: value };
  return { ok: false, message: `${expected}, got "${value}"` };
}

/** Short form for tables: an ARN's name (`web:3`, a task id), anything else unchanged. */
export function shortName(value: string): string {
  return value.startsWith("arn:") ? (parseArn(value)?.name ?? value) : value;
}

/** The agent's version is its build's (shared/version.ts); kept here for the agent's many importers. */
export const AGENT_VERSION: string = FLOTILLA_VERSION;
