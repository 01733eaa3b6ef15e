import { eq, inArray } from "drizzle-orm";
import { z } from "zod";
import type { FieldIssue, TaskDefinitionSpec } from "../../shared/task-definition/index.ts";
import { open, seal } from "../crypto/aead.ts";
import { secrets } from "../db/schema.ts";
import type { OpsContext } from "./context.ts";
import { invalid, notFound } from "./errors.ts";
import { parseInput } from "./validate.ts";

/** Secrets are account-wide like AWS Secrets Manager; ARNs follow its shape. */
const ARN_PREFIX = "arn:flotilla:secretsmanager:local:000000000000:secret:";
export const secretArn = (name: string) => `${ARN_PREFIX}${name}`;

const NAME = /^[A-Za-z0-9/_+=.@-]{1,256}$/;
const MAX_VALUE_BYTES = 64 * 1024;

const putSecretInput = z.strictObject({
  name: z.string().regex(NAME, "must be 1-256 letters, digits or /_+=.@-"),
  value: z.string().min(1).refine((v) => Buffer.byteLength(v) <= MAX_VALUE_BYTES, `must be at most ${MAX_VALUE_BYTES} bytes`),
  description: z.string().max(1024).optional(),
});

/** A task definition's `valueFrom`: a secret name or its ARN (ECS accepts both). */
export function secretNameOf(valueFrom: string): string {
  return valueFrom.startsWith(ARN_PREFIX) ? valueFrom.slice(ARN_PREFIX.length) : valueFrom;
}

export type SecretRow = typeof secrets.$inferSelect;

/** What a repositoryCredentials secret holds, as in AWS Secrets Manager: {"username","password"}. */
const registryCredentialsValue = z.object({ username: z.string().min(1), password: z.string() });
export type RegistryCredentials = z.infer<typeof registryCredentialsValue>;

function parseRegistryCredentials(value: string): RegistryCredentials | undefined {
  try {
    const parsed = registryCredentialsValue.safeParse(JSON.parse(value));
    return parsed.success ? { username: parsed.data.username, password: parsed.data.password } : undefined;
  } catch {
    return undefined;
  }
}

/** What the API shows: never the value. */
export function secretView(r: SecretRow) {
  return { name: r.name, arn: r.arn, createdDate: new Date(r.createdAt).toISOString(), lastChangedDate: new Date(r.updatedAt).toISOString() };
}

export interface SecretStore {
  /** Creates or replaces a secret's value; returns its metadata. */
  put(input: unknown): Promise<{ row: SecretRow; created: boolean }>;
  list(): Promise<SecretRow[]>;
  remove(name: string): Promise<SecretRow>;
  /**
   * Plain values of the task's secrets by container and variable name, and the registry
   * credentials its containers' repositoryCredentials name; missing (or, for credentials,
   * malformed) secrets are listed by name.
   */
  resolveForTask(td: TaskDefinitionSpec): Promise<{
    env: Record<string, Record<string, string>>;
    registry: Record<string, RegistryCredentials>;
    /** logConfiguration.secretOptions values by container and log option name. */
    logOptions: Record<string, Record<string, string>>;
    missing: string[];
  }>;
}

/** Values are sealed with AES-256-GCM under the master key, bound to the secret's name. */
export function createSecretStore(ctx: OpsContext, key: Buffer): SecretStore {
  return {
    async put(input) {
      const { name, value } = parseInput(putSecretInput, input);
      return ctx.serialize(async () => {
        const now = ctx.clock.now();
        const existing = await ctx.db.select().from(secrets).where(eq(secrets.name, name)).get();
        const row: SecretRow = {
          name,
          arn: secretArn(name),
          ciphertext: seal(key, value, name),
          createdAt: existing?.createdAt ?? now,
          updatedAt: now,
        };
        await ctx.db.insert(secrets).values(row).onConflictDoUpdate({ target: secrets.name, set: { ciphertext: row.ciphertext, updatedAt: now } });
        return { row, created: !existing };
      });
    },
    list: () => ctx.db.select().from(secrets).orderBy(secrets.name).all(),
    async remove(ref) {
      const name = secretNameOf(ref);
      return ctx.serialize(async () => {
        const row = await ctx.db.select().from(secrets).where(eq(secrets.name, name)).get();
        if (!row) throw notFound("ResourceNotFoundException", `secret "${name}" not found`);
        await ctx.db.delete(secrets).where(eq(secrets.name, name));
        return row;
      });
    },
    async resolveForTask(td) {
      const refs = td.containerDefinitions.flatMap((c) => [
        ...(c.secrets ?? []).map((s) => secretNameOf(s.valueFrom)),
        ...(c.repositoryCredentials ? [secretNameOf(c.repositoryCredentials.credentialsParameter)] : []),
        ...(c.logConfiguration?.secretOptions ?? []).map((s) => secretNameOf(s.valueFrom)),
      ]);
      const env: Record<string, Record<string, string>> = {};
      const registry: Record<string, RegistryCredentials> = {};
      const logOptions: Record<string, Record<string, string>> = {};
      if (!refs.length) return { env, registry, logOptions, missing: [] };
      const rows = await ctx.db.select().from(secrets).where(inArray(secrets.name, [...new Set(refs)])).all();
      const values = new Map(rows.map((r) => [r.name, open(key, r.ciphertext, r.name)]));
      const missing = new Set<string>();
      for (const c of td.containerDefinitions) {
        for (const s of c.secrets ?? []) {
          const v = values.get(secretNameOf(s.valueFrom));
          if (v === undefined) missing.add(secretNameOf(s.valueFrom));
          else (env[c.name] ??= {})[s.name] = v;
        }
        for (const s of c.logConfiguration?.secretOptions ?? []) {
          const v = values.get(secretNameOf(s.valueFrom));
          if (v === undefined) missing.add(secretNameOf(s.valueFrom));
          else (logOptions[c.name] ??= {})[s.name] = v;
        }
        if (c.repositoryCredentials) {
          const name = secretNameOf(c.repositoryCredentials.credentialsParameter);
          const v = values.get(name);
          const creds = v === undefined ? undefined : parseRegistryCredentials(v);
          if (creds) registry[c.name] = creds;
          else missing.add(v === undefined ? name : `${name} (not JSON {"username","password"})`);
        }
      }
      return { env, registry, logOptions, missing: [...missing] };
    },
  };
}

/** RunTask refuses a definition whose secrets do not exist (rather than starting without them). */
export async function requireSecretsExist(ctx: OpsContext, td: TaskDefinitionSpec): Promise<void> {
  const refs: Array<{ path: string; name: string }> = [];
  td.containerDefinitions.forEach((c, i) => {
    (c.secrets ?? []).forEach((s, j) => refs.push({ path: `containerDefinitions[${i}].secrets[${j}].valueFrom`, name: secretNameOf(s.valueFrom) }));
    // Log options from secrets (splunk-token, ...) name Flotilla secrets the same way.
    (c.logConfiguration?.secretOptions ?? []).forEach((s, j) =>
      refs.push({ path: `containerDefinitions[${i}].logConfiguration.secretOptions[${j}].valueFrom`, name: secretNameOf(s.valueFrom) }),
    );
    if (c.repositoryCredentials) {
      refs.push({
        path: `containerDefinitions[${i}].repositoryCredentials.credentialsParameter`,
        name: secretNameOf(c.repositoryCredentials.credentialsParameter),
      });
    }
  });
  if (!refs.length) return;
  const rows = await ctx.db.select({ name: secrets.name }).from(secrets).where(inArray(secrets.name, [...new Set(refs.map((r) => r.name))])).all();
  const have = new Set(rows.map((r) => r.name));
  const issues: FieldIssue[] = refs.filter((r) => !have.has(r.name)).map((r) => ({ path: r.path, message: `secret "${r.name}" does not exist` }));
  if (issues.length) throw invalid(issues.map((f) => `${f.path}: ${f.message}`).join("; "), issues);
}
