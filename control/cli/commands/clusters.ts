import { seg } from "../client.ts";
import { emit, expectArgs, type Resource } from "../command.ts";
import { details, table } from "../output.ts";

const counts = (c: any) => [
  ["Instances", c.registeredContainerInstancesCount],
  ["Running tasks", c.runningTasksCount],
  ["Pending tasks", c.pendingTasksCount],
] as [string, unknown][];

export const clusters: Resource = {
  name: "clusters",
  summary: "Create, list, describe and delete clusters.",
  commands: {
    list: {
      summary: "List clusters.",
      async run(ctx) {
        const body = await ctx.client.call("GET", "/v1/clusters");
        emit(ctx, body, () =>
          table(body.clusters, [
            ["NAME", (c) => c.clusterName],
            ["STATUS", (c) => c.status],
            ["INSTANCES", (c) => c.registeredContainerInstancesCount],
            ["RUNNING", (c) => c.runningTasksCount],
            ["PENDING", (c) => c.pendingTasksCount],
          ]),
        );
      },
    },
    create: {
      summary: "Create a cluster (an existing one is returned unchanged).",
      args: "<name>",
      async run(ctx, { positionals }) {
        const [name] = expectArgs(positionals, ["name"]);
        const body = await ctx.client.call("POST", "/v1/clusters", { clusterName: name });
        emit(ctx, body, () => `cluster ${body.cluster.clusterName} ${body.cluster.status}  ${body.cluster.clusterArn}`);
      },
    },
    describe: {
      summary: "Show one cluster.",
      args: "<name>",
      async run(ctx, { positionals }) {
        const [name] = expectArgs(positionals, ["name"]);
        const body = await ctx.client.call("GET", `/v1/clusters/${seg(name!)}`);
        const c = body.cluster;
        emit(ctx, body, () => details([["Name", c.clusterName], ["ARN", c.clusterArn], ["Status", c.status], ...counts(c), ["Created", c.createdAt]]));
      },
    },
    delete: {
      summary: "Delete a cluster (it must have no instances or tasks).",
      args: "<name>",
      async run(ctx, { positionals }) {
        const [name] = expectArgs(positionals, ["name"]);
        const body = await ctx.client.call("DELETE", `/v1/clusters/${seg(name!)}`);
        emit(ctx, body, () => `cluster ${body.cluster.clusterName} ${body.cluster.status}`);
      },
    },
  },
};
