import { and, desc, eq, isNull } from "drizzle-orm";
import { randomInt } from "node:crypto";
import { z } from "zod";
import { open, seal } from "../crypto/aead.ts";
import { accessKeys } from "../db/schema.ts";
import type { OpsContext } from "./context.ts";
import { clientError, notFound } from "./errors.ts";
import { ACCESS_KEY_ROLES, type TokenRole } from "./tokens.ts";
import { parseInput } from "./validate.ts";

/**
 * AWS-style access keys: what the aws CLI and SDKs sign requests with (SigV4, control/ecs-api/sigv4).
 * Each key carries one of the API token roles. SigV4 needs the secret itself to recompute an HMAC,
 * so it cannot be stored hashed as tokens are: it is sealed under the master key (AES-256-GCM, bound
 * to the key id so a ciphertext cannot be moved to another key's row). Without a master key there
 * are no access keys at all, rather than secrets kept in the clear (see docs/ecs-api.md).
 */
export type AccessKeyRow = typeof accessKeys.$inferSelect;

// AWS's shapes: a 20-character upper-case id starting AKIA, a 40-character base64-ish secret.
const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
export const ACCESS_KEY_ID = /^AKIA[A-Z2-7]{16}$/;

function randomString(alphabet: string, length: number): string {
  // randomInt draws without modulo bias.
  return Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join("");
}

export const newAccessKeyId = () => `AKIA${randomString(ID_ALPHABET, 16)}`;
export const newSecretAccessKey = () => randomString(SECRET_ALPHABET, 40);

const createAccessKeyInput = z.strictObject({
  name: z.string().trim().min(1).max(128).regex(/^[\w.@ -]+$/, "letters, digits, spaces and _ . @ - only"),
  role: z.enum(ACCESS_KEY_ROLES),
});

export interface AccessKeyView {
  accessKeyId: string;
  name: string;
  role: TokenRole;
  status: "Active" | "Inactive";
  createdAt: string;
  revokedAt?: string;
}

/** What the API shows of a key: never its secret (only creation returns it, once). */
export function accessKeyView(r: AccessKeyRow): AccessKeyView {
  return {
    accessKeyId: r.id,
    name: r.name,
    role: r.role,
    status: r.revokedAt === null ? "Active" : "Inactive",
    createdAt: new Date(r.createdAt).toISOString(),
    ...(r.revokedAt !== null ? { revokedAt: new Date(r.revokedAt).toISOString() } : {}),
  };
}

export interface AccessKeyStore {
  create(input: unknown): Promise<AccessKeyView & { secretAccessKey: string }>;
  list(): Promise<AccessKeyRow[]>;
  /** Revokes a key: every later request signed with it is refused as from an unknown key. */
  revoke(id: string): Promise<AccessKeyRow>;
  /** The live key and its secret, for verifying a signature; undefined when unknown or revoked. */
  lookup(id: string): Promise<{ row: AccessKeyRow; secretAccessKey: string } | undefined>;
}

export function createAccessKeyStore(ctx: OpsContext, masterKey: Buffer): AccessKeyStore {
  return {
    async create(input) {
      const { name, role } = parseInput(createAccessKeyInput, input);
      const id = newAccessKeyId();
      const secretAccessKey = newSecretAccessKey();
      const row: AccessKeyRow = { id, name, role, secretCiphertext: seal(masterKey, secretAccessKey, id), createdAt: ctx.clock.now(), revokedAt: null };
      await ctx.serialize(() => ctx.db.insert(accessKeys).values(row));
      return { ...accessKeyView(row), secretAccessKey };
    },
    list: () => ctx.db.select().from(accessKeys).orderBy(desc(accessKeys.createdAt)).all(),
    async revoke(id) {
      return ctx.serialize(async () => {
        const row = await ctx.db.select().from(accessKeys).where(eq(accessKeys.id, id)).get();
        if (!row) throw notFound("ResourceNotFoundException", `access key "${id}" not found`);
        if (row.revokedAt !== null) return row;
        const revokedAt = ctx.clock.now();
        await ctx.db.update(accessKeys).set({ revokedAt }).where(eq(accessKeys.id, id));
        return { ...row, revokedAt };
      });
    },
    async lookup(id) {
      if (!ACCESS_KEY_ID.test(id)) return undefined;
      const row = await ctx.db.select().from(accessKeys).where(and(eq(accessKeys.id, id), isNull(accessKeys.revokedAt))).get();
      if (!row) return undefined;
      return { row, secretAccessKey: open(masterKey, row.secretCiphertext, row.id) };
    },
  };
}

/** Without a master key: every call that would need a sealed secret says why it cannot work. */
export function unavailableAccessKeyStore(): AccessKeyStore {
  const refuse = async (): Promise<never> => {
    throw clientError("access keys need a master key (FLOTILLA_MASTER_KEY or --master-key-file): their secrets are stored encrypted, never in the clear");
  };
  return { create: refuse, list: refuse, revoke: refuse, lookup: async () => undefined };
}
