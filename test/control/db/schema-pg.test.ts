import { describe, expect, test } from "bun:test";
import { bigint, index, pgTable, text } from "drizzle-orm/pg-core";
import { integer, sqliteTable, text as sqliteText, index as sqliteIndex } from "drizzle-orm/sqlite-core";
import * as sqliteSchema from "../../../control/db/schema.ts";
import * as pgSchema from "../../../control/db/schema-pg.ts";
import { shapeDifferences, tablesOf } from "./schema-shape.ts";

// The two definitions of every table (control/db/schema.ts for SQLite, schema-pg.ts for
// PostgreSQL) must say the same thing: same tables, columns, nullability, defaults, keys and
// indexes, column types by the mapping in schema-shape.ts.
describe("the PostgreSQL schema mirrors the SQLite schema", () => {
  const sqlite = tablesOf(sqliteSchema, "sqlite");
  const pg = tablesOf(pgSchema, "pg");

  test("every table, column, default, key and index matches", () => {
    expect(sqlite.size).toBeGreaterThan(20);
    expect(shapeDifferences(sqlite, pg, "schema.ts", "schema-pg.ts")).toEqual([]);
  });

  test("the comparison sees what it is meant to see", () => {
    // Spot checks that the shapes carry the facts compared (a shape that dropped them would match trivially).
    const ci = sqlite.get("container_instances")!;
    expect(ci.columns.agent_connected).toEqual({ type: "boolean", notNull: true, default: false, generated: false });
    expect(ci.columns.registered_gpus!.default).toEqual([]);
    expect(ci.indexes.container_instances_cluster).toEqual(["cluster_name"]);
    expect(sqlite.get("events")!.columns.id).toMatchObject({ type: "bigint", generated: true });
    expect(pg.get("events")!.columns.id).toMatchObject({ type: "bigint", generated: true });
    expect(sqlite.get("services")!.primaryKey).toEqual(["cluster_name", "service_name"]);
    expect(pg.get("api_tokens")!.unique).toEqual([["token_hash"]]);
  });
});

describe("a difference between the two definitions fails", () => {
  const sqliteT = (extra: boolean) =>
    sqliteTable(
      "t",
      {
        id: sqliteText("id").primaryKey(),
        n: integer("n").notNull().default(0),
        ...(extra ? { added: sqliteText("added") } : {}),
      },
      (t) => [sqliteIndex("t_n").on(t.n)],
    );
  const pgT = (o: { nullable?: boolean; default?: number; noIndex?: boolean } = {}) =>
    pgTable(
      "t",
      {
        id: text("id").primaryKey(),
        n: o.nullable ? bigint("n", { mode: "number" }).default(o.default ?? 0) : bigint("n", { mode: "number" }).notNull().default(o.default ?? 0),
      },
      (t) => (o.noIndex ? [] : [index("t_n").on(t.n)]),
    );
  const diff = (s: ReturnType<typeof sqliteT>, p: ReturnType<typeof pgT>) =>
    shapeDifferences(tablesOf({ s }, "sqlite"), tablesOf({ p }, "pg"), "sqlite", "pg");

  test("identical definitions: no difference", () => {
    expect(diff(sqliteT(false), pgT())).toEqual([]);
  });
  test("a column added to one only", () => {
    expect(diff(sqliteT(true), pgT())).toEqual(["t.added: in sqlite, not in pg"]);
  });
  test("nullability", () => {
    expect(diff(sqliteT(false), pgT({ nullable: true }))).toEqual(["t.n notNull: sqlite true, pg false"]);
  });
  test("a default", () => {
    expect(diff(sqliteT(false), pgT({ default: 1 }))).toEqual(["t.n default: sqlite 0, pg 1"]);
  });
  test("an index", () => {
    expect(diff(sqliteT(false), pgT({ noIndex: true }))).toEqual(['t index t_n: sqlite ["n"], pg null']);
  });
  test("a table in one only", () => {
    expect(shapeDifferences(tablesOf({ a: sqliteT(false) }, "sqlite"), new Map(), "sqlite", "pg")).toEqual(["table t: in sqlite, not in pg"]);
  });
});
