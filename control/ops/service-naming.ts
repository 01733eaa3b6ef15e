import { and, eq, ne } from "drizzle-orm";
import { z } from "zod";
import { DISCOVERY_DOMAIN, discoveryLabel, isDnsLabel } from "../../shared/discovery.ts";
import { MAX_ALIASES, type ServiceNaming } from "../../shared/service-naming.ts";
import type { FieldIssue } from "../../shared/task-definition/index.ts";
import type { ServiceRow } from "../db/rows.ts";
import { services } from "../db/schema.ts";
import type { OpsContext } from "./context.ts";
import { invalid } from "./errors.ts";

/**
 * A service's DNS names (docs/discovery.md): the one it is served under (chosen, or derived from
 * its name) and its aliases, all under its cluster's zone `CLUSTER.flotilla`. The checks of a
 * chosen name live here, whichever door it came through (REST's `discovery`, ECS's
 * serviceRegistries and serviceConnectConfiguration, ops/service-connect.ts).
 */

/**
 * REST's `discovery` member of CreateService/UpdateService: `{name, aliases}`. On UpdateService a
 * member left out stays as it is; `name: null` goes back to the derived name, `aliases: []`
 * removes them, `discovery: null` both.
 */
export const discoveryInputSchema = z
  .strictObject({
    name: z.string().min(1).nullable().optional(),
    aliases: z.array(z.string().min(1)).max(MAX_ALIASES, `at most ${MAX_ALIASES}`).optional(),
  })
  .nullable();

/** A naming asked for, with the request path each name came from (for errors naming the field). */
export interface NamingRequest {
  naming: ServiceNaming;
  namePath?: string;
  aliasPaths: string[];
}

/**
 * A name as given (`api`, `API`, `api.prod.flotilla`) as the label it is served under, or an issue
 * at `path`. Only names in the cluster's own zone can be answered: every host serves its cluster's.
 */
export function labelOf(value: string, path: string, clusterLabel: string | undefined, issues: FieldIssue[]): string | undefined {
  const lower = value.toLowerCase().replace(/\.$/, "");
  const suffix = clusterLabel ? `.${clusterLabel}.${DISCOVERY_DOMAIN}` : undefined;
  const label = suffix && lower.endsWith(suffix) ? lower.slice(0, -suffix.length) : lower;
  if (isDnsLabel(label)) return label;
  const zone = clusterLabel ? ` or NAME.${clusterLabel}.${DISCOVERY_DOMAIN}` : "";
  issues.push({ path, message: `"${value}" is no DNS label (letters, digits and inner hyphens, 63 at most)${zone}` });
  return undefined;
}

/** REST's `discovery` over the current naming (labels checked; issues thrown naming `discovery.…`). */
export function namingFromDiscoveryInput(input: z.output<typeof discoveryInputSchema>, cluster: string, current: ServiceNaming | null): NamingRequest {
  const issues: FieldIssue[] = [];
  const clusterLabel = discoveryLabel(cluster);
  const aliasPaths: string[] = [];
  let name = input === null ? undefined : current?.name;
  if (typeof input?.name === "string") name = labelOf(input.name, "discovery.name", clusterLabel, issues);
  else if (input?.name === null) name = undefined;
  let aliases = input === null ? undefined : current?.aliases;
  if (input?.aliases) {
    aliases = [];
    input.aliases.forEach((a, i) => {
      const l = labelOf(a, `discovery.aliases[${i}]`, clusterLabel, issues);
      if (l && aliases!.some((x) => x.name === l)) issues.push({ path: `discovery.aliases[${i}]`, message: `"${l}" is given twice` });
      else if (l) {
        aliases!.push({ name: l });
        aliasPaths.push(`discovery.aliases[${i}]`);
      }
    });
  }
  throwIssues(issues);
  const naming: ServiceNaming = { ...(name ? { name } : {}), ...(aliases?.length ? { aliases } : {}) };
  return { naming, ...(typeof input?.name === "string" ? { namePath: "discovery.name" } : {}), aliasPaths: input?.aliases ? aliasPaths : [] };
}

export function throwIssues(issues: FieldIssue[]): void {
  if (issues.length) throw invalid(issues.map((f) => `${f.path}: ${f.message}`).join("; "), issues);
}

/** The label a service is served under: its chosen name, else the label of its service name. */
export function servedLabel(row: Pick<ServiceRow, "serviceName" | "discovery">): string | undefined {
  return row.discovery?.name ?? discoveryLabel(row.serviceName);
}

/**
 * Refuses a chosen name or alias that is already a name of another service of the cluster (its
 * chosen or derived name, or an alias), or given twice, or a chosen name whose cluster has no DNS
 * label (then nothing of it is answered). Called inside the writers' queue before anything is
 * written, as the ingress checks are. A derived name is never refused (ECS accepts every service
 * name; two derived names with one label go to the older service).
 */
export async function checkNaming(ctx: OpsContext, cluster: string, serviceName: string, req: NamingRequest): Promise<void> {
  const { naming } = req;
  if (!naming.name && !naming.aliases?.length) return;
  const issues: FieldIssue[] = [];
  if (!discoveryLabel(cluster)) {
    issues.push({ path: req.namePath ?? req.aliasPaths[0] ?? "discovery", message: `cluster "${cluster}" has no DNS label, so no name of its services can be answered` });
  }
  const taken = new Map<string, string>();
  const others = await ctx.db
    .select({ serviceName: services.serviceName, discovery: services.discovery })
    .from(services)
    .where(and(eq(services.clusterName, cluster), ne(services.serviceName, serviceName), ne(services.status, "INACTIVE")))
    .all();
  for (const o of others) {
    const served = servedLabel(o);
    if (served) taken.set(served, o.serviceName);
    for (const a of o.discovery?.aliases ?? []) taken.set(a.name, o.serviceName);
  }
  const own = naming.name ?? discoveryLabel(serviceName);
  const seen = new Set<string>(own ? [own] : []);
  const check = (label: string, path: string, isName: boolean) => {
    const owner = taken.get(label);
    if (owner) issues.push({ path, message: `"${label}" is already a DNS name of service "${owner}" in this cluster` });
    else if (!isName && seen.has(label)) issues.push({ path, message: `"${label}" is given twice (or is the service's own name)` });
    seen.add(label);
  };
  if (naming.name) check(naming.name, req.namePath ?? "discovery.name", true);
  // Service Connect repeats one alias per clientAlias port: the same alias on two ports is one name.
  const aliasSeen = new Set<string>();
  naming.aliases?.forEach((a, i) => {
    if (aliasSeen.has(a.name)) return;
    aliasSeen.add(a.name);
    check(a.name, req.aliasPaths[i] ?? `discovery.aliases[${i}]`, false);
  });
  throwIssues(issues);
}

/** Every DNS name a service answers under (DescribeServices; docs/discovery.md). */
export interface ServiceDnsNames {
  /** The cluster's zone, `CLUSTER.flotilla`. */
  zone: string;
  /** `NAME.CLUSTER.flotilla` (A and SRV). */
  dnsName: string;
  /** Whether the name was chosen (REST `discovery.name`, serviceRegistries, Service Connect's discoveryName). */
  chosen: boolean;
  /** `ALIAS.CLUSTER.flotilla`, each answering as dnsName does. */
  aliases: string[];
  /** `_PORTNAME._tcp.NAME.CLUSTER.flotilla` for every named port mapping of the task definition. */
  srvNames: string[];
}

/**
 * The names a service is served under, or undefined when it has none (its name, or its cluster's,
 * is no DNS label and it chose none). Whether another, older service holds the same derived name
 * is not looked at here: GET …/discovery shows what the hosts answer.
 */
export function serviceDnsNames(row: Pick<ServiceRow, "serviceName" | "clusterName" | "discovery">, portNames: { name: string; protocol: "tcp" | "udp" }[]): ServiceDnsNames | undefined {
  const clusterLabel = discoveryLabel(row.clusterName);
  const label = servedLabel(row);
  if (!clusterLabel || !label) return undefined;
  const zone = `${clusterLabel}.${DISCOVERY_DOMAIN}`;
  const dnsName = `${label}.${zone}`;
  return {
    zone,
    dnsName,
    chosen: row.discovery?.name !== undefined,
    aliases: [...new Set((row.discovery?.aliases ?? []).map((a) => `${a.name}.${zone}`))],
    srvNames: [...new Set(portNames.map((p) => `_${p.name}._${p.protocol}.${dnsName}`))],
  };
}
