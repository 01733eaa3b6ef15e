import { seg } from "../client.ts";
import { boolFlag, emit, expectArgs, intFlag, type CommandContext, type Resource } from "../command.ts";
import { ApiError, CommandFailed, UsageError } from "../errors.ts";
import { readJsonFile } from "../input-file.ts";
import { details, lastSegment, table } from "../output.ts";

const base = (ctx: CommandContext) => `/v1/clusters/${seg(ctx.settings.cluster)}/services`;

/** Flags shared by create and update that map onto deploymentConfiguration. */
const deploymentOptions = {
  "min-healthy-percent": { type: "string", valueName: "N", description: "deploymentConfiguration.minimumHealthyPercent" },
  "max-percent": { type: "string", valueName: "N", description: "deploymentConfiguration.maximumPercent" },
  "circuit-breaker": { type: "string", valueName: "true|false", description: "deploymentCircuitBreaker.enable" },
  rollback: { type: "string", valueName: "true|false", description: "deploymentCircuitBreaker.rollback" },
  "scale-outside-window": { type: "string", valueName: "true|false", description: "deploymentConfiguration.windowPolicy.allowScaleOutsideWindow (deployment-windows.md)" },
} as const;

function deploymentConfiguration(values: Record<string, any>): Record<string, unknown> | undefined {
  const dc: Record<string, unknown> = {};
  const min = intFlag("min-healthy-percent", values["min-healthy-percent"], { min: 0, max: 100 });
  const max = intFlag("max-percent", values["max-percent"], { min: 0, max: 400 });
  if (min !== undefined) dc.minimumHealthyPercent = min;
  if (max !== undefined) dc.maximumPercent = max;
  const enable = boolFlag("circuit-breaker", values["circuit-breaker"]);
  const rollback = boolFlag("rollback", values.rollback);
  if (enable !== undefined || rollback !== undefined) dc.deploymentCircuitBreaker = { enable: enable ?? true, rollback: rollback ?? false };
  const scale = boolFlag("scale-outside-window", values["scale-outside-window"]);
  if (scale !== undefined) dc.windowPolicy = { allowScaleOutsideWindow: scale };
  return Object.keys(dc).length ? dc : undefined;
}

/** Merges a JSON file's fields with flags; flags win so a file can be a template. */
function mergedDeployment(input: Record<string, unknown>, values: Record<string, any>) {
  const dc = deploymentConfiguration(values);
  if (dc) input.deploymentConfiguration = { ...((input.deploymentConfiguration as object) ?? {}), ...dc };
  return input;
}

/** Flags shared by create and update for ingress (docs/ingress.md) and DNS names (docs/discovery.md). */
const addressingOptions = {
  ingress: { type: "string", multiple: true, valueName: "LISTEN:CONTAINER", description: "publish host port LISTEN for containerPort CONTAINER on every host (ingress); repeatable" },
  "discovery-name": { type: "string", valueName: "NAME", description: "DNS name NAME.CLUSTER.flotilla instead of the service's own (discovery.name)" },
  "dns-alias": { type: "string", multiple: true, valueName: "NAME", description: "another DNS name answering as the service's (discovery.aliases); repeatable" },
} as const;

/** `8080:80` → {listenPort: 8080, containerPort: 80}; the API checks the ports themselves. */
function ingressFlag(values: string[]): { listenPort: number; containerPort: number }[] {
  return values.map((v) => {
    const m = /^(\d{1,5}):(\d{1,5})$/.exec(v);
    if (!m) throw new UsageError(`--ingress must be LISTEN:CONTAINER (host port : container port, e.g. 8080:80), got "${v}"`);
    return { listenPort: Number(m[1]), containerPort: Number(m[2]) };
  });
}

/**
 * Puts the ingress and naming flags into the request; flags win over the file. On update
 * `--no-ingress` clears the ingress, `--no-discovery-name` goes back to the derived name and
 * `--no-dns-aliases` removes the aliases; what no flag names stays as it is.
 */
function mergedAddressing(input: Record<string, unknown>, values: Record<string, any>, update: boolean) {
  const both = (a: string, b: string) => {
    if (values[a] !== undefined && values[a] !== false && values[b]) throw new UsageError(`give --${a} or --${b}, not both`);
  };
  if (values.ingress?.length) input.ingress = ingressFlag(values.ingress);
  const name = values["discovery-name"] as string | undefined;
  const aliases = values["dns-alias"] as string[] | undefined;
  const discovery: Record<string, unknown> = {};
  if (name !== undefined) discovery.name = name;
  if (aliases?.length) discovery.aliases = aliases;
  if (update) {
    both("ingress", "no-ingress");
    both("discovery-name", "no-discovery-name");
    both("dns-alias", "no-dns-aliases");
    if (values["no-ingress"]) input.ingress = [];
    if (values["no-discovery-name"]) discovery.name = null;
    if (values["no-dns-aliases"]) discovery.aliases = [];
  }
  if (Object.keys(discovery).length) input.discovery = { ...((input.discovery as object | null) ?? {}), ...discovery };
  return input;
}

/** Ingress ports and DNS names of a service (DescribeServices' `ingress` and `discovery`). */
function addressingLines(s: any): string[] {
  const lines: string[] = [];
  const names = s.discovery;
  if (names) {
    lines.push("", details([["DNS name", `${names.dnsName}${names.chosen ? " (chosen)" : ""}`], ...(names.aliases?.length ? ([["Aliases", names.aliases.join(", ")]] as [string, unknown][]) : []), ...(names.srvNames?.length ? ([["SRV", names.srvNames.join(", ")]] as [string, unknown][]) : [])]));
  } else {
    lines.push("", details([["DNS name", "none (the service's or cluster's name is no DNS label)"]]));
  }
  if (s.ingress?.length) {
    lines.push(
      "",
      table(s.ingress, [
        ["INGRESS PORT", (r) => r.listenPort],
        ["CONTAINER PORT", (r) => r.containerPort],
        ["PROTOCOL", (r) => r.protocol],
      ]),
    );
  }
  return lines;
}

function deploymentLine(d: any): string {
  return `${d.status} ${lastSegment(d.taskDefinition) ?? "-"}: running ${d.runningCount ?? 0}/${d.desiredCount ?? 0}, pending ${d.pendingCount ?? 0}${d.failedTasks ? `, failed ${d.failedTasks}` : ""}${d.rolloutState ? ` (${d.rolloutState})` : ""}`;
}

function serviceDetails(s: any): string {
  return [
    details([
      ["Service", s.serviceName],
      ["ARN", s.serviceArn],
      ["Status", s.status],
      ["Strategy", s.schedulingStrategy],
      ["Task definition", s.taskDefinition],
      ["Desired", s.desiredCount],
      ["Running", s.runningCount],
      ["Pending", s.pendingCount],
    ]),
    ...addressingLines(s),
    "",
    table(s.deployments ?? [], [
      ["DEPLOYMENT", (d) => d.id],
      ["STATUS", (d) => d.status],
      ["TASK DEFINITION", (d) => lastSegment(d.taskDefinition)],
      ["DESIRED", (d) => d.desiredCount],
      ["RUNNING", (d) => d.runningCount],
      ["PENDING", (d) => d.pendingCount],
      ["FAILED", (d) => d.failedTasks],
      ["ROLLOUT", (d) => d.rolloutState],
    ]),
    ...waitingLines(s.deployments ?? []),
  ].join("\n");
}

/** Hosts a deployment waits for (outside their deployment window), with when their window opens. */
function waitingLines(deployments: any[]): string[] {
  const hosts = deployments.flatMap((d) => (d.waitingHosts ?? []).map((h: any) => ({ deployment: d.id, ...h })));
  if (hosts.length === 0) return [];
  return [
    "",
    "Waiting for deployment windows:",
    table(hosts, [
      ["DEPLOYMENT", (h) => h.deployment],
      ["CONTAINER INSTANCE", (h) => lastSegment(h.containerInstanceArn)],
      ["UNTIL", (h) => h.until ?? "no opening ahead"],
    ]),
  ];
}

/** Stable as ECS's services-stable waiter: one deployment left and running equals desired. */
export function stability(s: any): "stable" | "failed" | "progressing" {
  const deployments = (s.deployments ?? []) as any[];
  const primary = deployments.find((d) => d.status === "PRIMARY");
  if (primary?.rolloutState === "FAILED") return "failed";
  if (deployments.length === 1 && primary && primary.runningCount === primary.desiredCount && s.runningCount === s.desiredCount) {
    if (primary.rolloutState === undefined || primary.rolloutState === "COMPLETED") return "stable";
  }
  return "progressing";
}

export const services: Resource = {
  name: "services",
  summary: "Long-running services: create, update (rolling deployments), events, wait until stable.",
  commands: {
    create: {
      summary: "Create a service.",
      args: "<name>",
      options: {
        "task-definition": { type: "string", valueName: "REF", description: "family[:revision] or ARN (required unless in --file)" },
        "desired-count": { type: "string", valueName: "N", description: "tasks to keep running (REPLICA)" },
        "scheduling-strategy": { type: "string", valueName: "REPLICA|DAEMON", description: "default REPLICA" },
        ...deploymentOptions,
        ...addressingOptions,
        file: { type: "string", short: "f", valueName: "FILE.json", description: "CreateService fields (placement, grace periods, ingress, discovery, serviceConnectConfiguration...); flags override" },
      },
      examples: [
        "flotilla services create -c edge web --task-definition web:1 --desired-count 4 --circuit-breaker true --rollback true",
        "flotilla services create -c edge web --task-definition web:1 --desired-count 2 --ingress 8080:80 --dns-alias www",
      ],
      async run(ctx, { positionals, values }) {
        const [name] = expectArgs(positionals, ["name"]);
        const req: Record<string, unknown> = { ...(values.file ? readJsonFile(values.file) : {}), serviceName: name };
        if (values["task-definition"]) req.taskDefinition = values["task-definition"];
        const n = intFlag("desired-count", values["desired-count"], { min: 0 });
        if (n !== undefined) req.desiredCount = n;
        if (values["scheduling-strategy"]) req.schedulingStrategy = values["scheduling-strategy"];
        if (!req.taskDefinition) throw new UsageError("--task-definition is required");
        const body = await ctx.client.call("POST", base(ctx), mergedAddressing(mergedDeployment(req, values), values, false));
        emit(ctx, body, () => [`created service ${body.service.serviceName} (${body.service.status})`, ...addressingLines(body.service).slice(1)].join("\n"));
      },
    },
    update: {
      summary: "Update a service: scale, new task definition (rolling deployment), or force a new deployment.",
      args: "<name>",
      options: {
        "task-definition": { type: "string", valueName: "REF", description: "new task definition" },
        "desired-count": { type: "string", valueName: "N", description: "new desired count" },
        "force-new-deployment": { type: "boolean", description: "redeploy the same task definition" },
        ...deploymentOptions,
        ...addressingOptions,
        "no-ingress": { type: "boolean", description: "remove the service's ingress" },
        "no-discovery-name": { type: "boolean", description: "go back to the DNS name derived from the service's name" },
        "no-dns-aliases": { type: "boolean", description: "remove the service's DNS aliases" },
        file: { type: "string", short: "f", valueName: "FILE.json", description: "UpdateService fields; flags override" },
      },
      async run(ctx, { positionals, values }) {
        const [name] = expectArgs(positionals, ["name"]);
        const req: Record<string, unknown> = values.file ? readJsonFile(values.file) : {};
        if (values["task-definition"]) req.taskDefinition = values["task-definition"];
        const n = intFlag("desired-count", values["desired-count"], { min: 0 });
        if (n !== undefined) req.desiredCount = n;
        if (values["force-new-deployment"]) req.forceNewDeployment = true;
        mergedDeployment(req, values);
        mergedAddressing(req, values, true);
        if (Object.keys(req).length === 0) throw new UsageError("nothing to update: give --desired-count, --task-definition, --force-new-deployment, a deployment flag, --ingress, --discovery-name, --dns-alias or --file");
        const body = await ctx.client.call("PATCH", `${base(ctx)}/${seg(name!)}`, req);
        emit(ctx, body, () => [`updated service ${body.service.serviceName}`, ...(body.service.deployments ?? []).map(deploymentLine), ...addressingLines(body.service).slice(1)].join("\n"));
      },
    },
    list: {
      summary: "List the cluster's services.",
      async run(ctx, { positionals }) {
        expectArgs(positionals, []);
        const body = await ctx.client.call("GET", base(ctx));
        emit(ctx, body, () =>
          table(body.services ?? [], [
            ["NAME", (s) => s.serviceName],
            ["STATUS", (s) => s.status],
            ["STRATEGY", (s) => s.schedulingStrategy],
            ["TASK DEFINITION", (s) => lastSegment(s.taskDefinition)],
            ["DESIRED", (s) => s.desiredCount],
            ["RUNNING", (s) => s.runningCount],
            ["PENDING", (s) => s.pendingCount],
            ["DEPLOYMENTS", (s) => (s.deployments ?? []).length],
          ]),
        );
      },
    },
    describe: {
      summary: "Show a service and its deployments.",
      args: "<name>",
      async run(ctx, { positionals }) {
        const [name] = expectArgs(positionals, ["name"]);
        const body = await ctx.client.call("GET", `${base(ctx)}/${seg(name!)}`);
        emit(ctx, body, () => serviceDetails(body.service));
      },
    },
    delete: {
      summary: "Delete a service (--force scales it to zero first).",
      args: "<name>",
      options: { force: { type: "boolean", description: "scale to zero and delete" } },
      async run(ctx, { positionals, values }) {
        const [name] = expectArgs(positionals, ["name"]);
        let body: any;
        try {
          body = await ctx.client.call("DELETE", `${base(ctx)}/${seg(name!)}${values.force ? "?force=true" : ""}`);
        } catch (e) {
          // The API names its query parameter; say it in this command's terms.
          if (e instanceof ApiError && /scaled above 0/.test(e.message)) {
            throw new CommandFailed(`service ${name} is scaled above 0: scale it to 0 first (flotilla services update ${name} --desired-count 0) or add --force`);
          }
          throw e;
        }
        emit(ctx, body ?? {}, () => `service ${body?.service?.serviceName ?? name} ${body?.service?.status ?? "deleted"}`);
      },
    },
    events: {
      summary: "Show a service's events, newest first.",
      args: "<name>",
      options: { limit: { type: "string", valueName: "N", description: "at most N events (default all)" } },
      async run(ctx, { positionals, values }) {
        const [name] = expectArgs(positionals, ["name"]);
        const limit = intFlag("limit", values.limit, { min: 1 });
        const body = await ctx.client.call("GET", `${base(ctx)}/${seg(name!)}/events`);
        const events = ((body.events ?? []) as any[]).slice(0, limit);
        emit(ctx, { ...body, events }, () => table(events, [["CREATED", (e) => e.createdAt], ["MESSAGE", (e) => e.message]]));
      },
    },
    endpoints: {
      summary: "Show where a service answers: address of every RUNNING, healthy task's port binding.",
      args: "<name>",
      async run(ctx, { positionals }) {
        const [name] = expectArgs(positionals, ["name"]);
        const body = await ctx.client.call("GET", `${base(ctx)}/${seg(name!)}/endpoints`);
        emit(ctx, body, () =>
          table(body.endpoints ?? [], [
            ["ADDRESS", (e) => e.address],
            ["CONTAINER", (e) => e.containerName],
            ["PORT", (e) => `${e.hostPort}->${e.containerPort}/${e.protocol}`],
            ["TASK", (e) => lastSegment(e.taskArn)],
            ["INSTANCE", (e) => lastSegment(e.containerInstanceArn)],
          ]),
        );
      },
    },
    "wait-stable": {
      summary: "Wait until the service is stable (one deployment, running = desired); fails on a FAILED rollout or timeout.",
      args: "<name>",
      options: {
        timeout: { type: "string", valueName: "SECONDS", description: "give up after this long (default 600)" },
        interval: { type: "string", valueName: "MS", description: "poll interval in milliseconds (default 1000)" },
      },
      async run(ctx, { positionals, values }) {
        const [name] = expectArgs(positionals, ["name"]);
        const timeoutMs = (intFlag("timeout", values.timeout, { min: 1 }) ?? 600) * 1000;
        const interval = intFlag("interval", values.interval, { min: 50 }) ?? 1000;
        const deadline = Date.now() + timeoutMs;
        let last = "";
        const progress = (s: any) => {
          const line = `${s.serviceName}: running ${s.runningCount ?? 0}/${s.desiredCount ?? 0} | ${(s.deployments ?? []).map(deploymentLine).join(" | ")}`;
          if (line === last) return;
          last = line;
          // Progress goes to stderr so `--output json` keeps stdout machine-readable.
          if (ctx.tty) ctx.err(`\r\x1b[2K${line}`);
          else ctx.err(`${line}\n`);
        };
        for (;;) {
          const body = await ctx.client.call("GET", `${base(ctx)}/${seg(name!)}`);
          const s = body.service;
          // A deleted (or deleting) service never becomes stable: say so rather than "deployment failed".
          if (s.status === "INACTIVE" || s.status === "DRAINING") {
            if (ctx.tty && last) ctx.err("\n");
            throw new CommandFailed(`service ${s.serviceName} ${s.status === "INACTIVE" ? "has been deleted" : "is being deleted"} (status ${s.status})`);
          }
          progress(s);
          const state = stability(s);
          if (state !== "progressing") {
            if (ctx.tty) ctx.err("\n");
            if (state === "failed") {
              const primary = (s.deployments ?? []).find((d: any) => d.status === "PRIMARY");
              throw new CommandFailed(`service ${s.serviceName} deployment failed${primary?.rolloutStateReason ? `: ${primary.rolloutStateReason}` : ` (status ${s.status}, rollout ${primary?.rolloutState ?? "-"})`}`);
            }
            emit(ctx, body, () => `service ${s.serviceName} is stable: ${s.runningCount}/${s.desiredCount} running`);
            return;
          }
          if (Date.now() + interval > deadline) {
            if (ctx.tty) ctx.err("\n");
            throw new CommandFailed(`timed out after ${timeoutMs / 1000}s waiting for service ${s.serviceName} to become stable (${last})`);
          }
          await Bun.sleep(interval);
        }
      },
    },
  },
};
