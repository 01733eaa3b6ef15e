import { OpError } from "../ops/errors.ts";
import type { ServiceModel } from "./model.ts";

/** An error as the AWS JSON protocol writes it: `{"__type", "message"}`, `x-amzn-ErrorType`, a status. */
export interface AwsJsonError {
  type: string;
  message: string;
  status: 400 | 500;
}

/** Errors of the protocol itself, the same in every AWS JSON service (not in any one model). */
export const PROTOCOL_ERRORS = new Set([
  "UnknownOperationException",
  "SerializationException",
  "MissingAuthenticationTokenException",
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "IncompleteSignatureException",
  "SignatureDoesNotMatch",
  "ExpiredTokenException",
  "AccessDeniedException",
  "RequestEntityTooLargeException",
]);

/** Thrown by the protocol for its own refusals (unknown target, body not JSON, no credentials). */
export class ProtocolError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
    this.name = "ProtocolError";
  }
}

/**
 * The AWS shape of an error an action threw. An operation's code is kept when the service's model
 * has that exception (ops name ECS's exceptions); a code the model lacks — REST-only names such as
 * AgentNotConnectedException — becomes the service's general exception for its kind, with the
 * operation's message kept. Anything that is not an OpError is a server fault whose message is not
 * shown (it may carry internals).
 */
export function awsErrorOf(err: unknown, model: ServiceModel): AwsJsonError {
  if (err instanceof ProtocolError) return { type: err.type, message: err.message, status: 400 };
  if (err instanceof OpError) {
    const known = model.exceptions.has(err.code) || PROTOCOL_ERRORS.has(err.code);
    return { type: known ? err.code : fallbackType(err, model), message: err.message, status: err.code === model.serverFault ? 500 : 400 };
  }
  return { type: model.serverFault, message: "internal error", status: 500 };
}

function fallbackType(err: OpError, model: ServiceModel): string {
  switch (err.kind) {
    case "invalid":
      return model.invalidParameter;
    case "unauthorized":
      return "UnrecognizedClientException";
    case "forbidden":
      return "AccessDeniedException";
    default:
      return model.clientError;
  }
}
