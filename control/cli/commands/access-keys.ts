import { seg } from "../client.ts";
import { emit, expectArgs, type Resource } from "../command.ts";
import { UsageError } from "../errors.ts";
import { details, table } from "../output.ts";

const ROLES = ["admin", "operator", "read-only"];

export const accessKeys: Resource = {
  name: "access-keys",
  summary: "AWS-style access keys for the aws CLI and SDKs (SigV4); the secret is shown once. Admin only.",
  commands: {
    create: {
      summary: "Create an access key with a role (admin, operator or read-only, as API tokens).",
      options: {
        role: { type: "string", valueName: "ROLE", description: "admin | operator | read-only (required)" },
        name: { type: "string", valueName: "NAME", description: "what the key is for (required)" },
      },
      examples: ["flotilla access-keys create --role operator --name ci-deploy"],
      async run(ctx, { positionals, values }) {
        expectArgs(positionals, []);
        if (!values.role || !ROLES.includes(values.role)) throw new UsageError(`--role must be one of ${ROLES.join(", ")}`);
        if (!values.name) throw new UsageError("--name is required");
        const body = await ctx.client.call("POST", "/v1/access-keys", { name: values.name, role: values.role });
        emit(ctx, body, () =>
          details([
            ["Access key ID", body.accessKeyId],
            ["Secret access key", body.secretAccessKey],
            ["Role", body.role],
            ["Name", body.name],
          ]) + "\n(the secret is shown only now: store it)",
        );
      },
    },
    list: {
      summary: "List access keys (never their secrets).",
      async run(ctx, { positionals }) {
        expectArgs(positionals, []);
        const body = await ctx.client.call("GET", "/v1/access-keys");
        emit(ctx, body, () =>
          table(body.accessKeys, [
            ["ACCESS KEY ID", (k) => k.accessKeyId],
            ["NAME", (k) => k.name],
            ["ROLE", (k) => k.role],
            ["STATUS", (k) => k.status],
            ["CREATED", (k) => k.createdAt],
          ]),
        );
      },
    },
    revoke: {
      summary: "Revoke an access key: requests signed with it are refused at once.",
      args: "<access-key-id>",
      async run(ctx, { positionals }) {
        const [id] = expectArgs(positionals, ["access-key-id"]);
        const body = await ctx.client.call("DELETE", `/v1/access-keys/${seg(id!)}`);
        emit(ctx, body, () => `access key ${body.accessKey.accessKeyId} ${body.accessKey.status}`);
      },
    },
  },
};
