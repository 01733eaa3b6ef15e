import { AGENT_VERSION_ATTRIBUTE, INSTANCE_ID_ATTRIBUTE } from "../attribute-names.ts";
import { attributeOf } from "../instance-view.ts";
import type { InstanceView } from "../types.ts";
import type { Expr, Field, Literal, Operator } from "./ast.ts";
import { asDate, asNumber, asWholeMatchRegex, compareValues, compareVersions } from "./literals.ts";

export interface QueryContext {
  /** Overrides the instance's own task-group counts, e.g. to include in-flight placements. */
  groupsOf?: (instance: InstanceView) => ReadonlyMap<string, number>;
}

export type InstancePredicate = (instance: InstanceView, ctx?: QueryContext) => boolean;

type Positive = Exclude<Operator, "!=" | "!~" | "not_in" | "!exists">;

/**
 * Negated operators are the exact negation of their positive form. That decides the case of a
 * missing attribute: `attribute:x == a` is false and `attribute:x != a` is true on an instance
 * without x, just as `not(attribute:x == a)` would be.
 */
const NEGATION_OF: Partial<Record<Operator, Positive>> = { "!=": "==", "!~": "=~", not_in: "in", "!exists": "exists" };

/** Turns a parsed (hence already validated) expression into a closure, once. */
export function compilePredicate(expr: Expr): InstancePredicate {
  switch (expr.type) {
    case "not": {
      const inner = compilePredicate(expr.operand);
      return (i, ctx) => !inner(i, ctx);
    }
    case "and": {
      const parts = expr.operands.map(compilePredicate);
      if (parts.length === 2) {
        const [a, b] = parts as [InstancePredicate, InstancePredicate];
        return (i, ctx) => a(i, ctx) && b(i, ctx);
      }
      return (i, ctx) => parts.every((p) => p(i, ctx));
    }
    case "or": {
      const parts = expr.operands.map(compilePredicate);
      if (parts.length === 2) {
        const [a, b] = parts as [InstancePredicate, InstancePredicate];
        return (i, ctx) => a(i, ctx) || b(i, ctx);
      }
      return (i, ctx) => parts.some((p) => p(i, ctx));
    }
    case "comparison": {
      const negated = NEGATION_OF[expr.operator];
      const positive = compileComparison(expr.field, negated ?? (expr.operator as Positive), expr.values);
      return negated ? (i, ctx) => !positive(i, ctx) : positive;
    }
  }
}

function compileComparison(field: Field, op: Positive, values: Literal[]): InstancePredicate {
  switch (field.kind) {
    case "taskGroup":
      return compileTaskGroup(op, values);
    case "runningTasksCount":
      return compileNumeric((i) => i.runningTasksCount, op, values.map((v) => asNumber(v.text) ?? Number.NaN));
    case "registeredAt":
      return compileNumeric((i) => i.registeredAt, op, values.map((v) => asDate(v.text) ?? Number.NaN));
    case "attribute": {
      const name = field.name;
      return compileText((i) => attributeOf(i, name), op, values, compareValuesOf);
    }
    case "instanceId":
      return compileText((i) => i.id, op, values, compareValuesOf);
    case "ec2InstanceId":
      return compileText((i) => attributeOf(i, INSTANCE_ID_ATTRIBUTE) ?? i.id, op, values, compareValuesOf);
    case "agentConnected":
      return compileText((i) => (i.agentConnected ? "true" : "false"), op, values, compareValuesOf);
    case "agentVersion":
      return compileText((i) => attributeOf(i, AGENT_VERSION_ATTRIBUTE), op, values, compareVersions, (a, b) => compareVersions(a, b) === 0);
  }
}

function compareValuesOf(a: string, b: string): number {
  return compareValues(a, asNumber(a), b, asNumber(b));
}

/** Equality is numeric when both sides read as numbers, so "4" == "4.0". */
function sameValue(actual: string, literal: string, literalNumber: number | null): boolean {
  if (actual === literal) return true;
  return literalNumber !== null && asNumber(actual) === literalNumber;
}

function compileText(
  get: (i: InstanceView) => string | undefined,
  op: Positive,
  values: Literal[],
  compare: (a: string, b: string) => number,
  /** Overrides the default equality, for fields where "1.10" and "1.10.0" are the same value. */
  equals?: (actual: string, literal: string) => boolean,
): InstancePredicate {
  const first = values[0]?.text ?? "";
  switch (op) {
    case "exists":
      return (i) => get(i) !== undefined;
    case "==": {
      if (equals) {
        return (i) => {
          const v = get(i);
          return v !== undefined && equals(v, first);
        };
      }
      const n = asNumber(first);
      return (i) => {
        const v = get(i);
        return v !== undefined && sameValue(v, first, n);
      };
    }
    case "in": {
      if (equals) {
        const literals = values.map((v) => v.text);
        return (i) => {
          const v = get(i);
          return v !== undefined && literals.some((l) => equals(v, l));
        };
      }
      const texts = new Set(values.map((v) => v.text));
      const numbers = new Set(values.map((v) => asNumber(v.text)).filter((n): n is number => n !== null));
      return (i) => {
        const v = get(i);
        if (v === undefined) return false;
        if (texts.has(v)) return true;
        if (numbers.size === 0) return false;
        const n = asNumber(v);
        return n !== null && numbers.has(n);
      };
    }
    case "=~": {
      const re = asWholeMatchRegex(first) ?? /(?!)/;
      return (i) => {
        const v = get(i);
        return v !== undefined && re.test(v);
      };
    }
    case ">":
    case ">=":
    case "<":
    case "<=": {
      const holds = ORDER_TEST[op];
      return (i) => {
        const v = get(i);
        return v !== undefined && holds(compare(v, first));
      };
    }
  }
}

function compileNumeric(get: (i: InstanceView) => number, op: Positive, literals: number[]): InstancePredicate {
  const first = literals[0] ?? Number.NaN;
  switch (op) {
    case "==":
      return (i) => get(i) === first;
    case "in": {
      const set = new Set(literals);
      return (i) => set.has(get(i));
    }
    case ">":
    case ">=":
    case "<":
    case "<=": {
      const holds = ORDER_TEST[op];
      return (i) => holds(get(i) - first);
    }
    default:
      // The parser only lets ordering and list operators through for numeric fields.
      return () => false;
  }
}

/**
 * task:group asks about the set of groups with live tasks on the instance: `==` means "runs a task
 * of that group", so `task:group != database` keeps instances free of database tasks (ECS's
 * affinity/anti-affinity idiom).
 */
function compileTaskGroup(op: Positive, values: Literal[]): InstancePredicate {
  const groupsOf = (i: InstanceView, ctx?: QueryContext) => ctx?.groupsOf?.(i) ?? i.groups;
  const first = values[0]?.text ?? "";
  switch (op) {
    case "==":
      return (i, ctx) => (groupsOf(i, ctx).get(first) ?? 0) > 0;
    case "in": {
      const wanted = values.map((v) => v.text);
      return (i, ctx) => {
        const g = groupsOf(i, ctx);
        return wanted.some((w) => (g.get(w) ?? 0) > 0);
      };
    }
    case "=~": {
      const re = asWholeMatchRegex(first) ?? /(?!)/;
      return (i, ctx) => {
        for (const [name, count] of groupsOf(i, ctx)) if (count > 0 && re.test(name)) return true;
        return false;
      };
    }
    case "exists":
      return (i, ctx) => {
        for (const count of groupsOf(i, ctx).values()) if (count > 0) return true;
        return false;
      };
    default:
      return () => false;
  }
}

const ORDER_TEST: Record<">" | ">=" | "<" | "<=", (c: number) => boolean> = {
  ">": (c) => c > 0,
  ">=": (c) => c >= 0,
  "<": (c) => c < 0,
  "<=": (c) => c <= 0,
};
