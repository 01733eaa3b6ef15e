import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./control/db/schema.ts",
  out: "./control/db/migrations",
});
