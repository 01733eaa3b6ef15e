import { expect, test } from "bun:test";
import { ConfigError, parseControlConfig } from "../../../control/config.ts";

// Until the control service runs on PostgreSQL (docs/postgres.md), a postgres:// --db is refused
// at once with one line naming the flag, without the password.
test("--db postgres://… (or FLOTILLA_DB) is refused in one line until PostgreSQL is supported", () => {
  expect(parseControlConfig(["--db", "file:/tmp/x.db"], {}).db).toBe("file:/tmp/x.db");
  expect(parseControlConfig([], { FLOTILLA_DB: "libsql://db.example.com" }).db).toBe("libsql://db.example.com");
  for (const [argv, env] of [
    [["--db", "postgres://flotilla:hunter2@db:5432/flotilla"], {}],
    [[], { FLOTILLA_DB: "postgresql://flotilla:hunter2@db/flotilla" }],
  ] as const) {
    let err: unknown;
    try {
      parseControlConfig([...argv], env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).toMatch(/^--db postgres(ql)?:\/\/flotilla:\*\*\*@db.*: the control service does not run on PostgreSQL yet \(docs\/postgres\.md\); 'flotilla db migrate' copies an installation into one$/);
    expect(message).not.toContain("hunter2");
  }
});
