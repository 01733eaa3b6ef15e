import { emit, expectArgs, intFlag, type CommandContext, type Resource } from "../command.ts";
import { UsageError } from "../errors.ts";
import { table } from "../output.ts";

/** One line per event: id, time, detail-type and what it is about. */
function summary(e: any): string {
  const d = e.detail ?? {};
  const what =
    e["detail-type"] === "ECS Task State Change"
      ? `${d.lastStatus} (desired ${d.desiredStatus})${d.stoppedReason ? `: ${d.stoppedReason}` : ""}`
      : e["detail-type"] === "ECS Container Instance State Change"
        ? `${d.status} ${d.agentConnected ? "connected" : "disconnected"}${d.healthStatus ? ` ${d.healthStatus}` : ""}`
        : (d.eventName ?? d.reason ?? "");
  return [e.id, e.time, e["detail-type"], e.resources?.[0] ?? "", what].join("  ");
}

async function follow(ctx: CommandContext, query: URLSearchParams): Promise<void> {
  let after: string | undefined = query.get("after") ?? undefined;
  // A dropped connection (a control restart, a failover) resumes after the last event printed.
  while (!ctx.signal.aborted) {
    const q = new URLSearchParams(query);
    q.set("follow", "true");
    if (after !== undefined) q.set("after", after);
    try {
      const res = await ctx.client.raw("GET", `/v1/events?${q}`, undefined, ctx.signal);
      if (!res.body) return;
      const dec = new TextDecoder();
      let buf = "";
      for await (const chunk of res.body) {
        buf += dec.decode(chunk, { stream: true });
        let end: number;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
          if (!data) continue;
          const e = JSON.parse(data);
          after = e.id;
          ctx.out(ctx.settings.output === "json" ? JSON.stringify(e) : summary(e));
        }
      }
    } catch (e) {
      if (ctx.signal.aborted) return;
      ctx.err(`event stream interrupted (${(e as Error).message}); reconnecting`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export const events: Resource = {
  name: "events",
  summary: "The event log: task, instance, deployment and service events (ECS EventBridge shapes).",
  commands: {
    list: {
      summary: "Print recent events of the cluster (oldest first); --follow keeps streaming, resuming after reconnects.",
      options: {
        follow: { type: "boolean", short: "f", description: "stream new events until interrupted" },
        "all-clusters": { type: "boolean", description: "every cluster's events, not only --cluster's" },
        service: { type: "string", valueName: "NAME", description: "only this service's events" },
        instance: { type: "string", valueName: "ID", description: "only this container instance's events" },
        after: { type: "string", valueName: "ID", description: "events after this event id" },
        limit: { type: "string", valueName: "N", description: "at most N events (without --follow)" },
      },
      examples: ["flotilla events list -c prod --follow", "flotilla events list --all-clusters -o json"],
      async run(ctx, { positionals, values }) {
        expectArgs(positionals, []);
        const q = new URLSearchParams();
        if (!values["all-clusters"]) q.set("cluster", ctx.settings.cluster);
        if (values.service) q.set("service", values.service);
        if (values.instance) q.set("instance", values.instance);
        const after = intFlag("after", values.after, { min: 0 });
        if (after !== undefined) q.set("after", String(after));
        if (values.follow) {
          if (ctx.settings.output === "yaml") throw new UsageError("--follow cannot be combined with --output yaml");
          return follow(ctx, q);
        }
        const limit = intFlag("limit", values.limit, { min: 1 });
        if (limit !== undefined) q.set("limit", String(limit));
        const body = await ctx.client.call("GET", `/v1/events?${q}`);
        emit(ctx, body, () =>
          table(body.events ?? [], [
            ["ID", (e) => e.id],
            ["TIME", (e) => e.time],
            ["TYPE", (e) => e["detail-type"]],
            ["RESOURCE", (e) => e.resources?.[0]],
            ["DETAIL", (e) => summary(e).split("  ").slice(4).join("  ")],
          ]),
        );
      },
    },
  },
};
