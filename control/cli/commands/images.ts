import { seg } from "../client.ts";
import { emit, expectArgs, intFlag, type Resource } from "../command.ts";
import { CommandFailed, UsageError } from "../errors.ts";
import { table } from "../output.ts";

const prefetches = (cluster: string, rest = "") => `/v1/clusters/${seg(cluster)}/image-prefetch${rest}`;

const progressLine = (p: any) =>
  `image prefetch ${p.id}: ${p.status} | done ${p.counts.done}, failed ${p.counts.failed}, pulling ${p.counts.pulling}, pending ${p.counts.pending}`;

const failures = (p: any) =>
  (p.instances ?? []).flatMap((h: any) => h.images.filter((i: any) => i.status === "FAILED").map((i: any) => `${h.containerInstanceId} ${i.image}: ${i.reason ?? "FAILED"}`));

export const images: Resource = {
  name: "images",
  summary: "Image delivery: pull images onto hosts ahead of need (image-delivery.md).",
  commands: {
    prefetch: {
      summary: "Pull a task definition's images (or the images named) on the cluster's hosts (or those named or matched), and follow it.",
      args: "[IMAGE...]",
      options: {
        "task-definition": { type: "string", valueName: "FAMILY[:REV]|ARN", description: "pull this task definition's images (instead of IMAGE arguments)" },
        instances: { type: "string", valueName: "ID,ID", description: "only these container instances (ids or ARNs)" },
        filter: { type: "string", valueName: "EXPR", description: "only the instances this cluster query matches (attribute:site == shop-12)" },
        "no-wait": { type: "boolean", description: "start it and return instead of following its progress" },
        timeout: { type: "string", valueName: "SECONDS", description: "stop following after this long (default 1800)" },
        interval: { type: "string", valueName: "MS", description: "poll interval in milliseconds (default 1000)" },
      },
      examples: ['flotilla images prefetch --task-definition web:7 --filter "attribute:site == shop-12"', "flotilla images prefetch registry.example/app:2 --instances 3f2c…"],
      async run(ctx, { positionals, values }) {
        if (values["task-definition"] === undefined && positionals.length === 0) throw new UsageError("give --task-definition or one or more IMAGE arguments");
        if (values["task-definition"] !== undefined) expectArgs(positionals, []);
        const started = await ctx.client.call("POST", prefetches(ctx.settings.cluster), {
          ...(values["task-definition"] !== undefined ? { taskDefinition: values["task-definition"] } : { images: positionals }),
          ...(values.instances !== undefined ? { instances: String(values.instances).split(",").map((s) => s.trim()).filter(Boolean) } : {}),
          ...(values.filter !== undefined ? { filter: values.filter } : {}),
        });
        let p = started.imagePrefetch;
        if (values["no-wait"]) return emit(ctx, started, () => `image prefetch ${p.id} started: ${p.images.length} image(s) on ${p.instances.length} instance(s)`);
        const timeoutMs = (intFlag("timeout", values.timeout, { min: 1 }) ?? 1800) * 1000;
        const interval = intFlag("interval", values.interval, { min: 50 }) ?? 1000;
        const deadline = Date.now() + timeoutMs;
        let last = "";
        for (;;) {
          const line = progressLine(p);
          if (line !== last) {
            last = line;
            // Progress on stderr, so `-o json` keeps stdout machine-readable.
            ctx.err(ctx.tty ? `\r\x1b[2K${line}` : `${line}\n`);
          }
          if (p.status !== "IN_PROGRESS") break;
          if (Date.now() + interval > deadline) {
            if (ctx.tty) ctx.err("\n");
            throw new CommandFailed(`timed out after ${timeoutMs / 1000}s following image prefetch ${p.id} (${last}); it goes on`);
          }
          await Bun.sleep(interval);
          p = (await ctx.client.call("GET", prefetches(ctx.settings.cluster, `/${seg(p.id)}`))).imagePrefetch;
        }
        if (ctx.tty) ctx.err("\n");
        if (p.status === "FAILED") throw new CommandFailed(`image prefetch ${p.id} failed on ${p.counts.failed} instance(s):\n  ${failures(p).join("\n  ")}`);
        emit(ctx, { imagePrefetch: p }, () => `image prefetch ${p.id}: ${p.images.length} image(s) on ${p.counts.done} instance(s)`);
      },
    },
    prefetches: {
      summary: "List the cluster's image prefetches, newest first.",
      async run(ctx, { positionals }) {
        expectArgs(positionals, []);
        const body = await ctx.client.call("GET", prefetches(ctx.settings.cluster));
        emit(ctx, body, () =>
          table(body.imagePrefetches ?? [], [
            ["ID", (p) => p.id],
            ["STATUS", (p) => p.status],
            ["IMAGES", (p) => p.images.join(",")],
            ["DONE", (p) => p.counts.done],
            ["FAILED", (p) => p.counts.failed],
            ["PENDING", (p) => p.counts.pending + p.counts.pulling],
            ["CREATED", (p) => p.createdAt],
          ]),
        );
      },
    },
  },
};
