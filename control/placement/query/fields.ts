import type { Field, FieldKind, Operator } from "./ast.ts";

const EQUALITY: Operator[] = ["==", "!=", "in", "not_in"];
const ORDERING: Operator[] = ["==", "!=", ">", ">=", "<", "<="];
const MATCHING: Operator[] = ["=~", "!~"];
const EXISTENCE: Operator[] = ["exists", "!exists"];
const ALL: Operator[] = [...new Set([...EQUALITY, ...ORDERING, ...MATCHING, ...EXISTENCE])];

/**
 * Operators per field, following the ECS cluster query language reference, widened where the
 * widening is unambiguous (`in` on runningTasksCount, `exists` on task:group).
 */
export const OPERATORS_BY_FIELD: Record<FieldKind, readonly Operator[]> = {
  attribute: ALL,
  taskGroup: [...EQUALITY, ...MATCHING, ...EXISTENCE],
  registeredAt: ORDERING,
  runningTasksCount: [...ORDERING, "in", "not_in"],
  instanceId: [...EQUALITY, ...MATCHING],
  ec2InstanceId: [...EQUALITY, ...MATCHING],
  agentConnected: EQUALITY,
  agentVersion: [...ORDERING, ...MATCHING],
};

export const FIELD_NAMES = "attribute:NAME, task:group, registeredAt, runningTasksCount, instanceId, ec2InstanceId, agentConnected or agentVersion";

/** ECS attribute names: letters, digits, hyphens, underscores, slashes, backslashes, periods, at signs. */
const ATTRIBUTE_NAME = /^[A-Za-z0-9_.\-/\\@]{1,128}$/;

export type FieldReading = { ok: true; field: Field } | { ok: false; expected: string };

export function readField(word: string): FieldReading {
  if (word.startsWith("attribute:")) {
    const name = word.slice("attribute:".length);
    return ATTRIBUTE_NAME.test(name)
      ? { ok: true, field: { kind: "attribute", name } }
      : { ok: false, expected: "an attribute name after 'attribute:' (letters, digits, '.', '-', '_', '/', '@')" };
  }
  switch (word) {
    case "task:group":
      return { ok: true, field: { kind: "taskGroup" } };
    case "registeredAt":
      return { ok: true, field: { kind: "registeredAt" } };
    case "runningTasksCount":
      return { ok: true, field: { kind: "runningTasksCount" } };
    case "instanceId":
      return { ok: true, field: { kind: "instanceId" } };
    case "ec2InstanceId":
      return { ok: true, field: { kind: "ec2InstanceId" } };
    case "agentConnected":
      return { ok: true, field: { kind: "agentConnected" } };
    case "agentVersion":
      return { ok: true, field: { kind: "agentVersion" } };
    default:
      return { ok: false, expected: `a field (${FIELD_NAMES})` };
  }
}

/** Symbolic and ECS word spellings of each operator. */
export const OPERATOR_SPELLINGS: Record<string, Operator> = {
  "==": "==",
  equals: "==",
  "!=": "!=",
  not_equals: "!=",
  ">": ">",
  greater_than: ">",
  ">=": ">=",
  greater_than_equal: ">=",
  "<": "<",
  less_than: "<",
  "<=": "<=",
  less_than_equal: "<=",
  "=~": "=~",
  matches: "=~",
  "!~": "!~",
  not_matches: "!~",
  in: "in",
  not_in: "not_in",
  "!in": "not_in",
  exists: "exists",
  "!exists": "!exists",
  not_exists: "!exists",
};

export function describeOperators(ops: readonly Operator[]): string {
  return `an operator (${ops.join(", ")})`;
}
