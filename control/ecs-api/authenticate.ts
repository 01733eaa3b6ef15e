import type { Caller } from "../api/middleware/authorize/index.ts";
import type { OpsContext } from "../ops/context.ts";
import { findToken } from "../ops/tokens.ts";
import { ProtocolError } from "./errors.ts";

/** Verifies an AWS Signature Version 4 request (the aws CLI, the SDKs); throws OpError with AWS's code. */
export type SigV4Verifier = (request: Request, rawBody: string) => Promise<Caller>;

/**
 * Who is calling. A bearer token works as on the REST API (looked up each call, so a revoked token
 * stops at once); a SigV4 `Authorization` goes to the verifier, and without one is refused as AWS
 * refuses a key it does not know.
 */
export async function authenticate(ctx: OpsContext, request: Request, rawBody: string, sigV4?: SigV4Verifier): Promise<Caller> {
  const header = request.headers.get("authorization");
  if (!header) throw new ProtocolError("MissingAuthenticationTokenException", "Missing Authentication Token");
  if (header.startsWith("AWS4-HMAC-SHA256")) {
    if (!sigV4) throw new ProtocolError("UnrecognizedClientException", "The security token included in the request is invalid.");
    return sigV4(request, rawBody);
  }
  const m = /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i.exec(header);
  if (!m) throw new ProtocolError("IncompleteSignatureException", "Authorization header must be a bearer token or an AWS4-HMAC-SHA256 signature");
  const row = await findToken(ctx, m[1]!);
  if (!row) throw new ProtocolError("UnrecognizedClientException", "The security token included in the request is invalid.");
  return { tokenId: row.id, name: row.name, role: row.role };
}
