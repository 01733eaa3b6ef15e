import { seg } from "../client.ts";
import { emit, expectArgs, type Command, type CommandContext, type Resource } from "../command.ts";
import { details, table } from "../output.ts";

const base = (ctx: CommandContext) => `/v1/clusters/${seg(ctx.settings.cluster)}/container-instances`;

function setStatus(status: "DRAINING" | "ACTIVE", summary: string): Command {
  return {
    summary,
    args: "<instance-id>",
    async run(ctx, { positionals }) {
      const [id] = expectArgs(positionals, ["instance-id"]);
      const body = await ctx.client.call("PATCH", `${base(ctx)}/${seg(id!)}`, { status });
      emit(ctx, body, () => `instance ${body.containerInstance?.containerInstanceId ?? id} ${body.containerInstance?.status ?? status}`);
    },
  };
}

export const instances: Resource = {
  name: "instances",
  summary: "Container instances (hosts running the agent) of a cluster.",
  commands: {
    list: {
      summary: "List the cluster's container instances.",
      async run(ctx, { positionals }) {
        expectArgs(positionals, []);
        const body = await ctx.client.call("GET", base(ctx));
        emit(ctx, body, () =>
          table(body.containerInstances, [
            ["INSTANCE ID", (i) => i.containerInstanceId],
            ["HOST", (i) => i.ec2InstanceId],
            ["STATUS", (i) => i.status],
            ["CONNECTED", (i) => (i.agentConnected ? "yes" : "no")],
            ["RUNNING", (i) => i.runningTasksCount],
            ["PENDING", (i) => i.pendingTasksCount],
            ["CPU FREE", (i) => `${i.remainingResources?.cpu}/${i.registeredResources?.cpu}`],
            ["MEM FREE", (i) => `${i.remainingResources?.memory}/${i.registeredResources?.memory}`],
          ]),
        );
      },
    },
    describe: {
      summary: "Show one container instance.",
      args: "<instance-id>",
      async run(ctx, { positionals }) {
        const [id] = expectArgs(positionals, ["instance-id"]);
        const body = await ctx.client.call("GET", `${base(ctx)}/${seg(id!)}`);
        const i = body.containerInstance;
        // The API gives a name → value map; older shapes used ECS's [{name, value}] list.
        const attrs: [string, string | undefined][] = Array.isArray(i.attributes)
          ? i.attributes.map((a: { name: string; value?: string }) => [a.name, a.value])
          : Object.entries(i.attributes ?? {});
        emit(ctx, body, () =>
          details([
            ["Instance ID", i.containerInstanceId],
            ["ARN", i.containerInstanceArn],
            ["Host", i.ec2InstanceId],
            ["Status", i.status],
            ["Connected", i.agentConnected ? "yes" : "no"],
            ["CPU (free/total)", `${i.remainingResources?.cpu}/${i.registeredResources?.cpu}`],
            ["Memory (free/total)", `${i.remainingResources?.memory}/${i.registeredResources?.memory}`],
            ["Running tasks", i.runningTasksCount],
            ["Pending tasks", i.pendingTasksCount],
            ["Agent", i.versionInfo?.agentVersion],
            ["Docker", i.versionInfo?.dockerVersion],
            ["Registered", i.registeredAt],
            ["Last seen", i.lastSeenAt],
            ["Attributes", attrs.map(([n, v]) => (v === undefined || v === null ? n : `${n}=${v}`)).join(", ")],
          ]),
        );
      },
    },
    drain: setStatus("DRAINING", "Set an instance DRAINING: it gets no new tasks."),
    activate: setStatus("ACTIVE", "Set an instance ACTIVE again."),
    deregister: {
      summary: "Deregister an instance from the cluster.",
      args: "<instance-id>",
      options: { force: { type: "boolean", description: "deregister even with tasks still running" } },
      async run(ctx, { positionals, values }) {
        const [id] = expectArgs(positionals, ["instance-id"]);
        const body = await ctx.client.call("DELETE", `${base(ctx)}/${seg(id!)}${values.force ? "?force=true" : ""}`);
        emit(ctx, body ?? {}, () => `instance ${id} deregistered`);
      },
    },
  },
};
