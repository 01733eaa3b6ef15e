import { z } from "zod";
import { discoveryIngressRuleSchema } from "./ingress.ts";

/**
 * Service discovery data (control → agent, retained on `flotilla/i/{id}/discovery`): every
 * discoverable service of the instance's cluster with the tasks that may receive traffic. A set
 * with a generation not newer than the one the agent holds is dropped, like a desired set.
 */
export const DISCOVERY_DOMAIN = "flotilla";

/**
 * The instance attribute that names a host's site for the ingress proxy's preference (local, then
 * same site, then others; docs/ingress.md): ECS's own `ecs.availability-zone`, the attribute ECS
 * users already spread tasks over (`spread` on `attribute:ecs.availability-zone`); on EXTERNAL
 * hosts it is set like any attribute (`--attribute ecs.availability-zone=dc1-rack2`).
 */
export const SITE_ATTRIBUTE = "ecs.availability-zone";

const portSchema = z.object({
  /** portMappings[].name of the task definition, when it has one (the SRV record's _name). */
  name: z.string().optional(),
  containerPort: z.number().int().min(1).max(65535),
  /** The port other hosts connect to (the bound host port; = containerPort in host/awsvpc modes). */
  hostPort: z.number().int().min(1).max(65535),
  protocol: z.enum(["tcp", "udp"]),
});

export const discoveryTaskSchema = z.object({
  taskId: z.string(),
  /** The instance the task runs on: its own agent checks the task against what it sees locally. */
  instanceId: z.string(),
  /** The host's address other hosts reach (the same address as the /endpoints API gives). */
  address: z.string(),
  /** awsvpc: the task's own address, routable from its own host only. */
  taskAddress: z.string().optional(),
  /** The host's site (its SITE_ATTRIBUTE), when it has one: ingress prefers targets of its own site. */
  site: z.string().optional(),
  ports: z.array(portSchema),
});
export type DiscoveryTask = z.infer<typeof discoveryTaskSchema>;

export const discoveryServiceSchema = z.object({
  /** The DNS label the service is served under (its chosen name, else discoveryLabel of its name). */
  name: z.string(),
  /** More labels answering as `name` does (docs/discovery.md, Chosen names); an older agent ignores them. */
  aliases: z.array(z.string()).optional(),
  tasks: z.array(discoveryTaskSchema),
  /** The service's ingress (docs/ingress.md): the hosts' proxies forward listenPort to these tasks. */
  ingress: z.array(discoveryIngressRuleSchema).max(16).optional(),
});
export type DiscoveryService = z.infer<typeof discoveryServiceSchema>;

export const discoverySetSchema = z.object({
  clusterName: z.string(),
  /** The cluster's DNS label: names are SERVICE.{clusterLabel}.flotilla. */
  clusterLabel: z.string(),
  generation: z.number().int().nonnegative(),
  services: z.array(discoveryServiceSchema),
});
export type DiscoverySet = z.infer<typeof discoverySetSchema>;

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Whether s is a valid DNS label (RFC 1123: letters, digits, inner hyphens, 63 at most), lowercase. */
export function isDnsLabel(s: string): boolean {
  return LABEL.test(s);
}

/**
 * The DNS label of a service or cluster name: lowercased, underscores as hyphens (ECS allows
 * `[A-Za-z0-9_-]{1,255}`; DNS only letters, digits and inner hyphens). A name that still is no
 * label (longer than 63, a leading or trailing hyphen or underscore) has none: it is not served.
 */
export function discoveryLabel(name: string): string | undefined {
  const label = name.toLowerCase().replaceAll("_", "-");
  return isDnsLabel(label) ? label : undefined;
}
