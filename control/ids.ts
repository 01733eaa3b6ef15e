import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Random bytes for ids, drawn from the CSPRNG a few kilobytes at a time: one call per id cost
 * ~4 µs, a tenth of placing a task. Ids name things; they are not secrets (newSecret draws its own).
 */
const ID_BYTES = 16;
const POOL_IDS = 256;
let pool = Buffer.alloc(0);
let poolAt = 0;

/** 32 lowercase hex characters, the shape of ECS task and container instance ids. */
export function newId(): string {
  if (poolAt >= pool.length) {
    pool = randomBytes(ID_BYTES * POOL_IDS);
    poolAt = 0;
  }
  const id = pool.toString("hex", poolAt, poolAt + ID_BYTES);
  poolAt += ID_BYTES;
  return id;
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
