import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { OpsContext } from "../ops/context.ts";
import type { SecretStore } from "../ops/secrets.ts";
import { audit } from "./middleware/audit/index.ts";
import { authorize } from "./middleware/authorize/index.ts";
import { jsonContentType } from "./middleware/json-content-type/index.ts";
import { brokerProvisioning, type BrokerProvisioning } from "./middleware/broker-provisioning/index.ts";
import { activationRoutes } from "./routes/activations.ts";
import { agentDownloadRoutes } from "./routes/agent-download.ts";
import { agentReleaseRoutes } from "./routes/agent-releases.ts";
import { agentUpdateRoutes } from "./routes/agent-updates.ts";
import { imagePrefetchRoutes } from "./routes/image-prefetch.ts";
import { agentReleaseStore, type AgentReleaseStore } from "../ops/agent-release-store.ts";
import type { SendAgentRequest } from "../ops/agent-updates.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { auditRoutes } from "./routes/audit.ts";
import { clusterPolicyRoutes } from "./routes/cluster-policy.ts";
import { pullLimitsRoutes } from "./routes/pull-limits.ts";
import { deploymentWindowRoutes } from "./routes/deployment-windows.ts";
import { instanceDeregistrationRoutes, type InstanceRevoked } from "./routes/instance-deregistration.ts";
import { secretRoutes } from "./routes/secrets.ts";
import { tokenRoutes } from "./routes/tokens.ts";
import { installScriptRoutes } from "./routes/install-script.ts";
import { accessKeyRoutes } from "./routes/access-keys.ts";
import { unavailableAccessKeyStore, type AccessKeyStore } from "../ops/access-keys.ts";
import { onApiError } from "./errors.ts";
import { eventRoutes } from "./routes/events.ts";
import { webhookRoutes } from "./routes/webhooks.ts";
import { attributeRoutes } from "./routes/attributes.ts";
import { FLOTILLA_VERSION } from "../../shared/version.ts";
import { clusterRoutes } from "./routes/clusters.ts";
import { containerInstanceRoutes } from "./routes/container-instances.ts";
import { taskDefinitionRoutes } from "./routes/task-definitions.ts";
import { taskRoutes } from "./routes/tasks.ts";
import { serviceRoutes } from "./routes/services.ts";
import { taskLogRoutes } from "./routes/task-logs.ts";
import type { LogRequests } from "../link/log-requests.ts";
import type { AwsJsonActions } from "../ecs-api/action.ts";
import { ecsActions } from "../ecs-api/actions/index.ts";
import type { SigV4Verifier } from "../ecs-api/authenticate.ts";
import { ECS_TARGET_PREFIX, SSM_TARGET_PREFIX } from "../ecs-api/model.ts";
import { createSsmActions } from "../ecs-api/actions/ssm.ts";
import { sigV4Authenticator } from "../ecs-api/sigv4/authenticator.ts";
import { createAwsJsonApi } from "../ecs-api/protocol.ts";
import type { ExecSessions } from "../link/exec-sessions.ts";
import { execStreamRoutes, taskExecRoutes } from "./routes/task-exec.ts";
import { requestMetrics } from "./middleware/request-metrics/index.ts";
import { metricsResponse } from "../metrics/listener.ts";
import { requestLog } from "./middleware/request-log/index.ts";
import { silentLogger, type Logger } from "../../shared/log.ts";

export interface ApiOptions {
  /** Largest request body accepted, in bytes. */
  maxBodyBytes?: number;
  /** Encrypted secret store; without one (no master key) the /v1/secrets routes are absent. */
  secrets?: SecretStore;
  /** Called after DeregisterContainerInstance: drop the agent's broker session and credential. */
  instanceRevoked?: InstanceRevoked;
  log?: Logger;
  /** External broker: activation credentials are created and removed there too. */
  brokerProvisioning?: BrokerProvisioning;
  /**
   * Access keys for SigV4 callers (sealed under the master key); without one, the /v1/access-keys
   * routes refuse with a message naming the missing master key.
   */
  accessKeys?: AccessKeyStore;
  /** Log streams from agents (the agent link's); without it the logs route answers 503. */
  logRequests?: () => LogRequests | undefined;
  /** AWS JSON front door (`POST /`): actions by target prefix; ECS's and SSM's by default. */
  awsJsonServices?: Record<string, AwsJsonActions>;
  /** SigV4 verification for the AWS JSON front door; by default, against `accessKeys`. */
  sigV4?: SigV4Verifier;
  /** Exec sessions relayed to agents (the agent link's); without it the exec routes answer 503. */
  execSessions?: () => ExecSessions | undefined;
  /** Webhook destination hosts allowed (control config); absent = any http(s) host. */
  webhookAllowHosts?: string[];
  /** Agent releases (dir, trusted keys); absent: none trusted, so every upload is refused. */
  agentReleases?: AgentReleaseStore;
  /** Requests to agents over their req topics (the agent link's); without it upgrades answer 503. */
  agentRequests?: () => SendAgentRequest | undefined;
}

/** The front doors (REST under /v1, AWS JSON at POST /): thin translations onto the operations in control/ops. */
export function createApi(
  ctx: OpsContext,
  {
    maxBodyBytes = 1024 * 1024,
    logRequests = () => undefined,
    execSessions = () => undefined,
    secrets,
    accessKeys = unavailableAccessKeyStore(),
    instanceRevoked = () => {},
    log,
    brokerProvisioning: provisioning,
    awsJsonServices = {
      [ECS_TARGET_PREFIX]: ecsActions,
      [SSM_TARGET_PREFIX]: createSsmActions({ brokerProvisioning: provisioning }),
    },
    sigV4 = sigV4Authenticator(ctx, accessKeys),
    webhookAllowHosts,
    agentReleases = agentReleaseStore({ dir: join(tmpdir(), "flotilla-no-agent-releases"), keys: [] }),
    agentRequests = () => undefined,
  }: ApiOptions = {},
) {
  const app = new Hono();
  // First, so every request (console and AWS JSON door included) is counted by its route pattern.
  if (ctx.metrics) app.use("*", requestMetrics(ctx.metrics));
  app.onError(onApiError);
  app.use("*", requestLog(log ?? silentLogger));
  app.notFound((c) => c.json({ error: { code: "NotFound", message: `no route for ${c.req.method} ${c.req.path}` } }, 404));
  // The control's own version, so an operator (and an upgrade script) can see what answers.
  app.get("/healthz", (c) => c.json({ status: "ok", version: FLOTILLA_VERSION }));
  // Prometheus scrape behind a token with the metrics role (or admin); docs/metrics.md.
  const metrics = ctx.metrics;
  if (metrics) app.get("/metrics", authorize(ctx), () => metricsResponse(metrics));
  // The second front door: AWS JSON 1.1 (`X-Amz-Target`), what the aws CLI and SDKs speak.
  app.route("/", createAwsJsonApi(ctx, { services: awsJsonServices, sigV4, log, maxBodyBytes, instanceRevoked, agentUpdates: { store: agentReleases, send: agentRequests } }));

  const v1 = new Hono();
  // Audit wraps authorization so refused calls (401/403) are recorded too.
  v1.use("*", audit(ctx, log));
  v1.use("*", authorize(ctx));
  if (provisioning) v1.use("/clusters/*", brokerProvisioning(provisioning, log));
  v1.use(
    "*",
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: (c) => c.json({ error: { code: "ClientException", message: `request body larger than ${maxBodyBytes} bytes` } }, 413),
    }),
  );
  // After the limit (the check may read the body), before any route reads it as JSON.
  v1.use("*", jsonContentType());
  v1.route("/clusters", clusterRoutes(ctx));
  v1.route("/clusters", containerInstanceRoutes(ctx));
  v1.route("/clusters", taskRoutes(ctx));
  v1.route("/clusters", serviceRoutes(ctx));
  v1.route("/clusters", taskLogRoutes(ctx, logRequests));
  v1.route("/clusters", taskExecRoutes(ctx, execSessions));
  v1.route("/clusters", attributeRoutes(ctx));
  v1.route("/task-definitions", taskDefinitionRoutes(ctx));
  v1.route("/clusters", activationRoutes(ctx));
  v1.route("/clusters", clusterPolicyRoutes(ctx));
  v1.route("/clusters", pullLimitsRoutes(ctx));
  v1.route("/clusters", deploymentWindowRoutes(ctx));
  v1.route("/clusters", agentUpdateRoutes(ctx, agentReleases, agentRequests));
  v1.route("/clusters", imagePrefetchRoutes(ctx));
  v1.route("/clusters", instanceDeregistrationRoutes(ctx, instanceRevoked));
  v1.route("/tokens", tokenRoutes(ctx));
  v1.route("/access-keys", accessKeyRoutes(accessKeys));
  v1.route("/audit", auditRoutes(ctx));
  v1.route("/events", eventRoutes(ctx));
  v1.route("/webhooks", webhookRoutes(ctx, webhookAllowHosts));
  if (secrets) v1.route("/secrets", secretRoutes(secrets));
  app.route("/", installScriptRoutes());
  // Before /v1: a fresh host fetches the agent with its activation code, not a bearer token.
  app.route("/v1/agent", agentDownloadRoutes(ctx));
  // Before /v1: a binary upload is far over the JSON body limit, and the download is the agent's (token in its upgrade command).
  app.route("/v1/agent-releases", agentReleaseRoutes(ctx, agentReleases, log));
  // Before /v1 too: an exec stream is authenticated by its session's single-use token.
  app.route("/v1/exec-sessions", execStreamRoutes(execSessions));
  app.route("/v1", v1);
  return app;
}
