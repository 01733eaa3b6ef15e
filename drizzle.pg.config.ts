import { defineConfig } from "drizzle-kit";

// PostgreSQL migrations (control/db/schema-pg.ts → control/db/migrations-pg), generated:
//   bunx drizzle-kit generate --config drizzle.pg.config.ts --name <what>
// They are applied at start by drizzle's node-postgres migrator (control/db/open-postgres.ts).
export default defineConfig({
  dialect: "postgresql",
  schema: "./control/db/schema-pg.ts",
  out: "./control/db/migrations-pg",
});
