import { seg } from "../client.ts";
import { emit, expectArgs, expectIds, intFlag, type Resource } from "../command.ts";
import { UsageError } from "../errors.ts";
import { details, table } from "../output.ts";

const path = (cluster: string, rest = "") => `/v1/clusters/${seg(cluster)}/deployment-windows${rest}`;
const filter = { type: "string", valueName: "EXPR", description: 'cluster query language over the instances (attribute:site == shop-12); default: the whole cluster' } as const;

/** When a window is next open or until when it is, for the table. */
const stateOf = (w: { open: boolean; opensAt?: string; closesAt?: string }) => (w.open ? `open until ${w.closesAt}` : w.opensAt ? `closed until ${w.opensAt}` : "closed (no opening ahead)");

export const windows: Resource = {
  name: "windows",
  summary: "Deployment windows: when deployments may change tasks on which hosts (deployment-windows.md).",
  commands: {
    create: {
      summary: "Create a window: a cron schedule in a time zone, open for a duration, over the whole cluster or the instances a filter matches.",
      args: "<name>",
      options: {
        schedule: { type: "string", valueName: "CRON", description: "when it opens: 5 cron fields, or 6 with seconds first (required)" },
        duration: { type: "string", valueName: "MINUTES", description: "how long each opening lasts, 1-10080 (required)" },
        "time-zone": { type: "string", valueName: "TZ", description: "IANA time zone the schedule is read in (default UTC)" },
        filter,
      },
      examples: ['flotilla windows create shop-nights --schedule "0 2 * * *" --duration 120 --time-zone Europe/Berlin --filter "attribute:site == shop-12"'],
      async run(ctx, { positionals, values }) {
        const [name] = expectArgs(positionals, ["name"]);
        if (!values.schedule) throw new UsageError("--schedule is required (a cron expression)");
        const durationMinutes = intFlag("duration", values.duration, { min: 1 });
        if (durationMinutes === undefined) throw new UsageError("--duration is required (minutes)");
        const body = await ctx.client.call("POST", path(ctx.settings.cluster), {
          name,
          schedule: values.schedule,
          durationMinutes,
          ...(values["time-zone"] !== undefined ? { timeZone: values["time-zone"] } : {}),
          ...(values.filter !== undefined ? { filter: values.filter } : {}),
        });
        const w = body.deploymentWindow;
        emit(ctx, body, () =>
          details([
            ["Window ID", w.windowId],
            ["Name", w.name],
            ["Schedule", `${w.schedule} (${w.timeZone}), ${w.durationMinutes} min`],
            ["Instances", w.filter ?? "all"],
            ["Now", stateOf(w)],
          ]),
        );
      },
    },
    list: {
      summary: "List the cluster's windows, each open or closed now and until when.",
      async run(ctx, { positionals }) {
        expectArgs(positionals, []);
        const body = await ctx.client.call("GET", path(ctx.settings.cluster));
        emit(ctx, body, () =>
          table(body.deploymentWindows ?? [], [
            ["NAME", (w) => w.name],
            ["SCHEDULE", (w) => w.schedule],
            ["TIME ZONE", (w) => w.timeZone],
            ["MINUTES", (w) => w.durationMinutes],
            ["INSTANCES", (w) => w.filter ?? "all"],
            ["NOW", stateOf],
          ]),
        );
      },
    },
    delete: {
      summary: "Delete windows by name or id; the hosts they held are released on the next scheduler round.",
      args: "<name-or-id>...",
      async run(ctx, { positionals }) {
        const ids = expectIds(positionals, "name-or-id");
        const gone: any[] = [];
        for (const id of ids) gone.push((await ctx.client.call("DELETE", path(ctx.settings.cluster, `/${seg(id)}`))).deploymentWindow);
        emit(ctx, { deploymentWindows: gone }, () => gone.map((w) => `deployment window ${w.name} deleted`).join("\n"));
      },
    },
    override: {
      summary: "Open windows now (audited): matching hosts count as inside a window until --until, or for --duration minutes (default 60).",
      options: {
        filter: { ...filter, description: "only these instances (cluster query language); default: every instance" },
        until: { type: "string", valueName: "TIME", description: "ISO 8601 end, e.g. 2026-05-01T06:00:00Z" },
        duration: { type: "string", valueName: "MINUTES", description: "minutes from now (default 60)" },
        reason: { type: "string", valueName: "TEXT", description: "why (kept with the override)" },
      },
      examples: ['flotilla windows override --filter "attribute:site == shop-12" --duration 30 --reason "hotfix 4411"'],
      async run(ctx, { positionals, values }) {
        expectArgs(positionals, []);
        if (values.until !== undefined && values.duration !== undefined) throw new UsageError("give --until or --duration, not both");
        const durationMinutes = intFlag("duration", values.duration, { min: 1 });
        const body = await ctx.client.call("POST", path(ctx.settings.cluster, "/override"), {
          ...(values.filter !== undefined ? { filter: values.filter } : {}),
          ...(values.until !== undefined ? { until: values.until } : {}),
          ...(durationMinutes !== undefined ? { durationMinutes } : {}),
          ...(values.reason !== undefined ? { reason: values.reason } : {}),
        });
        const o = body.override;
        emit(ctx, body, () => `override ${o.overrideId}: ${o.filter ?? "all instances"} open until ${o.until}`);
      },
    },
    overrides: {
      summary: "List overrides still in force.",
      async run(ctx, { positionals }) {
        expectArgs(positionals, []);
        const body = await ctx.client.call("GET", path(ctx.settings.cluster, "/overrides"));
        emit(ctx, body, () =>
          table(body.overrides ?? [], [
            ["OVERRIDE ID", (o) => o.overrideId],
            ["INSTANCES", (o) => o.filter ?? "all"],
            ["UNTIL", (o) => o.until],
            ["BY", (o) => o.createdBy],
            ["REASON", (o) => o.reason],
          ]),
        );
      },
    },
    "end-override": {
      summary: "End overrides early, by id.",
      args: "<override-id>...",
      async run(ctx, { positionals }) {
        const ids = expectIds(positionals, "override-id");
        const gone: any[] = [];
        for (const id of ids) gone.push((await ctx.client.call("DELETE", path(ctx.settings.cluster, `/overrides/${seg(id)}`))).override);
        emit(ctx, { overrides: gone }, () => gone.map((o) => `override ${o.overrideId} ended`).join("\n"));
      },
    },
  },
};
