/**
 * The parts of a SigV4 `Authorization` header:
 * `AWS4-HMAC-SHA256 Credential=AKIA…/20261202/us-east-1/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=<64 hex>`.
 */
export interface SigV4Authorization {
  accessKeyId: string;
  /** The credential scope's parts: YYYYMMDD, region, service. */
  date: string;
  region: string;
  service: string;
  /** Lower-case header names, in the order the client listed them. */
  signedHeaders: string[];
  signature: string;
}

const ALGORITHM = "AWS4-HMAC-SHA256";

/** Undefined when the header is not a SigV4 header of the one algorithm AWS JSON services take. */
export function parseSigV4Authorization(header: string): SigV4Authorization | undefined {
  const trimmed = header.trim();
  if (!trimmed.startsWith(`${ALGORITHM} `)) return undefined;
  const fields = new Map<string, string>();
  for (const part of trimmed.slice(ALGORITHM.length).split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) return undefined;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get("Credential")?.split("/");
  const signedHeaders = fields.get("SignedHeaders");
  const signature = fields.get("Signature");
  if (!credential || credential.length !== 5 || !signedHeaders || !signature) return undefined;
  const [accessKeyId, date, region, service, terminator] = credential as [string, string, string, string, string];
  if (!accessKeyId || !/^\d{8}$/.test(date) || !region || !service || terminator !== "aws4_request") return undefined;
  if (!/^[0-9a-f]{64}$/.test(signature)) return undefined;
  const names = signedHeaders.split(";");
  if (names.some((n) => !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(n))) return undefined;
  return { accessKeyId, date, region, service, signedHeaders: names, signature };
}
