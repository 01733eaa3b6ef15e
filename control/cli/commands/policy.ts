import { seg } from "../client.ts";
import { emit, expectArgs, type Resource } from "../command.ts";
import { UsageError } from "../errors.ts";
import { readJsonFile } from "../input-file.ts";
import { details } from "../output.ts";

function show(p: Record<string, unknown>): string {
  return details(Object.entries(p).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : v]));
}

export const policy: Resource = {
  name: "policy",
  summary: "The cluster's policy: which host-level powers (privileged, host network, bind mounts...) tasks may use.",
  commands: {
    get: {
      summary: "Show the cluster's policy.",
      async run(ctx, { positionals }) {
        expectArgs(positionals, []);
        const body = await ctx.client.call("GET", `/v1/clusters/${seg(ctx.settings.cluster)}/policy`);
        emit(ctx, body, () => show(body.policy));
      },
    },
    put: {
      summary: "Replace the cluster's policy with a JSON file (fields left out take their defaults: refused).",
      options: { file: { type: "string", short: "f", valueName: "FILE.json", description: "policy JSON ('-' reads stdin) (required)" } },
      examples: ['echo \'{"allowedHostPaths": ["/srv/data"]}\' | flotilla policy put -c edge -f -'],
      async run(ctx, { positionals, values }) {
        expectArgs(positionals, []);
        if (!values.file) throw new UsageError("--file (-f) is required");
        const body = await ctx.client.call("PUT", `/v1/clusters/${seg(ctx.settings.cluster)}/policy`, readJsonFile(values.file));
        emit(ctx, body, () => show(body.policy));
      },
    },
  },
};
