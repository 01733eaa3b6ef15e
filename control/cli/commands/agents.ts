import { seg } from "../client.ts";
import { emit, expectArgs, intFlag, type Resource } from "../command.ts";
import { CommandFailed, UsageError } from "../errors.ts";
import { table } from "../output.ts";
import { uploadRelease } from "./agent-release-upload.ts";

const upgrades = (cluster: string, rest = "") => `/v1/clusters/${seg(cluster)}/agent-upgrades${rest}`;

const progressLine = (u: any) => {
  const busy = (u.instances ?? []).filter((i: any) => i.agentUpdateStatus && !["UPDATED", "FAILED"].includes(i.agentUpdateStatus));
  return `agent upgrade to ${u.version}: ${u.status} | updated ${u.updatedCount}, failed ${u.failedCount}, waiting ${u.waitingCount}${busy.length ? ` | now: ${busy.map((i: any) => `${i.containerInstanceId} ${i.agentUpdateStatus}`).join(", ")}` : ""}`;
};

export const agents: Resource = {
  name: "agents",
  summary: "Agent releases and upgrades from the control service (agent-upgrades.md).",
  commands: {
    upgrade: {
      summary: "Upgrade the agents of the cluster (or the instances named or matched) to an uploaded release, in batches, and follow it.",
      options: {
        version: { type: "string", valueName: "VERSION", description: "the release to upgrade to (required; see `flotilla agents releases`)" },
        instances: { type: "string", valueName: "ID,ID", description: "only these container instances (ids or ARNs)" },
        filter: { type: "string", valueName: "EXPR", description: "only the instances this cluster query matches (attribute:site == shop-12)" },
        "batch-size": { type: "string", valueName: "N", description: "instances upgraded at a time (default 1)" },
        "max-failures": { type: "string", valueName: "N", description: "failed instances tolerated before the upgrade stops (default 0)" },
        "no-wait": { type: "boolean", description: "start it and return instead of following its progress" },
        timeout: { type: "string", valueName: "SECONDS", description: "stop following after this long (default 1800)" },
        interval: { type: "string", valueName: "MS", description: "poll interval in milliseconds (default 1000)" },
      },
      examples: ['flotilla agents upgrade --version 0.2.0 --filter "attribute:site == shop-12" --batch-size 2'],
      async run(ctx, { positionals, values }) {
        expectArgs(positionals, []);
        if (!values.version) throw new UsageError("--version is required");
        const batchSize = intFlag("batch-size", values["batch-size"], { min: 1 });
        const maxFailures = intFlag("max-failures", values["max-failures"]);
        const started = await ctx.client.call("POST", upgrades(ctx.settings.cluster), {
          version: values.version,
          ...(values.instances !== undefined ? { instances: String(values.instances).split(",").map((s) => s.trim()).filter(Boolean) } : {}),
          ...(values.filter !== undefined ? { filter: values.filter } : {}),
          ...(batchSize !== undefined ? { batchSize } : {}),
          ...(maxFailures !== undefined ? { maxFailures } : {}),
        });
        let u = started.agentUpgrade;
        if (values["no-wait"]) return emit(ctx, started, () => `agent upgrade ${u.id} to ${u.version} started: ${u.instances.length} instance(s)`);
        const timeoutMs = (intFlag("timeout", values.timeout, { min: 1 }) ?? 1800) * 1000;
        const interval = intFlag("interval", values.interval, { min: 50 }) ?? 1000;
        const deadline = Date.now() + timeoutMs;
        let last = "";
        for (;;) {
          const line = progressLine(u);
          if (line !== last) {
            last = line;
            // Progress on stderr, so `-o json` keeps stdout machine-readable.
            ctx.err(ctx.tty ? `\r\x1b[2K${line}` : `${line}\n`);
          }
          if (u.status !== "IN_PROGRESS") break;
          if (Date.now() + interval > deadline) {
            if (ctx.tty) ctx.err("\n");
            throw new CommandFailed(`timed out after ${timeoutMs / 1000}s following agent upgrade ${u.id} (${last}); it goes on`);
          }
          await Bun.sleep(interval);
          u = (await ctx.client.call("GET", upgrades(ctx.settings.cluster, `/${seg(u.id)}`))).agentUpgrade;
        }
        if (ctx.tty) ctx.err("\n");
        if (u.status === "FAILED") {
          const failed = u.instances.filter((i: any) => i.agentUpdateStatus === "FAILED").map((i: any) => `${i.containerInstanceId}: ${i.reason ?? "FAILED"}`);
          throw new CommandFailed(`agent upgrade ${u.id} to ${u.version} failed: ${u.reason ?? ""}${failed.length ? `\n  ${failed.join("\n  ")}` : ""}`);
        }
        emit(ctx, { agentUpgrade: u }, () => `agent upgrade ${u.id}: ${u.updatedCount} instance(s) on ${u.version}`);
      },
    },
    upgrades: {
      summary: "List the cluster's agent upgrades, newest first.",
      async run(ctx, { positionals }) {
        expectArgs(positionals, []);
        const body = await ctx.client.call("GET", upgrades(ctx.settings.cluster));
        emit(ctx, body, () =>
          table(body.agentUpgrades ?? [], [
            ["ID", (u) => u.id],
            ["VERSION", (u) => u.version],
            ["STATUS", (u) => u.status],
            ["UPDATED", (u) => u.updatedCount],
            ["FAILED", (u) => u.failedCount],
            ["WAITING", (u) => u.waitingCount],
            ["CREATED", (u) => u.createdAt],
          ]),
        );
      },
    },
    "upload-release": uploadRelease,
    releases: {
      summary: "List the agent releases uploaded to the control service.",
      async run(ctx, { positionals }) {
        expectArgs(positionals, []);
        const body = await ctx.client.call("GET", "/v1/agent-releases");
        emit(ctx, body, () =>
          table(body.agentReleases ?? [], [
            ["VERSION", (r) => r.version],
            ["ARCHITECTURE", (r) => r.architecture],
            ["SHA256", (r) => String(r.sha256).slice(0, 16) + "…"],
            ["SIZE", (r) => r.size],
            ["UPLOADED", (r) => r.uploadedAt],
          ]),
        );
      },
    },
  },
};
