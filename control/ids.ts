import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** 32 lowercase hex characters, the shape of ECS task and container instance ids. */
export function newId(): string {
  return randomBytes(16).toString("hex");
}

/** A 256-bit secret, URL-safe. */
export function newSecret(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * Secrets here are high-entropy random values, so a plain SHA-256 is enough to store them
 * (a slow password hash protects low-entropy human passwords, which these are not).
 */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

export function secretMatches(secret: string, hash: string): boolean {
  const a = Buffer.from(hashSecret(secret), "hex");
  const b = Buffer.from(hash, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}
