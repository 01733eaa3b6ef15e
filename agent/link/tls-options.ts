import { readFileSync } from "node:fs";
import type mqtt from "mqtt";

export class TlsConfigError extends Error {}

function read(what: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new TlsConfigError(`cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * MQTT client options for mqtts://: the broker is verified against `caFile` (else the system CAs),
 * never skipped; a client certificate is presented when given.
 */
export function brokerTlsOptions(tls: { caFile?: string; certFile?: string; keyFile?: string }): mqtt.IClientOptions {
  const out: mqtt.IClientOptions = { rejectUnauthorized: true };
  if (tls.caFile) out.ca = read("--ca-file", tls.caFile);
  if (tls.certFile) out.cert = read("--tls-cert", tls.certFile);
  if (tls.keyFile) out.key = read("--tls-key", tls.keyFile);
  return out;
}
