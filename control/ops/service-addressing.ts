import type { z } from "zod";
import type { IngressRule, ingressSchema } from "../../shared/ingress.ts";
import type { ServiceNaming } from "../../shared/service-naming.ts";
import type { TaskDefinitionSpec } from "../../shared/task-definition/index.ts";
import { invalid, OpError } from "./errors.ts";
import { fromServiceConnect, nameFromServiceRegistries, type ServiceConnectInput, type ServiceRegistriesInput } from "./service-connect.ts";
import { namingFromDiscoveryInput, type discoveryInputSchema, type NamingRequest } from "./service-naming.ts";

/**
 * How a service is reached, from whichever members a CreateService/UpdateService request used:
 * Flotilla's `ingress` and `discovery` (REST) or ECS's serviceConnectConfiguration and
 * serviceRegistries (both doors; ops/service-connect.ts). One request names one way for each:
 * ingress or serviceConnectConfiguration; discovery or ECS's naming members.
 */
export interface AddressingInput {
  ingress?: z.output<typeof ingressSchema>;
  discovery?: z.output<typeof discoveryInputSchema>;
  serviceConnectConfiguration?: ServiceConnectInput;
  serviceRegistries?: ServiceRegistriesInput;
}

/** What the request changes; an absent part is left as it is (UpdateService) or none (CreateService). */
export interface Addressing {
  ingress?: IngressRule[];
  /** For ingress taken from serviceConnectConfiguration: the request path of each rule's members. */
  ingressPaths?: { listenPort: string; containerPort: string }[];
  naming?: NamingRequest;
}

export function resolveAddressing(req: AddressingInput, td: TaskDefinitionSpec, cluster: string, serviceName: string, current: ServiceNaming | null): Addressing {
  const sc = req.serviceConnectConfiguration;
  const sr = req.serviceRegistries;
  if (req.ingress !== undefined && sc !== undefined) {
    throw invalid("serviceConnectConfiguration: give either ingress or serviceConnectConfiguration, not both", [{ path: "serviceConnectConfiguration", message: "give either ingress or serviceConnectConfiguration, not both" }]);
  }
  if (req.discovery !== undefined && (sc !== undefined || sr !== undefined)) {
    const path = sc !== undefined ? "serviceConnectConfiguration" : "serviceRegistries";
    throw invalid(`${path}: give either discovery or ECS's ${path}, not both`, [{ path, message: "give either discovery or ECS's naming members, not both" }]);
  }
  const out: Addressing = {};
  if (req.ingress !== undefined) out.ingress = req.ingress;
  if (req.discovery !== undefined) out.naming = namingFromDiscoveryInput(req.discovery, cluster, current);
  if (sc === undefined && sr === undefined) return out;
  const fromSc = sc ? fromServiceConnect(sc, td, cluster, serviceName) : undefined;
  const fromSr = sr ? nameFromServiceRegistries(sr, td, cluster) : undefined;
  if (fromSc) {
    out.ingress = fromSc.ingress;
    out.ingressPaths = fromSc.ingressPaths;
  }
  const scName = fromSc?.naming.naming.name;
  if (fromSr?.name && scName && fromSr.name !== scName) {
    throw invalid(`serviceRegistries[0].registryArn: names "${fromSr.name}", serviceConnectConfiguration's discoveryName "${scName}": a service has one discovery name`, [
      { path: "serviceRegistries[0].registryArn", message: `differs from serviceConnectConfiguration's discoveryName "${scName}"` },
    ]);
  }
  // serviceRegistries sets (or with [] clears) the name; serviceConnectConfiguration replaces the
  // aliases (as ECS replaces its whole configuration) and sets the name when it gives a
  // discoveryName, never clears it: the name is the service's, with or without ingress.
  const name = fromSr ? (fromSr.name ?? scName) : (scName ?? current?.name);
  const namePath = fromSr?.path ?? fromSc?.naming.namePath;
  const aliases = fromSc ? fromSc.naming.naming.aliases : current?.aliases;
  const naming: ServiceNaming = { ...(name ? { name } : {}), ...(aliases?.length ? { aliases } : {}) };
  out.naming = { naming, ...(namePath ? { namePath } : {}), aliasPaths: fromSc ? fromSc.naming.aliasPaths : [] };
  return out;
}

/** The naming to store: null when it names nothing. */
export function storedNaming(n: ServiceNaming): ServiceNaming | null {
  return n.name || n.aliases?.length ? n : null;
}

/**
 * Runs the ingress checks (ops/ingress.ts, which name `ingress[k].listenPort`) and, for ingress
 * given as serviceConnectConfiguration, names the member the caller sent instead
 * (`serviceConnectConfiguration.services[0].clientAliases[1].port`).
 */
export async function withRequestPaths(addressing: Addressing, check: () => Promise<void>): Promise<void> {
  const paths = addressing.ingressPaths;
  if (!paths) return check();
  try {
    await check();
  } catch (e) {
    if (!(e instanceof OpError) || !e.fields.length) throw e;
    const rename = (p: string) => {
      const m = /^ingress\[(\d+)\]\.(listenPort|containerPort)$/.exec(p);
      const to = m ? paths[Number(m[1])]?.[m[2] as "listenPort" | "containerPort"] : undefined;
      return to ?? p;
    };
    const fields = e.fields.map((f) => ({ ...f, path: rename(f.path) }));
    throw new OpError(e.kind, e.code, fields.map((f) => `${f.path}: ${f.message}`).join("; "), fields);
  }
}
