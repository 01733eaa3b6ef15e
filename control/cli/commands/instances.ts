import { seg } from "../client.ts";
import { emit, expectArgs, expectIds, type Command, type CommandContext, type Resource } from "../command.ts";
import { details, table } from "../output.ts";
import { attributeMap, resourceInteger, resourcePorts } from "../../../shared/instance-resources.ts";

const base = (ctx: CommandContext) => `/v1/clusters/${seg(ctx.settings.cluster)}/container-instances`;

function setStatus(status: "DRAINING" | "ACTIVE", summary: string): Command {
  return {
    summary,
    args: "<instance-id>...",
    async run(ctx, { positionals }) {
      const ids = expectIds(positionals, "instance-id");
      const changed: any[] = [];
      for (const id of ids) changed.push((await ctx.client.call("PATCH", `${base(ctx)}/${seg(id)}`, { status })).containerInstance);
      emit(ctx, { containerInstances: changed }, () => changed.map((i) => `instance ${i.containerInstanceId} ${i.status}`).join("\n"));
    },
  };
}

/** "HEALTHY", or "IMPAIRED (CONTAINER_RUNTIME: IMPAIRED: docker not answering)" naming each failing check. */
export function healthLine(h: any): string | undefined {
  if (!h) return undefined;
  const bad = ((h.details ?? []) as any[]).filter((d) => d.status !== "OK");
  return bad.length ? `${h.overallStatus} (${bad.map((d) => `${d.type}: ${d.status}${d.reason ? `: ${d.reason}` : ""}`).join("; ")})` : h.overallStatus;
}

/** "free/total" of CPU or MEMORY from ECS's resource lists. */
function freeOfTotal(i: any, name: "CPU" | "MEMORY"): string {
  return `${resourceInteger(i.remainingResources, name)}/${resourceInteger(i.registeredResources, name)}`;
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
            ["HEALTH", (i) => i.healthStatus?.overallStatus],
            ["RUNNING", (i) => i.runningTasksCount],
            ["PENDING", (i) => i.pendingTasksCount],
            ["CPU FREE", (i) => freeOfTotal(i, "CPU")],
            ["MEM FREE", (i) => freeOfTotal(i, "MEMORY")],
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
        const attrs = Object.entries(attributeMap(i.attributes));
        emit(ctx, body, () =>
          details([
            ["Instance ID", i.containerInstanceId],
            ["ARN", i.containerInstanceArn],
            ["Host", i.ec2InstanceId],
            ["Status", i.status],
            ["Connected", i.agentConnected ? "yes" : "no"],
            ["Health", healthLine(i.healthStatus)],
            ["CPU (free/total)", freeOfTotal(i, "CPU")],
            ["Memory (free/total)", freeOfTotal(i, "MEMORY")],
            ["Ports in use", [...resourcePorts(i.remainingResources, "PORTS"), ...resourcePorts(i.remainingResources, "PORTS_UDP").map((p) => `${p}/udp`)].join(", ")],
            ["Running tasks", i.runningTasksCount],
            ["Pending tasks", i.pendingTasksCount],
            ["Agent", i.versionInfo?.agentVersion],
            // ECS's agentUpdateStatus, with the version it is about and why it failed (agent-upgrades.md).
            ["Agent update", i.agentUpdateStatus && `${i.agentUpdateStatus} (${i.agentUpdateVersion})${i.agentUpdateReason ? `: ${i.agentUpdateReason}` : ""}`],
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
