import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Caller } from "../ops/tokens.ts";
import type { InstanceRevoked } from "../ops/instances.ts";
import { recordAudit } from "../ops/audit.ts";
import type { OpsContext } from "../ops/context.ts";
import type { AgentUpdateDoor, AwsJsonAction, AwsJsonActions } from "./action.ts";
import { authenticate, type SigV4Verifier } from "./authenticate.ts";
import { awsErrorOf, ProtocolError } from "./errors.ts";
import { ECS_MODEL, SERVICE_MODELS, type ServiceModel } from "./model.ts";
import { withEpochSeconds } from "./timestamps.ts";
import { silentLogger, withComponent, type Logger } from "../../shared/log.ts";

export interface AwsJsonApiOptions {
  /** Actions by target prefix: `{ AmazonEC2ContainerServiceV20141113: ecsActions, AmazonSSM: ssmActions }`. */
  services: Record<string, AwsJsonActions>;
  /** SigV4 verification; without it a signed request is refused (UnrecognizedClientException). */
  sigV4?: SigV4Verifier;
  log?: Logger;
  /** Largest request body accepted, in bytes (the REST API's limit). */
  maxBodyBytes?: number;
  /** Given to every action: DeregisterContainerInstance drops the agent's broker session with it. */
  instanceRevoked?: InstanceRevoked;
  /** Given to every action: UpdateContainerAgent sends the upgrade command with it. */
  agentUpdates?: AgentUpdateDoor;
}

const CONTENT_TYPE = "application/x-amz-json-1.1";

interface Target {
  prefix: string;
  name: string;
  model: ServiceModel;
  action?: AwsJsonAction;
}

/**
 * The AWS JSON 1.1 front door (`POST /`, `X-Amz-Target: <Prefix>.<Action>`): what the aws CLI and
 * the SDKs speak. It authenticates, checks the caller's role against the action's access, runs the
 * action (a thin translation onto control/ops) and writes the answer in the protocol's shape: every
 * timestamp as epoch seconds, every error as `{__type, message}` with `x-amzn-ErrorType`, a
 * `x-amzn-RequestId` on every response. Write actions are audited like REST calls, by action name.
 */
export function createAwsJsonApi(ctx: OpsContext, { services, sigV4, log: logger = silentLogger, maxBodyBytes = 1024 * 1024, instanceRevoked, agentUpdates }: AwsJsonApiOptions) {
  const log = withComponent(logger, "ecs-api");
  const app = new Hono();
  // Read no further than the limit (as REST's bodyLimit): a huge body is refused while streaming.
  app.use(
    "/",
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: () =>
        respond(400, crypto.randomUUID(), { __type: "RequestEntityTooLargeException", message: `request body larger than ${maxBodyBytes} bytes` }, "RequestEntityTooLargeException"),
    }),
  );
  app.post("/", async (c) => {
    // The request log's id (control/api/middleware/request-log), so x-amzn-RequestId names its line.
    const requestId = c.get("requestId") ?? crypto.randomUUID();
    const target = resolveTarget(c.req.header("x-amz-target"), services);
    let caller: Caller | undefined;
    let status: number;
    let response: Response;
    try {
      const raw = await c.req.text();
      if (!target.action) {
        throw new ProtocolError("UnknownOperationException", `unknown operation ${target.prefix ? `${target.prefix}.` : ""}${target.name || "(no X-Amz-Target)"}`);
      }
      caller = await authenticate(ctx, c.req.raw, raw, sigV4);
      if (caller.role === "metrics") throw new ProtocolError("AccessDeniedException", `role "metrics" may only read /metrics, not call ${target.name}`);
      if (target.action.access === "write" && caller.role === "read-only") {
        throw new ProtocolError("AccessDeniedException", `role "${caller.role}" may not call ${target.name}`);
      }
      const input = parseBody(raw);
      const output = await target.action.handle({ ctx, caller, input, requestId, instanceRevoked, agentUpdates, origin: new URL(c.req.url).origin });
      status = 200;
      response = respond(200, requestId, withEpochSeconds(output, target.model));
    } catch (err) {
      const e = awsErrorOf(err, target.model);
      if (e.status === 500) log.error({ requestId, err }, `${target.prefix}.${target.name} failed: ${(err as Error).message ?? err}`);
      status = e.status;
      response = respond(e.status, requestId, { __type: e.type, message: e.message }, e.type);
    }
    if (target.action?.access === "write") await audit(ctx, log.child({ requestId }), caller, target, status);
    return response;
  });
  return app;
}

function resolveTarget(header: string | undefined, services: Record<string, AwsJsonActions>): Target {
  const dot = header?.lastIndexOf(".") ?? -1;
  const prefix = header && dot > 0 ? header.slice(0, dot) : "";
  const name = header ? header.slice(dot + 1) : "";
  const model = SERVICE_MODELS[prefix] ?? ECS_MODEL;
  const actions = Object.hasOwn(services, prefix) ? services[prefix]! : undefined;
  const action = actions && Object.hasOwn(actions, name) ? actions[name] : undefined;
  return { prefix, name, model, action };
}

/** The body is one JSON object (an empty body is `{}`), as the protocol requires. */
function parseBody(raw: string): Record<string, unknown> {
  if (raw.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ProtocolError("SerializationException", "request body is not valid JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ProtocolError("SerializationException", "request body must be a JSON object");
  }
  return value as Record<string, unknown>;
}

function respond(status: 200 | 400 | 500, requestId: string, body: unknown, errorType?: string): Response {
  const headers: Record<string, string> = { "content-type": CONTENT_TYPE, "x-amzn-RequestId": requestId };
  if (errorType) headers["x-amzn-ErrorType"] = errorType;
  return new Response(JSON.stringify(body), { status, headers });
}

async function audit(ctx: OpsContext, log: Logger, caller: Caller | undefined, target: Target, status: number) {
  try {
    await recordAudit(ctx, {
      tokenId: caller?.tokenId ?? null,
      tokenName: caller?.name ?? null,
      method: "POST",
      path: "/",
      action: target.name,
      status,
    });
  } catch (e) {
    // Losing an audit line must not turn a done change into an error for the caller.
    withComponent(log, "audit").error(`could not record ${target.prefix}.${target.name}: ${(e as Error).message}`);
  }
}
