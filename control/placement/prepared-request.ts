import { ARCHITECTURE_VALUES, CPU_ARCHITECTURE_ATTRIBUTE } from "./attribute-names.ts";
import { compileExpression } from "./query/compile.ts";
import type { InstancePredicate } from "./query/evaluator.ts";
import { attributeHints, type AttributeHint } from "./query/hints.ts";
import type { InstanceView, PlacementRequest, RequiredAttribute, Reservation } from "./types.ts";

/**
 * A request with its per-request work done once: expressions compiled, the architecture turned
 * into attribute values, and the equality facts the index can use to narrow candidates.
 */
export interface PreparedRequest {
  readonly group: string;
  readonly reservation: Reservation;
  /** Accepted values of ecs.cpu-architecture, or null when the task runs anywhere. */
  readonly architectureValues: readonly string[] | null;
  readonly requiredAttributes: readonly RequiredAttribute[];
  readonly memberOf: readonly InstancePredicate[];
  /** Messages for memberOf expressions that did not parse; those constraints match nothing. */
  readonly memberOfErrors: readonly string[];
  readonly distinctInstance: boolean;
  /** The reservation names host ports (so the ports check can refuse). */
  readonly hasPorts: boolean;
  /** GPUs each task needs (0: the GPU check cannot refuse). */
  readonly gpus: number;
  /** See PlacementRequest.heldTcpPorts. */
  readonly heldTcpPorts?: (instance: InstanceView) => ReadonlySet<number>;
  readonly hints: readonly AttributeHint[];
}

const MATCH_NOTHING: InstancePredicate = () => false;

export function prepareRequest(request: PlacementRequest): PreparedRequest {
  const memberOf: InstancePredicate[] = [];
  const memberOfErrors: string[] = [];
  const hints: AttributeHint[] = [];
  let distinctInstance = false;
  for (const c of request.constraints) {
    if (c.type === "distinctInstance") {
      distinctInstance = true;
      continue;
    }
    const compiled = compileExpression(c.expression);
    if (compiled.ok) {
      memberOf.push(compiled.predicate);
      hints.push(...attributeHints(compiled.ast));
    } else {
      // Expressions are validated when RunTask/CreateService is called; one that slips through
      // (say, stored by an older version) refuses placement with an explanation instead of throwing
      // inside a scheduling loop.
      memberOf.push(MATCH_NOTHING);
      memberOfErrors.push(`memberOf "${c.expression}": ${compiled.error.message}`);
    }
  }
  if (request.admit) memberOf.push(request.admit);
  const architectureValues = request.cpuArchitecture ? ARCHITECTURE_VALUES[request.cpuArchitecture] : null;
  if (architectureValues) hints.push({ name: CPU_ARCHITECTURE_ATTRIBUTE, values: [...architectureValues] });
  for (const a of request.requiredAttributes) if (a.value !== undefined) hints.push({ name: a.name, values: [a.value] });
  return {
    group: request.group,
    reservation: request.reservation,
    architectureValues,
    requiredAttributes: request.requiredAttributes,
    memberOf,
    memberOfErrors,
    distinctInstance,
    hasPorts: request.reservation.tcpPorts.length > 0 || request.reservation.udpPorts.length > 0,
    gpus: request.reservation.gpus ?? 0,
    ...(request.heldTcpPorts ? { heldTcpPorts: request.heldTcpPorts } : {}),
    hints,
  };
}
