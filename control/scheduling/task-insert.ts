import type { InStatement, InValue } from "@libsql/client";
import { getTableColumns, getTableName } from "drizzle-orm";
import { tasks } from "../db/schema.ts";

type TaskRow = typeof tasks.$inferSelect;

const table = getTableName(tasks);
const columns = Object.entries(getTableColumns(tasks));
const columnList = columns.map(([, col]) => `"${col.name}"`).join(", ");
const rowPlaceholders = `(${columns.map(() => "?").join(", ")})`;

/**
 * A multi-row INSERT of complete task rows, encoded by the schema's own column mappers (JSON,
 * booleans) so it stays in step with control/db/schema.ts. Built by hand because drizzle's query
 * builder cost more per RunTask than SQLite's insert itself.
 */
export function insertTasksStatement(rows: TaskRow[]): InStatement {
  const args: InValue[] = [];
  for (const row of rows) {
    for (const [key, col] of columns) {
      const value = row[key as keyof TaskRow];
      args.push(value === null || value === undefined ? null : (col.mapToDriverValue(value) as InValue));
    }
  }
  return { sql: `INSERT INTO "${table}" (${columnList}) VALUES ${rows.map(() => rowPlaceholders).join(", ")}`, args };
}
