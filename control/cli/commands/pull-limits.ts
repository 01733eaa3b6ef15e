import { seg } from "../client.ts";
import { emit, expectArgs, type Resource } from "../command.ts";
import { UsageError } from "../errors.ts";
import { readJsonFile } from "../input-file.ts";
import { table } from "../output.ts";

interface Limits {
  maxConcurrentPulls?: number;
  maxPullBytesPerSecond?: number;
}

/** One row per rule, the default last (the order they are judged in). */
function show(p: { default: Limits; rules: (Limits & { filter: string })[] }): string {
  const rows = [...p.rules.map((r) => ({ where: r.filter, ...r })), { where: "(default)", ...p.default }];
  return table(rows, [
    ["HOSTS", (r) => r.where],
    ["CONCURRENT", (r) => r.maxConcurrentPulls ?? "-"],
    ["BYTES/S", (r) => r.maxPullBytesPerSecond ?? "-"],
  ]);
}

export const pullLimits: Resource = {
  name: "pull-limits",
  summary: "The cluster's image pull limits: concurrent pulls and bandwidth, by default and per query of hosts (a site).",
  commands: {
    get: {
      summary: "Show the cluster's pull limits.",
      async run(ctx, { positionals }) {
        expectArgs(positionals, []);
        const body = await ctx.client.call("GET", `/v1/clusters/${seg(ctx.settings.cluster)}/pull-limits`);
        emit(ctx, body, () => show(body.pullLimits));
      },
    },
    put: {
      summary: "Replace the cluster's pull limits with a JSON file ({} lifts them).",
      options: { file: { type: "string", short: "f", valueName: "FILE.json", description: "pull limits JSON ('-' reads stdin) (required)" } },
      examples: ['echo \'{"rules": [{"filter": "attribute:site == shop-12", "maxPullBytesPerSecond": 1000000}]}\' | flotilla pull-limits put -c edge -f -'],
      async run(ctx, { positionals, values }) {
        expectArgs(positionals, []);
        if (!values.file) throw new UsageError("--file (-f) is required");
        const body = await ctx.client.call("PUT", `/v1/clusters/${seg(ctx.settings.cluster)}/pull-limits`, readJsonFile(values.file));
        emit(ctx, body, () => show(body.pullLimits));
      },
    },
  },
};
