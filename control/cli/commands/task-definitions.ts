import { seg } from "../client.ts";
import { emit, expectArgs, type Resource } from "../command.ts";
import { UsageError } from "../errors.ts";
import { readJsonFile } from "../input-file.ts";
import { details, table } from "../output.ts";

function summarize(td: any): string {
  return details([
    ["ARN", td.taskDefinitionArn],
    ["Family", td.family],
    ["Revision", td.revision],
    ["Status", td.status],
    ["CPU", td.cpu],
    ["Memory", td.memory],
    ["Network mode", td.networkMode],
    ["Containers", (td.containerDefinitions ?? []).map((c: any) => `${c.name} (${c.image})`).join(", ")],
    ["Registered", td.registeredAt],
    ["Deregistered", td.deregisteredAt],
  ]);
}

export const taskDefinitions: Resource = {
  name: "task-definitions",
  summary: "Register, list, describe and deregister task definitions (ECS JSON).",
  commands: {
    register: {
      summary: "Register a new revision from an ECS task definition JSON file.",
      options: { file: { type: "string", short: "f", valueName: "FILE.json", description: "task definition JSON ('-' reads stdin) (required)" } },
      examples: ["flotilla task-definitions register -f web.json"],
      async run(ctx, { positionals, values }) {
        expectArgs(positionals, []);
        if (!values.file) throw new UsageError("--file (-f) is required");
        const body = await ctx.client.call("POST", "/v1/task-definitions", readJsonFile(values.file));
        emit(ctx, body, () => `registered ${body.taskDefinition.taskDefinitionArn}`);
      },
    },
    list: {
      summary: "List task definition ARNs.",
      options: {
        "family-prefix": { type: "string", valueName: "PREFIX", description: "only families starting with this" },
        inactive: { type: "boolean", description: "list deregistered (INACTIVE) revisions instead" },
      },
      async run(ctx, { positionals, values }) {
        expectArgs(positionals, []);
        const q = new URLSearchParams();
        if (values["family-prefix"]) q.set("familyPrefix", values["family-prefix"]);
        if (values.inactive) q.set("status", "INACTIVE");
        const body = await ctx.client.call("GET", `/v1/task-definitions${q.size ? `?${q}` : ""}`);
        emit(ctx, body, () => table((body.taskDefinitionArns as string[]).map((arn) => ({ arn })), [["TASK DEFINITION ARN", (r) => r.arn]]));
      },
    },
    describe: {
      summary: "Show a task definition: family (latest ACTIVE), family:revision or ARN.",
      args: "<family[:revision]|arn>",
      async run(ctx, { positionals }) {
        const [ref] = expectArgs(positionals, ["family[:revision]|arn"]);
        const body = await ctx.client.call("GET", `/v1/task-definitions/${seg(ref!)}`);
        emit(ctx, body, () => summarize(body.taskDefinition));
      },
    },
    deregister: {
      summary: "Deregister a revision (family:revision or ARN).",
      args: "<family:revision|arn>",
      async run(ctx, { positionals }) {
        const [ref] = expectArgs(positionals, ["family:revision|arn"]);
        const body = await ctx.client.call("DELETE", `/v1/task-definitions/${seg(ref!)}`);
        emit(ctx, body, () => `deregistered ${body.taskDefinition.taskDefinitionArn} (${body.taskDefinition.status})`);
      },
    },
  },
};
