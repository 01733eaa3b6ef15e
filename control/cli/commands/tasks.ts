import { seg } from "../client.ts";
import { emit, expectArgs, intFlag, type CommandContext, type Resource } from "../command.ts";
import { UsageError } from "../errors.ts";
import { readJsonFile } from "../input-file.ts";
import { details, lastSegment, table } from "../output.ts";
import { execCommand } from "./task-exec.ts";

const base = (ctx: CommandContext) => `/v1/clusters/${seg(ctx.settings.cluster)}/tasks`;

const taskColumns: [string, (t: any) => unknown][] = [
  ["TASK ID", (t) => t.taskId],
  ["DEFINITION", (t) => lastSegment(t.taskDefinitionArn)],
  ["LAST", (t) => t.lastStatus],
  ["DESIRED", (t) => t.desiredStatus],
  ["INSTANCE", (t) => t.containerInstanceId],
  ["STARTED", (t) => t.startedAt],
  ["STOPPED REASON", (t) => t.stoppedReason],
];

export const tasks: Resource = {
  name: "tasks",
  summary: "Run, list, describe and stop tasks; read their logs; exec into their containers.",
  commands: {
    run: {
      summary: "Run tasks from a task definition.",
      args: "<family[:revision]|arn>",
      options: {
        count: { type: "string", valueName: "N", description: "how many tasks (1-10, default 1)" },
        group: { type: "string", valueName: "NAME", description: "task group" },
        "started-by": { type: "string", valueName: "TEXT", description: "free-text tag" },
        file: { type: "string", short: "f", valueName: "FILE.json", description: "extra RunTask fields (placementConstraints, placementStrategy...)" },
      },
      examples: ["flotilla tasks run -c edge web:3 --count 2"],
      async run(ctx, { positionals, values }) {
        const [td] = expectArgs(positionals, ["family[:revision]|arn"]);
        const req: Record<string, unknown> = { ...(values.file ? readJsonFile(values.file) : {}), taskDefinition: td };
        const count = intFlag("count", values.count, { min: 1, max: 10 });
        if (count !== undefined) req.count = count;
        if (values.group) req.group = values.group;
        if (values["started-by"]) req.startedBy = values["started-by"];
        const body = await ctx.client.call("POST", base(ctx), req);
        emit(ctx, body, () => {
          const parts: string[] = [];
          if (body.tasks.length) parts.push(table(body.tasks, taskColumns));
          for (const f of body.failures ?? []) parts.push(`failure: ${f.reason}${f.detail ? ` (${f.detail})` : ""}`);
          return parts.join("\n");
        });
        // A RunTask that placed nothing is a failure for scripts too.
        if (body.tasks.length === 0) return 1;
      },
    },
    list: {
      summary: "List tasks (desired RUNNING unless --desired-status STOPPED).",
      options: {
        "desired-status": { type: "string", valueName: "STATUS", description: "RUNNING (default) or STOPPED" },
        family: { type: "string", valueName: "FAMILY", description: "only this family" },
        instance: { type: "string", valueName: "INSTANCE-ID", description: "only tasks on this instance" },
        "started-by": { type: "string", valueName: "TEXT", description: "only tasks with this startedBy" },
      },
      async run(ctx, { positionals, values }) {
        expectArgs(positionals, []);
        const q = new URLSearchParams();
        if (values["desired-status"]) q.set("desiredStatus", values["desired-status"]);
        if (values.family) q.set("family", values.family);
        if (values.instance) q.set("containerInstance", values.instance);
        if (values["started-by"]) q.set("startedBy", values["started-by"]);
        const body = await ctx.client.call("GET", `${base(ctx)}${q.size ? `?${q}` : ""}`);
        emit(ctx, body, () => table(body.tasks, taskColumns));
      },
    },
    describe: {
      summary: "Show one task and its containers.",
      args: "<task-id>",
      async run(ctx, { positionals }) {
        const [id] = expectArgs(positionals, ["task-id"]);
        const body = await ctx.client.call("GET", `${base(ctx)}/${seg(id!)}`);
        const t = body.task;
        emit(ctx, body, () =>
          [
            details([
              ["Task ID", t.taskId],
              ["ARN", t.taskArn],
              ["Definition", t.taskDefinitionArn],
              ["Instance", t.containerInstanceId],
              ["Last status", t.lastStatus],
              ["Desired status", t.desiredStatus],
              ["Group", t.group],
              ["Started by", t.startedBy],
              ["Created", t.createdAt],
              ["Started", t.startedAt],
              ["Stopped", t.stoppedAt],
              ["Stop code", t.stopCode],
              ["Stopped reason", t.stoppedReason],
            ]),
            "",
            table(t.containers ?? [], [
              ["CONTAINER", (c) => c.name],
              ["IMAGE", (c) => c.image],
              ["LAST", (c) => c.lastStatus],
              ["EXIT", (c) => c.exitCode],
              ["HEALTH", (c) => c.healthStatus],
              ["REASON", (c) => c.reason],
            ]),
          ].join("\n"),
        );
      },
    },
    stop: {
      summary: "Stop a task.",
      args: "<task-id>",
      options: { reason: { type: "string", valueName: "TEXT", description: "stoppedReason to record" } },
      async run(ctx, { positionals, values }) {
        const [id] = expectArgs(positionals, ["task-id"]);
        const body = await ctx.client.call("POST", `${base(ctx)}/${seg(id!)}/stop`, values.reason ? { reason: values.reason } : {});
        emit(ctx, body, () => `task ${body.task.taskId} desired ${body.task.desiredStatus} (last ${body.task.lastStatus})`);
      },
    },
    logs: {
      summary: "Print a task container's logs (streamed from the agent).",
      args: "<task-id>",
      options: {
        container: { type: "string", valueName: "NAME", description: "container name (default: the task's only/first container)" },
        stream: { type: "string", valueName: "STREAM", description: "awslogs stream name instead of --container (prefix/container/task-id)" },
        group: { type: "string", valueName: "GROUP", description: "awslogs group the container must log to" },
        tail: { type: "string", valueName: "N", description: "only the last N lines" },
        since: { type: "string", valueName: "TIME", description: "only lines since this time (RFC 3339 or Unix seconds)" },
        follow: { type: "boolean", short: "f", description: "keep streaming new lines until interrupted" },
      },
      async run(ctx, { positionals, values }) {
        const [id] = expectArgs(positionals, ["task-id"]);
        const q = new URLSearchParams();
        if (values.container) q.set("container", values.container);
        if (values.stream) q.set("stream", values.stream);
        if (values.group) q.set("group", values.group);
        const tail = intFlag("tail", values.tail, { min: 0 });
        if (tail !== undefined) q.set("tail", String(tail));
        if (values.since) q.set("since", values.since);
        if (values.follow) q.set("follow", "true");
        if (ctx.settings.output === "json" && values.follow) throw new UsageError("--follow cannot be combined with --output json");
        const res = await ctx.client.raw("GET", `${base(ctx)}/${seg(id!)}/logs${q.size ? `?${q}` : ""}`, undefined, ctx.signal);
        if (!res.body) return;
        // Stream as it arrives: with --follow this runs until the task stops or the user interrupts.
        const dec = new TextDecoder();
        try {
          for await (const chunk of res.body) process.stdout.write(dec.decode(chunk, { stream: true }));
        } catch (e) {
          if (!ctx.signal.aborted) throw e;
        }
      },
    },
    exec: execCommand,
  },
};
