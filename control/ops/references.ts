import { nameOrArnOf, taskDefinitionRefOf, type ArnKind } from "../../shared/arn.ts";
import { invalid } from "./errors.ts";

/**
 * Request fields that name a resource, resolved through the one ARN parser (shared/arn.ts). An
 * ARN of another kind where one kind is meant — a service ARN as `taskDefinition` — is a 400
 * naming the field, never a silent "last path segment" that may happen to match something.
 */
export function resourceName(kind: Exclude<ArnKind, "task-definition">, field: string, value: string): string {
  const r = nameOrArnOf(kind, value);
  if (!r.ok) throw invalid(`${field}: ${r.message}`, [{ path: field, message: r.message }]);
  return r.name;
}

/**
 * As resourceName, keeping the cluster an ARN names (`service/edge/web`): a lookup in one cluster
 * must not find another cluster's resource of the same name through its ARN.
 */
export function resourceRef(kind: Exclude<ArnKind, "task-definition" | "cluster">, field: string, value: string): { name: string; cluster?: string } {
  const r = nameOrArnOf(kind, value);
  if (!r.ok) throw invalid(`${field}: ${r.message}`, [{ path: field, message: r.message }]);
  return { name: r.name, cluster: r.cluster };
}

/** `family`, `family:revision` or a task definition ARN; revision undefined = latest ACTIVE. */
export function taskDefinitionRef(field: string, value: string): { family: string; revision?: number } {
  const r = taskDefinitionRefOf(value);
  if (!r.ok) throw invalid(`${field}: ${r.message}`, [{ path: field, message: r.message }]);
  return { family: r.family, revision: r.revision };
}
