import { z } from "zod";
import { arn, nameOrArnOf } from "../../../shared/arn.ts";
import type { ServiceRow } from "../../db/rows.ts";
import type { OpsContext } from "../../ops/context.ts";
import { invalid, OpError } from "../../ops/errors.ts";
import { requireCluster } from "../../ops/clusters.ts";
import { createService, deleteService, listServices, requireService, serviceDetails, updateService } from "../../ops/services.ts";
import { tagsOf } from "../../ops/tags.ts";
import { parseInput } from "../../ops/validate.ts";
import { serviceView } from "../../views/services.ts";
import type { AwsJsonActions } from "../action.ts";
import { paginate } from "../pagination.ts";
import { clusterOf, includeOf, namesOf, pick, withoutUnsupported } from "./fields.ts";

/**
 * CreateService, UpdateService, DescribeServices, ListServices, DeleteService over ops/services.ts.
 * The service shape is the REST view's (views/services.ts, ECS's Service with deployments[],
 * events[], running/pending counts), which `aws ecs wait services-stable` reads as it reads ECS's.
 */

/** ECS members with no Flotilla counterpart, and the values of them that ask for nothing. */
const UNSUPPORTED_ON_CREATE: Record<string, unknown[]> = {
  loadBalancers: [],
  capacityProviderStrategy: [],
  platformVersion: [],
  role: [],
  networkConfiguration: [],
  volumeConfigurations: [],
  vpcLatticeConfigurations: [],
  monitoring: [],
  enableExecuteCommand: [],
  enableECSManagedTags: [],
  availabilityZoneRebalancing: ["DISABLED"],
  propagateTags: ["NONE"],
  deploymentController: [{ type: "ECS" }],
};
const { role: _role, ...UNSUPPORTED_ON_UPDATE } = UNSUPPORTED_ON_CREATE;

/** ECS's deploymentConfiguration members Flotilla has no rule for, when they ask for nothing. */
function deploymentConfigurationOf(value: unknown): unknown {
  if (value == null || typeof value !== "object" || Array.isArray(value)) return value;
  const { strategy, alarms, ...rest } = value as Record<string, unknown>;
  const refused: string[] = [];
  if (strategy !== undefined && strategy !== "ROLLING") refused.push("deploymentConfiguration.strategy");
  if (alarms !== undefined && (alarms as { enable?: unknown } | null)?.enable !== false) refused.push("deploymentConfiguration.alarms");
  if (refused.length) throw invalid(refused.map((p) => `${p}: not supported by Flotilla`).join("; "), refused.map((path) => ({ path, message: "not supported by Flotilla" })));
  return rest;
}

const CREATE_MEMBERS = [
  "serviceName",
  "taskDefinition",
  "desiredCount",
  "schedulingStrategy",
  "launchType",
  "deploymentConfiguration",
  "placementConstraints",
  "placementStrategy",
  "healthCheckGracePeriodSeconds",
  "disconnectGracePeriodSeconds",
  "tags",
  // ECS's shapes for ingress and DNS names (ops/service-connect.ts; docs/ingress.md).
  "serviceConnectConfiguration",
  "serviceRegistries",
] as const;

const UPDATE_MEMBERS = [
  "desiredCount",
  "taskDefinition",
  "forceNewDeployment",
  "deploymentConfiguration",
  "placementConstraints",
  "placementStrategy",
  "healthCheckGracePeriodSeconds",
  "disconnectGracePeriodSeconds",
  "serviceConnectConfiguration",
  "serviceRegistries",
] as const;

/**
 * ECS's own members of each request, taken off before the operation sees the rest. `clientToken`
 * is accepted and not stored: a repeated CreateService is refused as "not idempotent" as any
 * second create of an ACTIVE service is.
 */
const CREATE_OWN = ["cluster", "clientToken"];
const UPDATE_OWN = ["cluster", "service"];

function opInput(input: Record<string, unknown>, own: string[], members: readonly string[], unsupported: Record<string, unknown[]>) {
  const rest = withoutUnsupported(Object.fromEntries(Object.entries(input).filter(([k]) => !own.includes(k))), unsupported);
  const known = pick(rest, members);
  const unknown = Object.keys(rest).filter((k) => !members.includes(k));
  if (unknown.length) throw invalid(unknown.map((k) => `${k}: unknown member`).join("; "), unknown.map((path) => ({ path, message: "unknown member" })));
  if (known.deploymentConfiguration !== undefined) known.deploymentConfiguration = deploymentConfigurationOf(known.deploymentConfiguration);
  return known;
}

async function render(ctx: OpsContext, row: ServiceRow, withTags: boolean) {
  const view = serviceView(await serviceDetails(ctx, row));
  return withTags ? { ...view, tags: (await tagsOf(ctx, [row.arn])).get(row.arn) ?? [] } : view;
}

const serviceRef = z.object({ service: z.string().min(1) });
const deleteInput = z.object({ service: z.string().min(1), force: z.boolean().optional() });
const listInput = z.object({
  launchType: z.enum(["EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"]).optional(),
  schedulingStrategy: z.enum(["REPLICA", "DAEMON"]).optional(),
  resourceManagementType: z.enum(["CUSTOMER", "ECS"]).optional(),
});

export const serviceActions: AwsJsonActions = {
  CreateService: {
    access: "write",
    async handle({ ctx, input }) {
      const body = opInput(input, CREATE_OWN, CREATE_MEMBERS, UNSUPPORTED_ON_CREATE);
      const row = await createService(ctx, clusterOf(input), body);
      return { service: await render(ctx, row, Array.isArray(body.tags) && body.tags.length > 0) };
    },
  },

  UpdateService: {
    access: "write",
    async handle({ ctx, input }) {
      const { service } = parseInput(serviceRef, input);
      const row = await updateService(ctx, clusterOf(input), service, opInput(input, UPDATE_OWN, UPDATE_MEMBERS, UNSUPPORTED_ON_UPDATE));
      return { service: await render(ctx, row, false) };
    },
  },

  DescribeServices: {
    access: "read",
    async handle({ ctx, input }) {
      const cluster = await requireCluster(ctx, clusterOf(input));
      const refs = namesOf(input, "services", 10);
      const withTags = includeOf(input, ["TAGS"]).has("TAGS");
      const found: ServiceRow[] = [];
      const failures: { arn: string; reason: string }[] = [];
      for (const [i, ref] of refs.entries()) {
        const r = nameOrArnOf("service", ref);
        if (!r.ok) throw invalid(`services[${i}]: ${r.message}`, [{ path: `services[${i}]`, message: r.message }]);
        // requireService finds no service through another cluster's ARN.
        const row = await requireService(ctx, cluster.name, ref).catch(missingService);
        if (row) found.push(row);
        else failures.push({ arn: ref.startsWith("arn:") ? ref : arn.service(cluster.name, r.name), reason: "MISSING" });
      }
      const tags = withTags ? await tagsOf(ctx, found.map((s) => s.arn)) : undefined;
      const services = [];
      for (const row of found) {
        const view = serviceView(await serviceDetails(ctx, row));
        services.push(tags ? { ...view, tags: tags.get(row.arn) ?? [] } : view);
      }
      return { services, failures };
    },
  },

  ListServices: {
    access: "read",
    async handle({ ctx, input }) {
      const q = parseInput(listInput, pick(input, ["launchType", "schedulingStrategy", "resourceManagementType"]));
      // Every Flotilla service is EXTERNAL and managed by its user.
      const none = (q.launchType !== undefined && q.launchType !== "EXTERNAL") || q.resourceManagementType === "ECS";
      const rows = none ? [] : (await listServices(ctx, clusterOf(input))).filter((s) => !q.schedulingStrategy || s.schedulingStrategy === q.schedulingStrategy);
      if (none) await requireCluster(ctx, clusterOf(input));
      const page = paginate(
        rows.map((s) => s.arn),
        input,
        { defaultLimit: 10 },
      );
      return { serviceArns: page.items, ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
    },
  },

  DeleteService: {
    access: "write",
    async handle({ ctx, input }) {
      const { service, force } = parseInput(deleteInput, input);
      const row = await deleteService(ctx, clusterOf(input), service, force === true);
      return { service: await render(ctx, row, false) };
    },
  },
};

function missingService(e: unknown): undefined {
  if (e instanceof OpError && e.code === "ServiceNotFoundException") return undefined;
  throw e;
}
