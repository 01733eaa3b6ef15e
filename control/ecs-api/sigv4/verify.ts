import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import { createHash, timingSafeEqual } from "node:crypto";
import type { SigV4Authorization } from "./authorization-header.ts";

/** AWS refuses a request whose X-Amz-Date is more than this far from its own clock. */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

export type SigV4Refusal = { code: "InvalidSignatureException" | "IncompleteSignatureException"; message: string };

/** What is signed: the request as it arrived, and the body exactly as read (before any parse). */
export interface SignedRequest {
  method: string;
  url: URL;
  headers: Headers;
  rawBody: string;
}

/** "20261202T174500Z" → epoch ms; undefined when malformed. */
export function parseAmzDate(s: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isNaN(ms) ? undefined : ms;
}

const amzDate = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");

/**
 * Recomputes the request's signature with the key's secret and compares it in constant time.
 * The canonicalisation is @smithy/signature-v4's (what the AWS SDKs sign with), fed only the
 * headers the client listed as signed, so a header a proxy added cannot change the result.
 * Returns a refusal in AWS's words, or undefined when the signature holds.
 */
export async function verifySigV4(req: SignedRequest, auth: SigV4Authorization, secretAccessKey: string, now: number): Promise<SigV4Refusal | undefined> {
  const dateHeader = req.headers.get("x-amz-date");
  if (!dateHeader || !auth.signedHeaders.includes("x-amz-date")) {
    return { code: "IncompleteSignatureException", message: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header, signed with SignedHeaders." };
  }
  if (!auth.signedHeaders.includes("host")) {
    return { code: "IncompleteSignatureException", message: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization." };
  }
  const signedAt = parseAmzDate(dateHeader);
  if (signedAt === undefined) return { code: "IncompleteSignatureException", message: `Date must be in ISO-8601 'basic format'. Got '${dateHeader}'.` };
  if (signedAt < now - MAX_CLOCK_SKEW_MS) {
    return { code: "InvalidSignatureException", message: `Signature expired: ${dateHeader} is now earlier than ${amzDate(now - MAX_CLOCK_SKEW_MS)} (${amzDate(now)} - 5 min.)` };
  }
  if (signedAt > now + MAX_CLOCK_SKEW_MS) {
    return { code: "InvalidSignatureException", message: `Signature not yet current: ${dateHeader} is still later than ${amzDate(now + MAX_CLOCK_SKEW_MS)} (${amzDate(now)} + 5 min.)` };
  }
  if (dateHeader.slice(0, 8) !== auth.date) {
    return { code: "InvalidSignatureException", message: `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${dateHeader.slice(0, 8)}'` };
  }
  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    const value = req.headers.get(name);
    if (value === null) return { code: "InvalidSignatureException", message: `The request signature we calculated does not match the signature you provided: signed header "${name}" is missing.` };
    headers[name] = value;
  }
  // A sent payload hash is signed, but the body is not: it must be the hash of the body received.
  const payloadHash = headers["x-amz-content-sha256"];
  if (payloadHash !== undefined && payloadHash !== createHash("sha256").update(req.rawBody).digest("hex")) {
    return { code: "InvalidSignatureException", message: "The provided 'x-amz-content-sha256' header does not match what was computed." };
  }
  const signer = new SignatureV4({
    credentials: { accessKeyId: auth.accessKeyId, secretAccessKey },
    region: auth.region,
    service: auth.service,
    sha256: Sha256,
    // Sign exactly what the client signed: smithy would otherwise add (and sign) a payload-hash
    // header botocore (the aws CLI) never sends.
    applyChecksum: false,
  });
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of req.url.searchParams) {
    const prev = query[k];
    query[k] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v];
  }
  const signed = await signer.sign(
    {
      method: req.method.toUpperCase(),
      protocol: req.url.protocol,
      hostname: req.url.hostname,
      path: req.url.pathname,
      query,
      headers,
      body: req.rawBody,
    },
    { signingDate: new Date(signedAt), signableHeaders: new Set(auth.signedHeaders), signingRegion: auth.region, signingService: auth.service },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))?.[1] ?? "";
  const a = Buffer.from(expected, "hex");
  const b = Buffer.from(auth.signature, "hex");
  if (a.length !== 32 || a.length !== b.length || !timingSafeEqual(a, b)) {
    return {
      code: "InvalidSignatureException",
      message: "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
    };
  }
  return undefined;
}
