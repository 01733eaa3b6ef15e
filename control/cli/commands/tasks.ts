import { seg } from "../client.ts";
import { emit, expectArgs, expectIds, intFlag, sinceFlag, type CommandContext, type Resource } from "../command.ts";
import { ApiError, CommandFailed, UsageError } from "../errors.ts";
import { readJsonFile } from "../input-file.ts";
import { details, lastSegment, table } from "../output.ts";
import { execCommand } from "./task-exec.ts";

const base = (ctx: CommandContext) => `/v1/clusters/${seg(ctx.settings.cluster)}/tasks`;

/** The service a task belongs to: ECS puts service tasks in group "service:NAME". */
const serviceOf = (t: any) => (typeof t.group === "string" && t.group.startsWith("service:") ? t.group.slice("service:".length) : undefined);

/** A stopped container's last health verdict is history, not its health: show none. */
const containerHealth = (c: any) => (c.lastStatus === "STOPPED" ? undefined : c.healthStatus);

/** "8080->80/tcp" per binding, as docker ps prints them. */
const ports = (c: any) => ((c.networkBindings ?? []) as any[]).map((b) => `${b.bindIP && b.bindIP !== "0.0.0.0" ? `${b.bindIP}:` : ""}${b.hostPort}->${b.containerPort}/${b.protocol ?? "tcp"}`).join(", ");

const taskColumns: [string, (t: any) => unknown][] = [
  ["TASK ID", (t) => t.taskId],
  ["DEFINITION", (t) => lastSegment(t.taskDefinitionArn)],
  ["SERVICE", serviceOf],
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
        wait: { type: "boolean", short: "w", description: "wait until every task is RUNNING (progress on stderr); fail if one stops" },
        timeout: { type: "string", valueName: "SECONDS", description: "with --wait: give up after this long (default 300)" },
      },
      examples: ["flotilla tasks run -c edge web:3 --count 2", "flotilla tasks run web --wait"],
      async run(ctx, { positionals, values }) {
        const [td] = expectArgs(positionals, ["family[:revision]|arn"]);
        const req: Record<string, unknown> = { ...(values.file ? readJsonFile(values.file) : {}), taskDefinition: td };
        const count = intFlag("count", values.count, { min: 1, max: 10 });
        if (count !== undefined) req.count = count;
        if (values.group) req.group = values.group;
        if (values["started-by"]) req.startedBy = values["started-by"];
        const timeoutS = intFlag("timeout", values.timeout, { min: 1 }) ?? 300;
        let body = await ctx.client.call("POST", base(ctx), req);
        if (values.wait && body.tasks.length) body = { ...body, tasks: await waitRunning(ctx, body.tasks, timeoutS) };
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
              ["Service", serviceOf(t)],
              ["Group", t.group],
              ["Health", t.lastStatus === "STOPPED" ? undefined : t.healthStatus],
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
              ["HEALTH", containerHealth],
              ["PORTS", ports],
              ["REASON", (c) => c.reason],
            ]),
          ].join("\n"),
        );
      },
    },
    stop: {
      summary: "Stop one or more tasks.",
      args: "<task-id>...",
      options: { reason: { type: "string", valueName: "TEXT", description: "stoppedReason to record" } },
      examples: ["flotilla tasks stop 3f2a... 9c1b... --reason 'moving to new hardware'"],
      async run(ctx, { positionals, values }) {
        const ids = expectIds(positionals, "task-id");
        const stopped: any[] = [];
        const failures: { taskId: string; reason: string }[] = [];
        // Each id on its own: one unknown id does not stop the others, and is named in the failure.
        for (const id of ids) {
          try {
            stopped.push((await ctx.client.call("POST", `${base(ctx)}/${seg(id)}/stop`, values.reason ? { reason: values.reason } : {})).task);
          } catch (e) {
            if (!(e instanceof ApiError) || ids.length === 1) throw e;
            failures.push({ taskId: id, reason: e.message });
          }
        }
        emit(ctx, { tasks: stopped, failures }, () =>
          [
            ...stopped.map((t) => `task ${t.taskId} desired ${t.desiredStatus} (last ${t.lastStatus})`),
            ...failures.map((f) => `task ${f.taskId}: ${f.reason}`),
          ].join("\n"),
        );
        if (failures.length) return 1;
      },
    },
    logs: {
      summary: "Print a task container's logs (streamed from the agent).",
      args: "<task-id>",
      options: {
        container: { type: "string", valueName: "NAME", description: "container name (required when the task has more than one)" },
        stream: { type: "string", valueName: "STREAM", description: "awslogs stream name instead of --container (prefix/container/task-id)" },
        group: { type: "string", valueName: "GROUP", description: "awslogs group the container must log to" },
        tail: { type: "string", valueName: "N", description: "only the last N lines" },
        since: { type: "string", valueName: "TIME", description: "only lines since this time: an age (10m, 2h, 1d), RFC 3339 or Unix seconds" },
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
        const since = sinceFlag("since", values.since);
        if (since !== undefined) q.set("since", since);
        if (values.follow) q.set("follow", "true");
        if (ctx.settings.output !== "table" && values.follow) throw new UsageError(`--follow cannot be combined with --output ${ctx.settings.output}`);
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

/**
 * Polls the tasks until all are RUNNING; progress goes to stderr (one rewritten line on a terminal)
 * so `-o json` stdout stays clean. A task that stops first fails the wait with its reason.
 */
async function waitRunning(ctx: CommandContext, started: any[], timeoutS: number): Promise<any[]> {
  const deadline = Date.now() + timeoutS * 1000;
  let last = "";
  let current = started;
  for (;;) {
    current = await Promise.all(current.map(async (t) => (await ctx.client.call("GET", `${base(ctx)}/${seg(t.taskId)}`)).task));
    const line = current.map((t) => `${t.taskId.slice(0, 8)} ${t.lastStatus}`).join(", ");
    if (line !== last) {
      last = line;
      ctx.err(ctx.tty ? `\r\x1b[2K${line}` : `${line}\n`);
    }
    const stopped = current.find((t) => t.lastStatus === "STOPPED" || t.lastStatus === "DEPROVISIONING" || t.desiredStatus === "STOPPED");
    const done = current.every((t) => t.lastStatus === "RUNNING");
    if (stopped || done || Date.now() > deadline) {
      if (ctx.tty) ctx.err("\n");
      if (stopped) throw new CommandFailed(`task ${stopped.taskId} stopped before RUNNING: ${stopped.stoppedReason ?? stopped.stopCode ?? stopped.lastStatus}`);
      if (!done) throw new CommandFailed(`timed out after ${timeoutS}s waiting for tasks to be RUNNING (${last})`);
      return current;
    }
    await Bun.sleep(Math.min(500, Math.max(50, deadline - Date.now())));
  }
}
