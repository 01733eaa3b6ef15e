import type { FieldIssue } from "../../shared/task-definition/index.ts";

/**
 * Errors an operation may raise for the caller to see. `code` is ECS's exception name where ECS has
 * one, so SDK users recognise it; every transport maps `kind` to its own status.
 */
export type OpErrorKind = "invalid" | "not-found" | "conflict" | "unauthorized" | "forbidden";

export class OpError extends Error {
  constructor(
    readonly kind: OpErrorKind,
    readonly code: string,
    message: string,
    readonly fields: FieldIssue[] = [],
  ) {
    super(message);
    this.name = "OpError";
  }
}

export const invalid = (message: string, fields: FieldIssue[] = []) =>
  new OpError("invalid", "InvalidParameterException", message, fields);

/** ECS's ClientException: the request is well formed but names something that cannot be used. */
export const clientError = (message: string, fields: FieldIssue[] = []) => new OpError("invalid", "ClientException", message, fields);

export const notFound = (code: string, message: string) => new OpError("not-found", code, message);

export const conflict = (code: string, message: string) => new OpError("conflict", code, message);
