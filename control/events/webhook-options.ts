/** How webhooks are delivered; the control's configuration sets these (docs/events.md). */
export interface WebhookOptions {
  /** When set, only these destination host names are allowed (create and every delivery check it). */
  allowHosts?: string[];
  /** One delivery attempt, connection to last byte. */
  timeoutMs: number;
  /** Response bytes read at most; the rest is not waited for. */
  maxResponseBytes: number;
  /** Exponential backoff between attempts: base · 2^(attempt-1), capped, with full jitter. */
  baseBackoffMs: number;
  maxBackoffMs: number;
  /** Attempts of one delivery before it FAILS and its hook is DISABLED. */
  maxAttempts: number;
  /** How often the worker looks for work other processes wrote (this process's writes wake it at once). */
  pollMs: number;
}

export const DEFAULT_WEBHOOK_OPTIONS: WebhookOptions = {
  timeoutMs: 5000,
  maxResponseBytes: 64 * 1024,
  baseBackoffMs: 1000,
  maxBackoffMs: 5 * 60_000,
  maxAttempts: 8,
  pollMs: 1000,
};

/** Why a URL may not be a webhook destination, or null when it may. */
export function destinationRefusal(url: string, allowHosts: string[] | undefined): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "not a URL";
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return "only http and https URLs";
  if (u.username || u.password) return "credentials in the URL are not allowed";
  if (allowHosts && !allowHosts.map((h) => h.toLowerCase()).includes(u.hostname.toLowerCase())) return `host "${u.hostname}" is not in the control's webhook allow-list`;
  return null;
}

/** The signature header's value: HMAC-SHA256 over "timestamp.body", hex. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  const h = new Bun.CryptoHasher("sha256", secret);
  h.update(`${timestamp}.${body}`);
  return `sha256=${h.digest("hex")}`;
}
