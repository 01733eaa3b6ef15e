/** Syntax tree of an ECS cluster query language expression. */

export type Field =
  | { kind: "attribute"; name: string }
  | { kind: "taskGroup" }
  | { kind: "registeredAt" }
  | { kind: "runningTasksCount" }
  | { kind: "instanceId" }
  | { kind: "ec2InstanceId" }
  | { kind: "agentConnected" }
  | { kind: "agentVersion" };

export type FieldKind = Field["kind"];

export type Operator = "==" | "!=" | ">" | ">=" | "<" | "<=" | "=~" | "!~" | "in" | "not_in" | "exists" | "!exists";

export interface Literal {
  text: string;
  /** Offset of the literal in the source, for error messages. */
  position: number;
}

export type Expr =
  | { type: "or"; operands: Expr[] }
  | { type: "and"; operands: Expr[] }
  | { type: "not"; operand: Expr }
  | { type: "comparison"; field: Field; operator: Operator; values: Literal[]; position: number; operatorPosition: number };

export interface QuerySyntaxError {
  /** 0-based character offset into the expression. */
  position: number;
  /** The token the parser wanted, in words. */
  expected: string;
  /** Human-readable, names both the position and the expected token. */
  message: string;
}

export type ParseResult = { ok: true; ast: Expr } | { ok: false; error: QuerySyntaxError };
