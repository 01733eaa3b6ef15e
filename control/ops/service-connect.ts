import { z } from "zod";
import { discoveryLabel } from "../../shared/discovery.ts";
import type { IngressRule } from "../../shared/ingress.ts";
import { MAX_ALIASES, type ServiceNaming } from "../../shared/service-naming.ts";
import type { FieldIssue, TaskDefinitionSpec } from "../../shared/task-definition/index.ts";
import type { ServiceRow } from "../db/rows.ts";
import { OpError } from "./errors.ts";
import { labelOf, serviceDnsNames, throwIssues, type NamingRequest } from "./service-naming.ts";

/**
 * ECS's own shapes for what Flotilla calls ingress and discovery names (docs/ingress.md, "Through
 * ECS's shapes"): the aws CLI and the SDKs cannot send Flotilla's `ingress` member (the CLI
 * validates against its model, the SDKs drop what the model lacks), so CreateService and
 * UpdateService take ECS's
 *
 *   serviceConnectConfiguration {enabled, namespace, services: [{portName, discoveryName,
 *     clientAliases: [{port, dnsName}]}]}   — Service Connect: a port every host of the namespace
 *     proxies to the service. A clientAlias `port` is an ingress listenPort for the container port
 *     of the task definition's portMappings[].name = portName; `discoveryName` the service's DNS
 *     name; each `dnsName` an alias.
 *   serviceRegistries [{registryArn}]      — Cloud Map naming: the ARN's `service/NAME` is the name.
 *
 * and turns them into the same stored fields as REST's `ingress` and `discovery` (checked by the
 * same functions, ops/ingress.ts and ops/service-naming.ts). DescribeServices shows them back
 * (`serviceConnectView`).
 */

const PORT = z.number().int().min(1).max(65535);

const clientAliasSchema = z.strictObject({
  port: PORT,
  dnsName: z.string().min(1).max(127).optional(),
  testTrafficRules: z.unknown().optional(),
});

const serviceConnectServiceSchema = z.strictObject({
  portName: z.string().min(1),
  discoveryName: z.string().min(1).max(64).optional(),
  clientAliases: z.array(clientAliasSchema).max(16).optional(),
  ingressPortOverride: z.unknown().optional(),
  timeout: z.unknown().optional(),
  tls: z.unknown().optional(),
});

export const serviceConnectSchema = z.strictObject({
  enabled: z.boolean(),
  namespace: z.string().min(1).optional(),
  services: z.array(serviceConnectServiceSchema).max(16).optional(),
  logConfiguration: z.unknown().optional(),
  accessLogConfiguration: z.unknown().optional(),
});
export type ServiceConnectInput = z.output<typeof serviceConnectSchema>;

export const serviceRegistriesSchema = z
  .array(
    z.strictObject({
      registryArn: z.string().min(1),
      port: PORT.optional(),
      containerName: z.string().min(1).optional(),
      containerPort: PORT.optional(),
    }),
  )
  .max(1, "at most 1 (ECS: one service registry per service)");
export type ServiceRegistriesInput = z.output<typeof serviceRegistriesSchema>;

/** What ECS's shapes ask for, as the stored fields: the ingress and the naming. */
export interface ServiceConnectRequest {
  ingress: IngressRule[];
  /** Where each ingress rule came from: `serviceConnectConfiguration.services[i].clientAliases[j]` and its portName. */
  ingressPaths: { listenPort: string; containerPort: string }[];
  naming: NamingRequest;
}

const SC = "serviceConnectConfiguration";
const notSupported = "not supported by Flotilla";

/** The ports of a task definition by portMappings[].name. */
function namedPorts(td: TaskDefinitionSpec) {
  return new Map(td.containerDefinitions.flatMap((c) => (c.portMappings ?? []).filter((pm) => pm.name).map((pm) => [pm.name!, { containerPort: pm.containerPort, protocol: pm.protocol ?? "tcp" }] as const)));
}

/**
 * serviceConnectConfiguration as ingress and naming. `enabled: false` (with no services) asks for
 * none: the ingress and aliases go. The namespace, when given, must be the cluster's zone
 * (`CLUSTER.flotilla`) or the cluster's name: there is no Cloud Map, each cluster is one zone
 * (NamespaceNotFoundException otherwise, as ECS for a namespace it does not know).
 */
export function fromServiceConnect(sc: ServiceConnectInput, td: TaskDefinitionSpec, cluster: string, serviceName: string): ServiceConnectRequest {
  const issues: FieldIssue[] = [];
  const clusterLabel = discoveryLabel(cluster);
  for (const k of ["logConfiguration", "accessLogConfiguration"] as const) if (sc[k] != null) issues.push({ path: `${SC}.${k}`, message: notSupported });
  if (sc.namespace !== undefined) {
    const ns = sc.namespace.toLowerCase().replace(/\.$/, "");
    if (!clusterLabel || (ns !== `${clusterLabel}.flotilla` && ns !== cluster.toLowerCase() && ns !== clusterLabel)) {
      const zone = clusterLabel ? `${clusterLabel}.flotilla` : "none: the cluster's name is no DNS label";
      throw new OpError("invalid", "NamespaceNotFoundException", `${SC}.namespace: "${sc.namespace}" is not this cluster's namespace (${zone})`, [{ path: `${SC}.namespace`, message: `not this cluster's namespace (${zone})` }]);
    }
  }
  const services = sc.services ?? [];
  if (!sc.enabled && services.length) issues.push({ path: `${SC}.services`, message: "must be empty when enabled is false" });
  const ports = namedPorts(td);
  const ingress: IngressRule[] = [];
  const ingressPaths: ServiceConnectRequest["ingressPaths"] = [];
  const naming: ServiceNaming = {};
  const aliasPaths: string[] = [];
  let namePath: string | undefined;
  const ownLabel = discoveryLabel(serviceName);
  services.forEach((s, i) => {
    const at = `${SC}.services[${i}]`;
    for (const k of ["ingressPortOverride", "timeout", "tls"] as const) if (s[k] != null) issues.push({ path: `${at}.${k}`, message: notSupported });
    const port = ports.get(s.portName);
    if (!port) issues.push({ path: `${at}.portName`, message: `"${s.portName}" is no portMappings[].name of the task definition` });
    else if (port.protocol !== "tcp") issues.push({ path: `${at}.portName`, message: `"${s.portName}" is a UDP port mapping; Service Connect ports are TCP` });
    if (s.discoveryName !== undefined) {
      // One DNS name per Flotilla service (the hosts answer NAME.CLUSTER.flotilla for all its
      // tasks), where ECS creates a Cloud Map service per port: every port must give the same one.
      const l = labelOf(s.discoveryName, `${at}.discoveryName`, clusterLabel, issues);
      if (l && naming.name !== undefined && l !== naming.name) issues.push({ path: `${at}.discoveryName`, message: `"${l}" differs from services[0]'s "${naming.name}": a Flotilla service has one discovery name` });
      else if (l && l !== ownLabel) {
        naming.name ??= l;
        namePath ??= `${at}.discoveryName`;
      }
    }
    (s.clientAliases ?? []).forEach((a, j) => {
      const ap = `${at}.clientAliases[${j}]`;
      if (a.testTrafficRules != null) issues.push({ path: `${ap}.testTrafficRules`, message: notSupported });
      if (port) {
        ingress.push({ containerPort: port.containerPort, listenPort: a.port, protocol: "tcp" });
        ingressPaths.push({ listenPort: `${ap}.port`, containerPort: `${at}.portName` });
      }
      if (a.dnsName !== undefined) {
        const l = labelOf(a.dnsName, `${ap}.dnsName`, clusterLabel, issues);
        if (l) {
          (naming.aliases ??= []).push({ name: l, port: a.port });
          aliasPaths.push(`${ap}.dnsName`);
        }
      }
    });
  });
  if (new Set(naming.aliases?.map((a) => a.name)).size > MAX_ALIASES) issues.push({ path: `${SC}.services`, message: `at most ${MAX_ALIASES} distinct dnsName aliases` });
  throwIssues(issues);
  // An alias equal to the service's own name (ECS's default dnsName is discoveryName) is that name, not an alias.
  const own = naming.name ?? ownLabel;
  const kept = (naming.aliases ?? []).map((a, i) => ({ a, path: aliasPaths[i]! })).filter((x) => x.a.name !== own);
  return {
    ingress,
    ingressPaths,
    naming: { naming: { ...(naming.name ? { name: naming.name } : {}), ...(kept.length ? { aliases: kept.map((x) => x.a) } : {}) }, ...(namePath ? { namePath } : {}), aliasPaths: kept.map((x) => x.path) },
  };
}

const REGISTRY_ARN = /^arn:[a-z0-9-]+:servicediscovery:[a-z0-9-]*:[0-9]*:service\/([^/]+)$/;

/**
 * serviceRegistries as the service's discovery name: Flotilla has no Cloud Map, so a registry
 * ARN `arn:aws:servicediscovery:REGION:ACCOUNT:service/NAME` names the DNS name itself (NAME a
 * DNS label). `containerName`/`containerPort` must be a port mapping of the definition (the SRV
 * records come from portMappings, so they select nothing more); `[]` clears a chosen name.
 */
export function nameFromServiceRegistries(regs: ServiceRegistriesInput, td: TaskDefinitionSpec, cluster: string): { name?: string; path?: string } {
  const issues: FieldIssue[] = [];
  const r = regs[0];
  if (!r) return {};
  const m = REGISTRY_ARN.exec(r.registryArn);
  let name: string | undefined;
  if (!m) issues.push({ path: "serviceRegistries[0].registryArn", message: "expected arn:aws:servicediscovery:REGION:ACCOUNT:service/NAME, NAME being the DNS label to serve the service under" });
  else name = labelOf(m[1]!, "serviceRegistries[0].registryArn", discoveryLabel(cluster), issues);
  if (r.containerName !== undefined || r.containerPort !== undefined) {
    const c = r.containerName === undefined ? undefined : td.containerDefinitions.find((d) => d.name === r.containerName);
    if (r.containerName !== undefined && !c) issues.push({ path: "serviceRegistries[0].containerName", message: `"${r.containerName}" is no container of the task definition` });
    const mapped = (c ? [c] : td.containerDefinitions).some((d) => (d.portMappings ?? []).some((pm) => pm.containerPort === r.containerPort));
    if (r.containerPort !== undefined && !mapped) issues.push({ path: "serviceRegistries[0].containerPort", message: `${r.containerPort} is no portMappings containerPort of ${c ? `container "${c.name}"` : "the task definition"}` });
  }
  throwIssues(issues);
  return name ? { name, path: "serviceRegistries[0].registryArn" } : {};
}

/** The registry ARN DescribeServices shows for a chosen name (what serviceRegistries would give). */
export const registryArnOf = (name: string) => `arn:flotilla:servicediscovery:local:000000000000:service/${name}`;

/**
 * The service's ingress and names in ECS's shapes, for DescribeServices: `serviceRegistries`
 * (a chosen name), and per deployment `serviceConnectConfiguration` (one entry per ingress
 * container port, its clientAliases the listen ports with the alias given with each) and
 * `serviceConnectResources` ({discoveryName, discoveryArn}). Undefined parts are left out.
 */
export function serviceConnectView(row: Pick<ServiceRow, "serviceName" | "clusterName" | "discovery" | "ingress">, td: TaskDefinitionSpec | undefined) {
  const mappings = td?.containerDefinitions.flatMap((c) => c.portMappings ?? []) ?? [];
  const names = serviceDnsNames(row, mappings.filter((m) => m.name).map((m) => ({ name: m.name!, protocol: m.protocol ?? "tcp" })));
  const serviceRegistries = row.discovery?.name ? [{ registryArn: registryArnOf(row.discovery.name) }] : [];
  if (!names) return { names, serviceRegistries };
  const label = names.dnsName.slice(0, -names.zone.length - 1);
  const byPort = new Map<number, IngressRule[]>();
  for (const r of row.ingress ?? []) byPort.set(r.containerPort, [...(byPort.get(r.containerPort) ?? []), r]);
  const portAliases = row.discovery?.aliases ?? [];
  const services = [...byPort].map(([containerPort, rules]) => {
    const portName = mappings.find((m) => m.containerPort === containerPort && (m.protocol ?? "tcp") === "tcp")?.name;
    return {
      ...(portName ? { portName } : {}),
      discoveryName: label,
      clientAliases: rules.map((r) => {
        const alias = portAliases.find((a) => a.port === r.listenPort);
        return { port: r.listenPort, dnsName: alias ? `${alias.name}.${names.zone}` : names.dnsName };
      }),
    };
  });
  const serviceConnectConfiguration = services.length || portAliases.length ? { enabled: true, namespace: names.zone, services } : undefined;
  const serviceConnectResources = serviceConnectConfiguration ? [{ discoveryName: label, discoveryArn: registryArnOf(label) }] : undefined;
  return { names, serviceRegistries, serviceConnectConfiguration, serviceConnectResources };
}
