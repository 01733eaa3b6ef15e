import { seg } from "../client.ts";
import { emit, expectArgs, expectIds, type Resource } from "../command.ts";
import { UsageError } from "../errors.ts";
import { details, table } from "../output.ts";

const ROLES = ["admin", "operator", "read-only", "metrics"];

export const tokens: Resource = {
  name: "tokens",
  summary: "API tokens (admin only): create (the secret is shown once), list, revoke.",
  commands: {
    create: {
      summary: "Create a token with a role: admin, operator, read-only or metrics (reads /metrics only).",
      args: "<name>",
      options: { role: { type: "string", valueName: "ROLE", description: "admin, operator, read-only or metrics (required)" } },
      examples: ["flotilla tokens create ci --role operator"],
      async run(ctx, { positionals, values }) {
        const [name] = expectArgs(positionals, ["name"]);
        if (!values.role) throw new UsageError(`--role is required (${ROLES.join(", ")})`);
        if (!ROLES.includes(values.role)) throw new UsageError(`--role must be one of ${ROLES.join(", ")}, got "${values.role}"`);
        const body = await ctx.client.call("POST", "/v1/tokens", { name, role: values.role });
        emit(ctx, body, () =>
          details([
            ["Token ID", body.tokenId],
            ["Name", body.name],
            ["Role", body.role],
            ["Token", body.token],
          ]) + "\n(the token is shown only now: store it)",
        );
      },
    },
    list: {
      summary: "List tokens (never their secrets).",
      async run(ctx, { positionals }) {
        expectArgs(positionals, []);
        const body = await ctx.client.call("GET", "/v1/tokens");
        emit(ctx, body, () =>
          table(body.tokens ?? [], [
            ["TOKEN ID", (t) => t.tokenId],
            ["NAME", (t) => t.name],
            ["ROLE", (t) => t.role],
            ["CREATED", (t) => t.createdAt],
            ["REVOKED", (t) => t.revokedAt],
          ]),
        );
      },
    },
    revoke: {
      summary: "Revoke tokens by id.",
      args: "<token-id>...",
      async run(ctx, { positionals }) {
        const ids = expectIds(positionals, "token-id");
        const revoked: any[] = [];
        for (const id of ids) revoked.push((await ctx.client.call("DELETE", `/v1/tokens/${seg(id)}`)).token);
        emit(ctx, { tokens: revoked }, () => revoked.map((t) => `token ${t.tokenId} (${t.name}) revoked`).join("\n"));
      },
    },
  },
};
