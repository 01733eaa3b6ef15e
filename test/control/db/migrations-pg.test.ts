import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import pg from "pg";
import { migratePostgres, openPostgres } from "../../../control/db/open-postgres.ts";
import * as pgSchema from "../../../control/db/schema-pg.ts";
import { clusters } from "../../../control/db/schema-pg.ts";
import { startPostgres, type TestPostgres } from "../../helpers/postgres.ts";
import { shapeDifferences, tablesOf, type ColumnShape, type TableShape } from "./schema-shape.ts";

// The drizzle-kit-generated migrations (control/db/migrations-pg) applied to a fresh PostgreSQL
// give exactly the tables control/db/schema-pg.ts describes, read back from PostgreSQL's catalog.

let server: TestPostgres;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.stop();
});

/** A catalog default (`0`, `false`, `'[]'::jsonb`, `'UNKNOWN'::text`) as the JSON value drizzle holds. */
function parseDefault(raw: string | null, type: ColumnShape["type"]): unknown {
  if (raw === null) return undefined;
  const m = /^'((?:[^']|'')*)'::[a-z ]+$/.exec(raw);
  const literal = m ? m[1]!.replaceAll("''", "'") : raw;
  switch (type) {
    case "bigint":
      return Number(literal);
    case "boolean":
      return literal === "true";
    case "jsonb":
      return JSON.parse(literal);
    case "text":
      return literal;
  }
}

async function catalogShapes(url: string): Promise<Map<string, TableShape>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const cols = await c.query<{ table_name: string; column_name: string; data_type: string; is_nullable: string; column_default: string | null; is_identity: string }>(
      `SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity
         FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`,
    );
    const idx = await c.query<{ tbl: string; idx: string; primary: boolean; unique: boolean; cols: string[] }>(
      `SELECT t.relname AS tbl, i.relname AS idx, ix.indisprimary AS primary, ix.indisunique AS unique,
              array(SELECT a.attname::text FROM unnest(ix.indkey) WITH ORDINALITY k(attnum, ord)
                      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord) AS cols
         FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_class i ON i.oid = ix.indexrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = 'public'`,
    );
    const out = new Map<string, TableShape>();
    const table = (name: string) => {
      let t = out.get(name);
      if (!t) out.set(name, (t = { columns: {}, primaryKey: [], unique: [], indexes: {} }));
      return t;
    };
    for (const r of cols.rows) {
      const type = r.data_type as ColumnShape["type"];
      if (!["bigint", "boolean", "text", "jsonb"].includes(type)) throw new Error(`${r.table_name}.${r.column_name}: unexpected type ${r.data_type}`);
      const generated = r.is_identity === "YES";
      table(r.table_name).columns[r.column_name] = {
        type,
        notNull: r.is_nullable === "NO",
        default: generated ? undefined : parseDefault(r.column_default, type),
        generated,
      };
    }
    for (const r of idx.rows) {
      const t = table(r.tbl);
      if (r.primary) t.primaryKey = r.cols;
      else if (r.unique) t.unique.push(r.cols);
      else t.indexes[r.idx] = r.cols;
    }
    for (const t of out.values()) t.unique = t.unique.map((u) => JSON.stringify(u)).sort().map((u) => JSON.parse(u));
    return out;
  } finally {
    await c.end();
  }
}

/** The schema's shapes without what only TypeScript checks (text enums have no CHECK in either database). */
function schemaShapes(): Map<string, TableShape> {
  const m = tablesOf(pgSchema, "pg");
  for (const t of m.values()) for (const c of Object.values(t.columns)) delete c.enumValues;
  return m;
}

describe("PostgreSQL migrations", () => {
  test("a fresh database migrated matches schema-pg.ts in PostgreSQL's own catalog", async () => {
    const url = await server.createDatabase();
    await migratePostgres(url);
    const catalog = await catalogShapes(url);
    expect(catalog.size).toBeGreaterThan(20);
    // The catalog is read in full (a reader that dropped defaults or identities would match nothing real).
    expect(catalog.get("container_instances")!.columns.registered_gpus).toEqual({ type: "jsonb", notNull: true, default: [], generated: false });
    expect(catalog.get("tasks")!.columns.health_status!.default).toBe("UNKNOWN");
    expect(catalog.get("container_instances")!.columns.agent_connected!.default).toBe(false);
    expect(catalog.get("events")!.columns.id).toMatchObject({ generated: true, notNull: true });
    expect(catalog.get("services")!.primaryKey).toEqual(["cluster_name", "service_name"]);
    expect(shapeDifferences(schemaShapes(), catalog, "schema-pg.ts", "catalog")).toEqual([]);
  });

  test("control processes starting together apply each migration once", async () => {
    const url = await server.createDatabase();
    await Promise.all([migratePostgres(url), migratePostgres(url), migratePostgres(url)]);
    await migratePostgres(url); // and again later: nothing to do
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const { rows } = await c.query<{ n: string }>("SELECT count(*) AS n FROM drizzle.__drizzle_migrations");
    await c.end();
    const journal = (await Bun.file(new URL("../../../control/db/migrations-pg/meta/_journal.json", import.meta.url)).json()) as { entries: unknown[] };
    expect(Number(rows[0]!.n)).toBe(journal.entries.length);
  });

  test("openPostgres migrates and the async drizzle API reads and writes", async () => {
    const url = await server.createDatabase();
    const store = await openPostgres(url);
    try {
      await store.db.insert(clusters).values({ name: "default", arn: "arn:aws:ecs:local:000000000000:cluster/default", status: "ACTIVE", createdAt: 1_795_000_000_000 });
      const rows = await store.db.select().from(clusters);
      expect(rows).toEqual([{ name: "default", arn: "arn:aws:ecs:local:000000000000:cluster/default", status: "ACTIVE", createdAt: 1_795_000_000_000, discoveryGeneration: 0 }]);
    } finally {
      await store.close();
    }
  });
});
