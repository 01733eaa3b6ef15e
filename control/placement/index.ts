/** Public surface of the placement engine; see engine.ts for how a placement is decided. */
export type {
  CpuArchitecture,
  FailureReason,
  HealthStatus,
  InstanceView,
  PlaceOptions,
  Placement,
  PlacementConstraint,
  PlacementFailure,
  PlacementRequest,
  PlacementResult,
  PlacementStrategy,
  RequiredAttribute,
} from "./types.ts";
export { placeTasks } from "./engine.ts";
// For StartTask-style checks of one named instance: firstRejection(view, prepareRequest(request)).
export { FEASIBILITY_CHAIN, firstRejection } from "./checkers/chain.ts";
export { ELIGIBILITY_CHECKERS, eligibilityRejection } from "./checkers/eligibility.ts";
export { prepareRequest, type PreparedRequest } from "./prepared-request.ts";
export { ClusterIndex, isSchedulable, type InstancePatch } from "./cluster-index.ts";
export { parseExpression, MAX_EXPRESSION_LENGTH } from "./query/parser.ts";
export { compileExpression, type CompiledExpression } from "./query/compile.ts";
export type { InstancePredicate, QueryContext } from "./query/evaluator.ts";
export type { Expr, ParseResult, QuerySyntaxError } from "./query/ast.ts";
export {
  memberOfExpressionSchema,
  placementConstraintSchema,
  placementConstraintsSchema,
  placementStrategySchema,
  placementStrategiesSchema,
  requiredAttributeSchema,
} from "./schema.ts";
export { seededRng } from "./seeded-rng.ts";
export * from "./attribute-names.ts";
