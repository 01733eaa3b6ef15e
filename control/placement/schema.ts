import { z } from "zod";
import { parseExpression } from "./query/parser.ts";

/**
 * Request-time validation of placement inputs, so mistakes become a 400 at RunTask/CreateService
 * and never surface while placing. Limits follow ECS: 10 constraints, 5 strategies.
 */

export const memberOfExpressionSchema = z.string().superRefine((expression, ctx) => {
  const parsed = parseExpression(expression);
  if (!parsed.ok) ctx.addIssue({ code: "custom", message: parsed.error.message, params: { position: parsed.error.position, expected: parsed.error.expected } });
});

export const placementConstraintSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("distinctInstance"), expression: z.never({ error: "distinctInstance takes no expression" }).optional() }),
  z.object({ type: z.literal("memberOf"), expression: memberOfExpressionSchema }),
]);

const SPREAD_FIELD = /^(instanceId|host|attribute:[A-Za-z0-9_.\-/\\@]{1,128})$/i;

export const placementStrategySchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("random"), field: z.never({ error: "random takes no field" }).optional() }),
  z.object({
    type: z.literal("spread"),
    field: z.string().regex(SPREAD_FIELD, "spread field must be instanceId, host or attribute:NAME"),
  }),
  z.object({
    type: z.literal("binpack"),
    field: z.string().regex(/^(cpu|memory)$/i, "binpack field must be cpu or memory"),
  }),
]);

export const placementConstraintsSchema = z.array(placementConstraintSchema).max(10, "at most 10 placement constraints");
export const placementStrategiesSchema = z.array(placementStrategySchema).max(5, "at most 5 placement strategies");

export const requiredAttributeSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9_.\-/\\@]{1,128}$/, "attribute names are 1-128 letters, digits, '.', '-', '_', '/', '@'"),
  value: z.string().max(128).optional(),
});
