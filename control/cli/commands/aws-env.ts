import { type Command, type Resource } from "../command.ts";
import { UsageError } from "../errors.ts";

/** What ARNs and the SDKs' region checks get when none is given (Flotilla has no regions). */
const DEFAULT_REGION = "us-east-1";

/** Quotes a value for a POSIX shell: `eval "$(flotilla aws-env)"` must not run anything in it. */
const shellQuote = (v: string) => (/^[A-Za-z0-9_./:+=@-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);

const awsEnvCommand: Command = {
  summary: "Print export lines that point the aws CLI and SDKs at this control service (creates an access key unless one is given).",
  options: {
    "access-key-id": { type: "string", valueName: "ID", description: "use this key instead of creating one (needs --secret-access-key)" },
    "secret-access-key": { type: "string", valueName: "SECRET", description: "its secret" },
    role: { type: "string", valueName: "ROLE", description: "role of the key created (default operator)" },
    name: { type: "string", valueName: "NAME", description: "name of the key created (default aws-env)" },
    region: { type: "string", valueName: "REGION", description: `AWS_REGION / AWS_DEFAULT_REGION (default ${DEFAULT_REGION})` },
  },
  examples: ['eval "$(flotilla aws-env --role operator)"', "flotilla aws-env --access-key-id AKIA... --secret-access-key ... > aws.env"],
  async run(ctx, { positionals, values }) {
    if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    let id: string | undefined = values["access-key-id"];
    let secret: string | undefined = values["secret-access-key"];
    if ((id === undefined) !== (secret === undefined)) throw new UsageError("--access-key-id and --secret-access-key go together");
    if (id !== undefined && (values.role !== undefined || values.name !== undefined)) throw new UsageError("--role and --name are for a key to create; not with --access-key-id");
    const region = values.region ?? DEFAULT_REGION;
    if (!/^[a-z0-9-]{1,64}$/.test(region)) throw new UsageError(`--region must be lower-case letters, digits and hyphens, got "${region}"`);
    if (id === undefined) {
      const key = await ctx.client.call("POST", "/v1/access-keys", { name: values.name ?? "aws-env", role: values.role ?? "operator" });
      id = key.accessKeyId as string;
      secret = key.secretAccessKey as string;
      ctx.err(`# created access key ${id} (role ${key.role}); revoke it with: flotilla access-keys revoke ${id}\n`);
    }
    const endpoint = ctx.client.baseUrl;
    const vars: [string, string][] = [
      ["AWS_ENDPOINT_URL_ECS", endpoint],
      ["AWS_ENDPOINT_URL_SSM", endpoint],
      ["AWS_ACCESS_KEY_ID", id],
      ["AWS_SECRET_ACCESS_KEY", secret!],
      ["AWS_REGION", region],
      ["AWS_DEFAULT_REGION", region],
    ];
    ctx.out(vars.map(([k, v]) => `export ${k}=${shellQuote(v)}`).join("\n"));
  },
};

/** `flotilla aws-env`: one command, no verb. */
export const awsEnv: Resource = { name: "aws-env", summary: "Print the environment that points the aws CLI and SDKs here.", commands: {}, default: awsEnvCommand };
