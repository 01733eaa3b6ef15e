import type { Caller } from "../../ops/tokens.ts";
import type { AccessKeyStore } from "../../ops/access-keys.ts";
import type { OpsContext } from "../../ops/context.ts";
import { OpError } from "../../ops/errors.ts";
import { parseSigV4Authorization } from "./authorization-header.ts";
import { verifySigV4 } from "./verify.ts";

/** Signs in to the AWS JSON door: the request's SigV4 signature, checked against its access key. */
export type SigV4Authenticator = (request: Request, rawBody: string) => Promise<Caller>;

const refuse = (code: string, message: string) => new OpError("unauthorized", code, message);

/**
 * Authenticates a SigV4-signed request as the access key's role. Refusals carry the exception names
 * AWS JSON services answer with, so SDKs and the aws CLI report them as they would AWS's:
 * MissingAuthenticationTokenException (no signature), IncompleteSignatureException (malformed),
 * UnrecognizedClientException (unknown or revoked key), InvalidSignatureException (wrong secret,
 * changed body, or a date more than 5 minutes off). The key is looked up per request, so a revoked
 * key stops working at once.
 */
export function sigV4Authenticator(ctx: OpsContext, keys: AccessKeyStore): SigV4Authenticator {
  return async (request, rawBody) => {
    const header = request.headers.get("authorization");
    if (!header) throw refuse("MissingAuthenticationTokenException", "Missing Authentication Token");
    const auth = parseSigV4Authorization(header);
    if (!auth) {
      throw refuse(
        "IncompleteSignatureException",
        `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters of an AWS4-HMAC-SHA256 signature. Authorization=${header.split(" ")[0]}`,
      );
    }
    const key = await keys.lookup(auth.accessKeyId);
    if (!key) throw refuse("UnrecognizedClientException", "The security token included in the request is invalid.");
    const refusal = await verifySigV4(
      { method: request.method, url: new URL(request.url), headers: request.headers, rawBody },
      auth,
      key.secretAccessKey,
      ctx.clock.now(),
    );
    if (refusal) throw refuse(refusal.code, refusal.message);
    return { tokenId: key.row.id, name: key.row.name, role: key.row.role };
  };
}
