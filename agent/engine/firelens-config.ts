import { join } from "node:path";
import { networkModeOf, type ContainerDefinition, type TaskDefinitionSpec } from "../../shared/task-definition/index.ts";

/**
 * FireLens as amazon-ecs-agent builds it (agent/taskresource/firelens, agent/api/task/task.go):
 * the task's log router (the container with `firelensConfiguration`) gets a generated Fluent Bit
 * or Fluentd configuration, and each `awsfirelens` container logs to it through Docker's fluentd
 * driver, its options becoming an output section of that configuration. Pure: paths, config text
 * and the names ECS uses; the agent's task-firelens.ts writes the files.
 */

export const FIRELENS_DRIVER = "awsfirelens";
/** ECS's router inputs: the unix socket (in the router's /var/run/) and, in bridge and awsvpc, TCP forward. */
export const FIRELENS_SOCKET_IN_ROUTER = "/var/run/fluent.sock";
export const FIRELENS_FORWARD_PORT = 24224;
/** Where the config file is mounted in the router, by router type (ECS's bind formats). */
export const FIRELENS_CONFIG_PATHS = { fluentbit: "/fluent-bit/etc/fluent-bit.conf", fluentd: "/fluentd/etc/fluent.conf" } as const;
/** An awsfirelens option that is Docker's (fluentd-buffer-limit), not an output setting. */
export const BUFFER_LIMIT_OPTION = "log-driver-buffer-limit";

export type RouterType = keyof typeof FIRELENS_CONFIG_PATHS;

/** The task's log router, if it has one. */
export function firelensRouter(td: TaskDefinitionSpec): ContainerDefinition | undefined {
  return td.containerDefinitions.find((c) => c.firelensConfiguration !== undefined);
}

export const usesFirelens = (c: ContainerDefinition) => c.logConfiguration?.logDriver === FIRELENS_DRIVER;

/**
 * The definition with ECS's implicit ordering: every awsfirelens container waits for the router to
 * START (unless it already names the router; none is added when the router itself has dependsOn,
 * which could make a cycle). The stop order follows: apps stop first, the router last, so it
 * flushes what they sent.
 */
export function withFirelensDependencies(td: TaskDefinitionSpec): TaskDefinitionSpec {
  const router = firelensRouter(td);
  if (!router || router.dependsOn?.length) return td;
  const needs = (c: ContainerDefinition) => c !== router && usesFirelens(c) && !c.dependsOn?.some((d) => d.containerName === router.name);
  if (!td.containerDefinitions.some(needs)) return td;
  return {
    ...td,
    containerDefinitions: td.containerDefinitions.map((c) =>
      needs(c) ? { ...c, dependsOn: [...(c.dependsOn ?? []), { containerName: router.name, condition: "START" as const }] } : c,
    ),
  };
}

/** The task's FireLens files on the host: `{root}/{taskId}/config/fluent.conf` and `…/socket/fluent.sock`, as ECS lays them out. */
export function firelensPaths(root: string, taskId: string) {
  const dir = join(root, taskId);
  return {
    dir,
    configDir: join(dir, "config"),
    configFile: join(dir, "config", "fluent.conf"),
    socketDir: join(dir, "socket"),
    socketFile: join(dir, "socket", "fluent.sock"),
  };
}

/** Docker's fluentd tag for an app container's lines: `{container}-firelens-{taskId}` (the outputs match on it). */
export const firelensTag = (containerName: string, taskId: string) => `${containerName}-firelens-${taskId}`;

/**
 * The config variable a secretOptions value of an awsfirelens container becomes (ECS: option name
 * and the container's index, since names may hold hyphens). The value goes into the router's
 * environment; the config file only names the variable.
 */
export const firelensConfigVar = (option: string, containerIndex: number) => `${option}_${containerIndex}`;

/** The router's environment for the secretOptions of the task's awsfirelens containers. */
export function firelensSecretEnv(td: TaskDefinitionSpec, logOptions: Record<string, Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  td.containerDefinitions.forEach((c, i) => {
    if (!usesFirelens(c)) return;
    for (const so of c.logConfiguration?.secretOptions ?? []) {
      const v = logOptions[c.name]?.[so.name];
      if (v !== undefined) env[firelensConfigVar(so.name, i)] = v;
    }
  });
  return env;
}

interface Section {
  kind: "input" | "filter" | "output";
  name: string;
  /** fluentbit: Match/Tag; fluentd: the tag of <filter>/<match>. */
  tag?: string;
  options: [string, string][];
  /** fluentd grep: <regexp> or <exclude>. */
  grep?: { key: string; pattern: string; exclude: boolean };
  /** fluentd record_transformer fields. */
  record?: [string, string][];
}

export interface FirelensConfigInput {
  td: TaskDefinitionSpec;
  taskArn: string;
  clusterName: string;
  /** The task definition's revision: ecs_task_definition is `family:revision`. */
  revision: number;
}

/** Why a router config cannot be generated (the task then fails to start, as on ECS). */
export class FirelensConfigError extends Error {}

/**
 * The router's config file, as amazon-ecs-agent generates it: inputs (the unix socket; TCP
 * forward on 24224 in bridge/awsvpc, with Fluent Bit's health-check input), ECS metadata
 * (`ecs_cluster`, `ecs_task_arn`, `ecs_task_definition`) unless enable-ecs-log-metadata is
 * "false", an external file included after the filters (config-file-type file), and one output
 * per awsfirelens container from its options (`Name`/`@type` names the plugin; include-pattern and
 * exclude-pattern become grep filters; secretOptions become config variables).
 */
export function firelensConfig({ td, taskArn, clusterName, revision }: FirelensConfigInput): string {
  const router = firelensRouter(td);
  if (!router) throw new FirelensConfigError("the task has no container with firelensConfiguration");
  const fc = router.firelensConfiguration!;
  const type: RouterType = fc.type;
  const fluentd = type === "fluentd";
  const any = fluentd ? "**" : "*";
  if (fc.options?.["config-file-type"] === "s3") {
    throw new FirelensConfigError('firelensConfiguration config-file-type "s3" needs Amazon S3, which Flotilla does not reach; put the file in the router image or a volume and use config-file-type "file"');
  }
  const mode = networkModeOf(td);
  const sections: Section[] = [];

  sections.push(
    fluentd
      ? { kind: "input", name: "unix", options: [["path", FIRELENS_SOCKET_IN_ROUTER]] }
      : {
          kind: "input",
          name: "forward",
          options: sorted([["unix_path", FIRELENS_SOCKET_IN_ROUTER], ["Mem_Buf_Limit", memBufLimit(router)]]),
        },
  );
  if (mode === "bridge" || mode === "awsvpc") {
    const bind = mode === "bridge" ? "0.0.0.0" : "127.0.0.1";
    const port = String(FIRELENS_FORWARD_PORT);
    sections.push({ kind: "input", name: "forward", options: sorted(fluentd ? [["bind", bind], ["port", port]] : [["Listen", bind], ["Port", port]]) });
    if (!fluentd) sections.push({ kind: "input", name: "tcp", tag: "firelens-healthcheck", options: sorted([["Listen", "127.0.0.1"], ["Port", "8877"]]) });
  }

  const filters: Section[] = [];
  const outputs: Section[] = [];
  if (!fluentd && (mode === "bridge" || mode === "awsvpc")) outputs.push({ kind: "output", name: "null", tag: "firelens-healthcheck", options: [] });
  td.containerDefinitions.forEach((c, i) => {
    if (!usesFirelens(c)) return;
    const tag = `${c.name}-firelens${any}`;
    const outputKey = fluentd ? "@type" : "Name";
    const opts: [string, string][] = [];
    const placeholders = (c.logConfiguration?.secretOptions ?? []).map((so): [string, string] => {
      const v = firelensConfigVar(so.name, i);
      return [so.name, fluentd ? `"#{ENV['${v}']}"` : `\${${v}}`];
    });
    for (const [k, v] of [...Object.entries(c.logConfiguration?.options ?? {}), ...placeholders]) {
      if (k === outputKey || k === BUFFER_LIMIT_OPTION) continue;
      if (k === "include-pattern" || k === "exclude-pattern") {
        const exclude = k === "exclude-pattern";
        filters.push(
          fluentd
            ? { kind: "filter", name: "grep", tag, options: [], grep: { key: "log", pattern: v, exclude } }
            : { kind: "filter", name: "grep", tag, options: [[exclude ? "Exclude" : "Regex", `log ${v}`]] },
        );
      } else opts.push([k, v]);
    }
    const plugin = c.logConfiguration?.options?.[outputKey];
    if (plugin === undefined) {
      if (opts.length) throw new FirelensConfigError(`container "${c.name}": awsfirelens options need "${outputKey}", the ${type} output plugin`);
      return; // the output may come from the external config
    }
    outputs.push({ kind: "output", name: plugin, tag, options: sorted(opts) });
  });

  const metadata = fc.options?.["enable-ecs-log-metadata"] !== "false";
  if (metadata) {
    const record: [string, string][] = [
      ["ecs_cluster", clusterName],
      ["ecs_task_arn", taskArn],
      ["ecs_task_definition", `${td.family}:${revision}`],
    ];
    filters.push(fluentd ? { kind: "filter", name: "record_transformer", tag: any, options: [], record } : { kind: "filter", name: "record_modifier", tag: any, options: record.map(([k, v]) => ["Record", `${k} ${v}`]) });
  }
  const external = fc.options?.["config-file-type"] === "file" ? fc.options["config-file-value"] : undefined;
  return render(fluentd, [...sections, ...filters], external, outputs);
}

/** Half the router's memory limit (ECS: memoryReservation, else memory), 25 MB when it has none. */
function memBufLimit(router: ContainerDefinition): string {
  const limit = Math.floor((router.memoryReservation ?? router.memory ?? 0) / 2);
  return `${limit > 0 ? limit : 25}MB`;
}

/** Go's templates range over a map in key order; so does the generated file. */
const sorted = (kv: [string, string][]) => [...kv].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

function render(fluentd: boolean, head: Section[], external: string | undefined, outputs: Section[]): string {
  const out: string[] = [];
  for (const s of head) out.push(fluentd ? fluentdSection(s) : fluentBitSection(s));
  if (external) out.push(fluentd ? `@include ${external}\n` : `@INCLUDE ${external}\n`);
  for (const s of outputs) out.push(fluentd ? fluentdSection(s) : fluentBitSection(s));
  return out.join("\n");
}

function fluentBitSection(s: Section): string {
  const lines = [`[${s.kind.toUpperCase()}]`, `    Name ${s.name}`];
  if (s.kind === "input" && s.tag) lines.push(`    Tag ${s.tag}`);
  if (s.kind !== "input") lines.push(`    Match ${s.tag}`);
  for (const [k, v] of s.options) lines.push(`    ${k} ${v}`);
  return lines.join("\n") + "\n";
}

function fluentdSection(s: Section): string {
  if (s.kind === "input") {
    const lines = ["<source>", `    @type ${s.name}`, ...(s.tag ? [`    tag ${s.tag}`] : []), ...s.options.map(([k, v]) => `    ${k} ${v}`), "</source>"];
    return lines.join("\n") + "\n";
  }
  if (s.kind === "output") return ["<match " + s.tag + ">", `    @type ${s.name}`, ...s.options.map(([k, v]) => `    ${k} ${v}`), "</match>"].join("\n") + "\n";
  if (s.grep) {
    const el = s.grep.exclude ? "exclude" : "regexp";
    return [`<filter ${s.tag}>`, "    @type  grep", `    <${el}>`, `        key ${s.grep.key}`, `        pattern ${s.grep.pattern}`, `    </${el}>`, "</filter>"].join("\n") + "\n";
  }
  return [`<filter ${s.tag}>`, `    @type ${s.name}`, "    <record>", ...(s.record ?? []).map(([k, v]) => `        ${k} ${v}`), "    </record>", "</filter>"].join("\n") + "\n";
}
