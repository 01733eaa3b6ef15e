import { readFileSync } from "node:fs";
import { seg } from "../client.ts";
import { emit, expectArgs, expectIds, type Resource } from "../command.ts";
import { UsageError } from "../errors.ts";
import { table } from "../output.ts";

/** The value never goes on the command line (ps and shell history would show it): a file, stdin or a variable. */
function secretValue(values: Record<string, any>, env: Record<string, string | undefined>): string {
  const file = values["value-file"] as string | undefined;
  const fromEnv = values["value-env"] as string | undefined;
  if ((file === undefined) === (fromEnv === undefined)) throw new UsageError("give exactly one of --value-file FILE ('-' reads stdin) or --value-env NAME");
  if (fromEnv !== undefined) {
    const v = env[fromEnv];
    if (v === undefined || v === "") throw new UsageError(`--value-env: environment variable ${fromEnv} is not set`);
    return v;
  }
  try {
    // One trailing newline (from echo or an editor) is not part of the value.
    return readFileSync(file === "-" ? 0 : file!, "utf8").replace(/\r?\n$/, "");
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export const secrets: Resource = {
  name: "secrets",
  summary: "Secrets tasks reference (valueFrom, repositoryCredentials): put, list, delete. Values are never shown.",
  commands: {
    put: {
      summary: "Create or replace a secret.",
      args: "<name>",
      options: {
        "value-file": { type: "string", valueName: "FILE", description: "read the value from FILE ('-' = stdin)" },
        "value-env": { type: "string", valueName: "NAME", description: "read the value from environment variable NAME" },
        description: { type: "string", valueName: "TEXT", description: "free text" },
      },
      examples: ["printf %s \"$DB_PASSWORD\" | flotilla secrets put db/password --value-file -", "flotilla secrets put db/password --value-env DB_PASSWORD"],
      async run(ctx, { positionals, values }) {
        const [name] = expectArgs(positionals, ["name"]);
        const req: Record<string, unknown> = { name, value: secretValue(values, ctx.env ?? {}) };
        if (values.description !== undefined) req.description = values.description;
        const body = await ctx.client.call("POST", "/v1/secrets", req);
        emit(ctx, body, () => `secret ${body.secret.name} saved (${body.secret.arn})`);
      },
    },
    list: {
      summary: "List secrets (names and ARNs).",
      async run(ctx, { positionals }) {
        expectArgs(positionals, []);
        const body = await ctx.client.call("GET", "/v1/secrets");
        emit(ctx, body, () =>
          table(body.secrets ?? [], [
            ["NAME", (s) => s.name],
            ["CHANGED", (s) => s.lastChangedDate],
            ["ARN", (s) => s.arn],
          ]),
        );
      },
    },
    delete: {
      summary: "Delete secrets.",
      args: "<name>...",
      async run(ctx, { positionals }) {
        const names = expectIds(positionals, "name");
        const deleted: any[] = [];
        for (const n of names) deleted.push((await ctx.client.call("DELETE", `/v1/secrets/${seg(n)}`)).secret);
        emit(ctx, { secrets: deleted }, () => deleted.map((s) => `secret ${s.name} deleted`).join("\n"));
      },
    },
  },
};
