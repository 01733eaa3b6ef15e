import { z } from "zod";
import type { BrokerProvisioning } from "../../ops/activations.ts";
import { deleteActivation, insertActivation, listAllActivations, type ActivationRow } from "../../ops/activations.ts";
import { OpError } from "../../ops/errors.ts";
import type { AwsJsonActions } from "../action.ts";
import { paginate } from "../pagination.ts";
import { issuesOf } from "../../../shared/task-definition/index.ts";

/**
 * The SSM actions ECS Anywhere's runbook uses (`aws ssm create-activation`, describe, delete), over
 * the activations in control/ops. SSM activations name no cluster: the agent's --cluster (as
 * ECS_CLUSTER for amazon-ecs-agent) decides where a host registers. The IAM role SSM requires is
 * recorded and shown back; nothing here has IAM.
 */
const DAY_MS = 24 * 3600 * 1000;
const MAX_LIFETIME_MS = 30 * DAY_MS;

const invalidParameters = (message: string) => new OpError("invalid", "InvalidParameters", message);

/** Inputs as SSM's model limits them; a failure is SSM's InvalidParameters naming the member. */
function parse<T extends z.ZodType>(schema: T, input: unknown, code = "InvalidParameters"): z.output<T> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const fields = issuesOf(r.error);
  throw new OpError("invalid", code, fields.map((f) => `${f.path}: ${f.message}`).join("; "), fields);
}

const tag = z.strictObject({ Key: z.string().min(1).max(128), Value: z.string().max(256) });

/** SSM's timestamps arrive as epoch seconds (the JSON protocol's form) or, from some tools, ISO text. */
const timestamp = z.union([z.number(), z.string().datetime({ offset: true })]).transform((v) => (typeof v === "number" ? Math.round(v * 1000) : Date.parse(v)));

const createActivationInput = z.object({
  Description: z.string().max(256).optional(),
  DefaultInstanceName: z.string().max(256).regex(/^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$/u).optional(),
  IamRole: z.string().min(1).max(64),
  RegistrationLimit: z.number().int().min(1).max(1000).default(1),
  ExpirationDate: timestamp.optional(),
  Tags: z.array(tag).max(1000).optional(),
  RegistrationMetadata: z.array(z.strictObject({ Key: z.string(), Value: z.string() })).optional(),
});

const FILTER_KEYS = ["ActivationIds", "DefaultInstanceName", "IamRole"] as const;
const describeActivationsInput = z.object({
  Filters: z.array(z.object({ FilterKey: z.string().optional(), FilterValues: z.array(z.string()).optional() })).optional(),
  MaxResults: z.number().int().min(1).max(50).optional(),
  NextToken: z.string().optional(),
});

const deleteActivationInput = z.object({ ActivationId: z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, "must be an activation id") });

/** SSM's Activation shape (times in epoch ms; the protocol writes them as epoch seconds). */
function activationView(r: ActivationRow, now: number) {
  return {
    ActivationId: r.id,
    ...(r.description !== null ? { Description: r.description } : {}),
    ...(r.defaultInstanceName !== null ? { DefaultInstanceName: r.defaultInstanceName } : {}),
    ...(r.iamRole !== null ? { IamRole: r.iamRole } : {}),
    RegistrationLimit: r.registrationLimit,
    RegistrationsCount: r.registrationsCount,
    ExpirationDate: r.expiresAt,
    Expired: r.expiresAt <= now,
    CreatedDate: r.createdAt,
    ...(r.tags ? { Tags: r.tags } : {}),
  };
}

function matches(r: ActivationRow, key: (typeof FILTER_KEYS)[number], values: string[]): boolean {
  if (!values.length) return true;
  if (key === "ActivationIds") return values.includes(r.id);
  if (key === "IamRole") return r.iamRole !== null && values.includes(r.iamRole);
  return r.defaultInstanceName !== null && values.includes(r.defaultInstanceName);
}

export interface SsmActionOptions {
  /** With an external broker, activation credentials are made and removed there too. */
  brokerProvisioning?: BrokerProvisioning;
}

export function createSsmActions({ brokerProvisioning }: SsmActionOptions = {}): AwsJsonActions {
  return {
    CreateActivation: {
      access: "write",
      async handle({ ctx, input }) {
        const p = parse(createActivationInput, input);
        const now = ctx.clock.now();
        const expiresAt = p.ExpirationDate ?? now + DAY_MS;
        if (!Number.isFinite(expiresAt) || expiresAt <= now) throw invalidParameters("ExpirationDate must be in the future");
        if (expiresAt > now + MAX_LIFETIME_MS) throw invalidParameters("ExpirationDate must be no more than 30 days from now");
        const created = await insertActivation(ctx, {
          clusterName: null,
          registrationLimit: p.RegistrationLimit,
          expiresAt,
          description: p.Description,
          defaultInstanceName: p.DefaultInstanceName,
          iamRole: p.IamRole,
          tags: p.Tags,
        });
        await brokerProvisioning?.activationCreated(created.activationId, created.activationCode);
        return { ActivationId: created.activationId, ActivationCode: created.activationCode };
      },
    },
    DescribeActivations: {
      access: "read",
      async handle({ ctx, input }) {
        const p = parse(describeActivationsInput, input);
        const filters = (p.Filters ?? []).map((f) => {
          if (!(FILTER_KEYS as readonly string[]).includes(f.FilterKey ?? "")) {
            throw new OpError("invalid", "InvalidFilter", `FilterKey must be one of ${FILTER_KEYS.join(", ")}, got "${f.FilterKey ?? ""}"`);
          }
          return { key: f.FilterKey as (typeof FILTER_KEYS)[number], values: f.FilterValues ?? [] };
        });
        const now = ctx.clock.now();
        // Deleted activations are gone from SSM's listing (kept here, revoked, for registration errors).
        const all = (await listAllActivations(ctx)).filter((r) => r.revokedAt === null && filters.every((f) => matches(r, f.key, f.values)));
        let page;
        try {
          page = paginate(all, { maxResults: p.MaxResults, nextToken: p.NextToken }, { maxLimit: 50, defaultLimit: 50 });
        } catch (e) {
          if (e instanceof OpError && p.NextToken !== undefined) throw new OpError("invalid", "InvalidNextToken", "The specified token isn't valid.");
          throw e;
        }
        return { ActivationList: page.items.map((r) => activationView(r, now)), ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
      },
    },
    DeleteActivation: {
      access: "write",
      async handle({ ctx, input }) {
        const p = parse(deleteActivationInput, input, "InvalidActivationId");
        await deleteActivation(ctx, p.ActivationId);
        await brokerProvisioning?.activationGone(p.ActivationId);
        return {};
      },
    },
  };
}

/** The SSM actions (prefix `AmazonSSM`) for the embedded broker. */
export const ssmActions: AwsJsonActions = createSsmActions();
