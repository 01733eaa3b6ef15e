import { expectArgs, type Resource } from "../command.ts";
import { CommandFailed, UsageError } from "../errors.ts";

/**
 * Database tools that work on the databases themselves, not through the API (run where the
 * control service's database is reachable). The copier is loaded only when asked for: the rest of
 * the CLI never loads a database driver.
 */
export const db: Resource = {
  name: "db",
  summary: "Database tools: copy an installation from libSQL to PostgreSQL (no API involved).",
  commands: {
    migrate: {
      summary:
        "Copy every table from a libSQL database into a PostgreSQL database (migrated here first), rows as stored " +
        "(secrets stay encrypted, credentials hashed, ids kept), then check each table's row count.",
      offline: true,
      options: {
        from: { type: "string", valueName: "URL", description: "the libSQL database, e.g. file:./data/flotilla.db [FLOTILLA_DB]" },
        to: { type: "string", valueName: "URL", description: "the PostgreSQL database, postgres://user:password@host:5432/name" },
        replace: { type: "boolean", description: "empty the target's Flotilla tables first (default: refuse a target with rows)" },
      },
      examples: ["flotilla db migrate --from file:./data/flotilla.db --to postgres://flotilla@db.internal:5432/flotilla"],
      async run(ctx, { positionals, values }) {
        expectArgs(positionals, []);
        const from: string | undefined = values.from ?? ctx.env?.FLOTILLA_DB;
        const to: string | undefined = values.to;
        if (!from) throw new UsageError("--from URL is required (the libSQL database to copy)");
        if (!to) throw new UsageError("--to URL is required (the PostgreSQL database to copy into)");
        // A compiled CLI (scripts/build/compile.ts) carries neither libSQL's native module nor the
        // migration files the copier reads from disk: say so instead of a module-not-found.
        if (import.meta.dir.startsWith("/$bunfs/")) {
          throw new CommandFailed("db migrate runs from a Flotilla checkout, not the compiled CLI: bun control/cli/main.ts db migrate --from URL --to URL");
        }
        const { copyToPostgres, CopyRefused } = await import("../../db/copy-to-postgres.ts");
        try {
          const counts = await copyToPostgres({ from, to, replace: values.replace === true, out: (line) => ctx.out(line) });
          ctx.out(`copied ${counts.reduce((n, c) => n + c.target, 0)} rows in ${counts.length} tables`);
        } catch (e) {
          if (e instanceof CopyRefused) throw new CommandFailed(e.message);
          throw e;
        }
      },
    },
  },
};
