import { is, SQL } from "drizzle-orm";
import { getTableConfig as pgConfig, PgTable } from "drizzle-orm/pg-core";
import { getTableConfig as sqliteConfig, SQLiteTable } from "drizzle-orm/sqlite-core";

/**
 * One table's shape in dialect-neutral terms, so the SQLite schema (control/db/schema.ts), its
 * PostgreSQL mirror (control/db/schema-pg.ts) and PostgreSQL's own catalog after the migrations
 * can be compared field by field. Column types are given as the PostgreSQL type each dialect's
 * column stands for, by the one mapping below (docs/postgres.md has the same table).
 */
export interface ColumnShape {
  type: "bigint" | "boolean" | "text" | "jsonb";
  notNull: boolean;
  /** The default as a JSON value (undefined: none); identity columns have none. */
  default: unknown;
  /** An id the database allocates: SQLite AUTOINCREMENT, PostgreSQL identity. */
  generated: boolean;
  /** text enum values (a check drizzle does in TypeScript only: neither database has it). */
  enumValues?: string[];
}

export interface TableShape {
  columns: Record<string, ColumnShape>;
  primaryKey: string[];
  /** Each unique constraint or unique index as its ordered columns, sorted. */
  unique: string[][];
  /** Non-unique indexes: name → ordered columns. */
  indexes: Record<string, string[]>;
}

/** SQLite column class → the PostgreSQL type its mirror must have. */
export const SQLITE_TO_PG: Record<string, ColumnShape["type"]> = {
  SQLiteInteger: "bigint",
  SQLiteBoolean: "boolean",
  SQLiteText: "text",
  SQLiteTextJson: "jsonb",
};

const PG_TYPES: Record<string, ColumnShape["type"]> = {
  PgBigInt53: "bigint",
  PgBoolean: "boolean",
  PgText: "text",
  PgJsonb: "jsonb",
};

interface AnyColumn {
  name: string;
  columnType: string;
  notNull: boolean;
  hasDefault: boolean;
  default: unknown;
  primary: boolean;
  isUnique: boolean;
  enumValues?: string[];
  autoIncrement?: boolean;
  generatedIdentity?: unknown;
}

function defaultOf(c: AnyColumn): unknown {
  if (!c.hasDefault || c.default === undefined) return undefined;
  if (is(c.default, SQL)) throw new Error(`column ${c.name}: SQL defaults are not compared yet`);
  // SQLite stores booleans as 0/1 but drizzle keeps the JS value: both sides hold true/false.
  return c.default;
}

function describe(
  name: string,
  cfg: { columns: AnyColumn[]; indexes: { config: { name: string; unique: boolean; columns: unknown[] } }[]; primaryKeys: { columns: { name: string }[] }[]; uniqueConstraints: { columns: { name: string }[] }[] },
  typeOf: (c: AnyColumn) => ColumnShape["type"] | undefined,
  generated: (c: AnyColumn) => boolean,
): TableShape {
  const columns: Record<string, ColumnShape> = {};
  for (const c of cfg.columns) {
    const type = typeOf(c);
    if (!type) throw new Error(`${name}.${c.name}: column class ${c.columnType} has no mapping (add it to schema-shape.ts)`);
    const g = generated(c);
    columns[c.name] = {
      type,
      // A primary key column is NOT NULL in both dialects whether or not it says so.
      notNull: c.notNull || c.primary,
      default: g ? undefined : defaultOf(c),
      generated: g,
      ...(c.enumValues && c.enumValues.length > 0 ? { enumValues: [...c.enumValues] } : {}),
    };
  }
  const single = cfg.columns.filter((c) => c.primary).map((c) => c.name);
  const composite = cfg.primaryKeys.map((pk) => pk.columns.map((c) => c.name));
  if (single.length + composite.length !== 1 && !(single.length === 0 && composite.length === 1)) {
    throw new Error(`${name}: expected exactly one primary key, found ${JSON.stringify({ single, composite })}`);
  }
  const primaryKey = composite[0] ?? single;
  const colNames = (cols: unknown[]) =>
    cols.map((c) => {
      if (is(c, SQL)) throw new Error(`${name}: expression indexes are not compared yet`);
      return (c as { name: string }).name;
    });
  const unique = [
    ...cfg.columns.filter((c) => c.isUnique).map((c) => [c.name]),
    ...cfg.uniqueConstraints.map((u) => u.columns.map((c) => c.name)),
    ...cfg.indexes.filter((i) => i.config.unique).map((i) => colNames(i.config.columns)),
  ]
    .map((cols) => JSON.stringify(cols))
    .sort()
    .map((s) => JSON.parse(s) as string[]);
  const indexes: Record<string, string[]> = {};
  for (const i of cfg.indexes.filter((i) => !i.config.unique)) indexes[i.config.name] = colNames(i.config.columns);
  return { columns, primaryKey, unique, indexes };
}

export function sqliteShape(table: SQLiteTable): { name: string; shape: TableShape } {
  const cfg = sqliteConfig(table);
  const shape = describe(
    cfg.name,
    cfg as never,
    (c) => SQLITE_TO_PG[c.columnType],
    (c) => c.autoIncrement === true,
  );
  return { name: cfg.name, shape };
}

export function pgShape(table: PgTable): { name: string; shape: TableShape } {
  const cfg = pgConfig(table);
  const shape = describe(
    cfg.name,
    cfg as never,
    (c) => PG_TYPES[c.columnType],
    (c) => c.generatedIdentity !== undefined,
  );
  return { name: cfg.name, shape };
}

/** The tables a schema module exports, by table name. */
export function tablesOf(module: Record<string, unknown>, kind: "sqlite" | "pg"): Map<string, TableShape> {
  const out = new Map<string, TableShape>();
  for (const v of Object.values(module)) {
    if (kind === "sqlite" && is(v, SQLiteTable)) {
      const { name, shape } = sqliteShape(v);
      out.set(name, shape);
    } else if (kind === "pg" && is(v, PgTable)) {
      const { name, shape } = pgShape(v);
      out.set(name, shape);
    }
  }
  return out;
}

/** Every difference between two sets of table shapes, one readable line each (empty: they match). */
export function shapeDifferences(a: Map<string, TableShape>, b: Map<string, TableShape>, aName: string, bName: string): string[] {
  const out: string[] = [];
  for (const t of a.keys()) if (!b.has(t)) out.push(`table ${t}: in ${aName}, not in ${bName}`);
  for (const t of b.keys()) if (!a.has(t)) out.push(`table ${t}: in ${bName}, not in ${aName}`);
  for (const [t, x] of a) {
    const y = b.get(t);
    if (!y) continue;
    for (const c of Object.keys(x.columns)) if (!(c in y.columns)) out.push(`${t}.${c}: in ${aName}, not in ${bName}`);
    for (const c of Object.keys(y.columns)) if (!(c in x.columns)) out.push(`${t}.${c}: in ${bName}, not in ${aName}`);
    for (const [c, cx] of Object.entries(x.columns)) {
      const cy = y.columns[c];
      if (!cy) continue;
      for (const k of ["type", "notNull", "default", "generated", "enumValues"] as const) {
        if (JSON.stringify(cx[k]) !== JSON.stringify(cy[k])) {
          out.push(`${t}.${c} ${k}: ${aName} ${JSON.stringify(cx[k])}, ${bName} ${JSON.stringify(cy[k])}`);
        }
      }
    }
    if (JSON.stringify(x.primaryKey) !== JSON.stringify(y.primaryKey)) {
      out.push(`${t} primary key: ${aName} ${JSON.stringify(x.primaryKey)}, ${bName} ${JSON.stringify(y.primaryKey)}`);
    }
    if (JSON.stringify(x.unique) !== JSON.stringify(y.unique)) {
      out.push(`${t} unique: ${aName} ${JSON.stringify(x.unique)}, ${bName} ${JSON.stringify(y.unique)}`);
    }
    const names = new Set([...Object.keys(x.indexes), ...Object.keys(y.indexes)]);
    for (const i of names) {
      if (JSON.stringify(x.indexes[i]) !== JSON.stringify(y.indexes[i])) {
        out.push(`${t} index ${i}: ${aName} ${JSON.stringify(x.indexes[i] ?? null)}, ${bName} ${JSON.stringify(y.indexes[i] ?? null)}`);
      }
    }
  }
  return out;
}
