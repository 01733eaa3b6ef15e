import type { Expr } from "./ast.ts";
import { asNumber } from "./literals.ts";

/** "Every matching instance has attribute `name` equal to one of `values`." */
export interface AttributeHint {
  name: string;
  values: string[];
}

/**
 * Equality facts an expression guarantees, for the index to narrow candidates before the full
 * predicate runs. Only top-level `and` chains of `==` / `in` qualify; numeric-looking values are
 * skipped because equality on them is numeric ("4" == "4.0") and the index matches exact strings.
 */
export function attributeHints(expr: Expr): AttributeHint[] {
  if (expr.type === "and") return expr.operands.flatMap(attributeHints);
  if (expr.type !== "comparison" || expr.field.kind !== "attribute") return [];
  if (expr.operator !== "==" && expr.operator !== "in") return [];
  const values = expr.values.map((v) => v.text);
  if (values.some((v) => asNumber(v) !== null)) return [];
  return [{ name: expr.field.name, values }];
}
