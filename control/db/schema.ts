import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import type { IngressRule } from "../../shared/ingress.ts";
import type { ServiceNaming } from "../../shared/service-naming.ts";

/** Times are epoch milliseconds; JSON columns hold the ECS-shaped structures they name. */

/** A host a deployment waits for: outside its deployment window until `until` (epoch ms; null = no opening ahead). */
export interface WaitingHost {
  containerInstanceArn: string;
  until: number | null;
}

export const clusters = sqliteTable("clusters", {
  name: text("name").primaryKey(),
  arn: text("arn").notNull(),
  status: text("status", { enum: ["ACTIVE", "INACTIVE"] }).notNull(),
  createdAt: integer("created_at").notNull(),
  /** Raised for every service discovery set published for the cluster (control/discovery), so it keeps rising across restarts. */
  discoveryGeneration: integer("discovery_generation").notNull().default(0),
});

export const activations = sqliteTable("activations", {
  id: text("id").primaryKey(),
  /**
   * Null: an activation for any cluster (SSM CreateActivation names none); the agent then
   * registers into the cluster it names (--cluster, as ECS_CLUSTER for amazon-ecs-agent).
   */
  clusterName: text("cluster_name"),
  codeHash: text("code_hash").notNull(),
  registrationLimit: integer("registration_limit").notNull(),
  registrationsCount: integer("registrations_count").notNull().default(0),
  expiresAt: integer("expires_at").notNull(),
  createdAt: integer("created_at").notNull(),
  revokedAt: integer("revoked_at"),
  /** SSM's fields, kept to be shown back (DescribeActivations); the IAM role means nothing here. */
  description: text("description"),
  defaultInstanceName: text("default_instance_name"),
  iamRole: text("iam_role"),
  tags: text("tags", { mode: "json" }).$type<{ Key: string; Value: string }[]>(),
});

export const containerInstances = sqliteTable(
  "container_instances",
  {
    id: text("id").primaryKey(),
    clusterName: text("cluster_name").notNull(),
    arn: text("arn").notNull(),
    status: text("status", { enum: ["REGISTERING", "ACTIVE", "DRAINING", "INACTIVE"] }).notNull(),
    activationId: text("activation_id").notNull(),
    credentialHash: text("credential_hash").notNull(),
    hostname: text("hostname").notNull(),
    agentConnected: integer("agent_connected", { mode: "boolean" }).notNull().default(false),
    /** Epoch of the agent connection the agentConnected flag describes (see presence handling). */
    connectionEpoch: integer("connection_epoch").notNull().default(0),
    registeredCpu: integer("registered_cpu").notNull(),
    registeredMemory: integer("registered_memory").notNull(),
    usedCpu: integer("used_cpu").notNull().default(0),
    usedMemory: integer("used_memory").notNull().default(0),
    /** {"tcp":[...],"udp":[...]} static host ports reserved by live tasks. */
    usedPorts: text("used_ports", { mode: "json" }).$type<{ tcp: number[]; udp: number[] }>().notNull(),
    /**
     * GPU ids the agent registered (ECS's registeredResources "GPU" STRINGSET), in the agent's order;
     * and those live tasks hold. Both are placement resources: a commit that takes GPUs bumps `version`.
     */
    registeredGpus: text("registered_gpus", { mode: "json" }).$type<string[]>().notNull().default([]),
    usedGpus: text("used_gpus", { mode: "json" }).$type<string[]>().notNull().default([]),
    attributes: text("attributes", { mode: "json" }).$type<Record<string, string>>().notNull(),
    /**
     * Names of the attributes the agent reported last (automatic ones and --attribute flags), so an
     * attribute dropped from the agent's flags goes while ones set through the API stay. Null on
     * rows from before this column: then nothing is dropped.
     */
    agentAttributeNames: text("agent_attribute_names", { mode: "json" }).$type<string[]>(),
    versionInfo: text("version_info", { mode: "json" }).$type<Record<string, string>>().notNull(),
    /**
     * Addresses other hosts can reach this one at, best first (the agent's --advertise-address, then
     * its non-loopback IPs): service endpoints give the first. Null: an agent that reports none.
     */
    addresses: text("addresses", { mode: "json" }).$type<string[]>(),
    /** Generation of the desired task set last published to the agent; only ever rises. */
    desiredGeneration: integer("desired_generation").notNull().default(0),
    /** Highest desired generation the agent said it has seen. */
    reportedGeneration: integer("reported_generation").notNull().default(0),
    /** Optimistic-concurrency version: every placement commit checks and bumps it. */
    version: integer("version").notNull().default(0),
    registeredAt: integer("registered_at").notNull(),
    lastSeenAt: integer("last_seen_at"),
    /** ECS healthStatus.overallStatus as the agent last reported it (null: no report yet). */
    healthStatus: text("health_status", { enum: ["OK", "IMPAIRED"] }),
    /** ECS healthStatus.details[]: one entry per agent check (CONTAINER_RUNTIME, DISK_SPACE, ...). */
    healthDetails: text("health_details", { mode: "json" }).$type<unknown[]>(),
    /** Light host metrics from the agent (cpu and memory use %, disk free bytes). */
    hostMetrics: text("host_metrics", { mode: "json" }).$type<Record<string, number>>(),
    healthUpdatedAt: integer("health_updated_at"),
    /** ECS agentUpdateStatus as the agent last reported it (PENDING when the control sent the command); null: never upgraded. */
    agentUpdateStatus: text("agent_update_status", { enum: ["PENDING", "STAGING", "STAGED", "UPDATING", "UPDATED", "FAILED"] }),
    /** The version that update is to, and why it FAILED. */
    agentUpdateVersion: text("agent_update_version"),
    agentUpdateReason: text("agent_update_reason"),
    /** When agentUpdateStatus last changed (ms): an update making no progress for AGENT_UPDATE_DEADLINE_MS expires as FAILED. */
    agentUpdateAt: integer("agent_update_at"),
  },
  (t) => [index("container_instances_cluster").on(t.clusterName)],
);

export const taskDefinitions = sqliteTable(
  "task_definitions",
  {
    family: text("family").notNull(),
    revision: integer("revision").notNull(),
    arn: text("arn").notNull(),
    /** DELETE_IN_PROGRESS: DeleteTaskDefinitions was called; kept (text column, no migration) so the revision is never reused. */
    status: text("status", { enum: ["ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS"] }).notNull(),
    /** The normalised ECS task definition (TaskDefinitionSpec). */
    spec: text("spec", { mode: "json" }).notNull(),
    registeredAt: integer("registered_at").notNull(),
    deregisteredAt: integer("deregistered_at"),
  },
  (t) => [primaryKey({ columns: [t.family, t.revision] })],
);

export const tasks = sqliteTable(
  "tasks",
  {
    id: text("id").primaryKey(),
    clusterName: text("cluster_name").notNull(),
    arn: text("arn").notNull(),
    instanceId: text("instance_id").notNull(),
    family: text("family").notNull(),
    revision: integer("revision").notNull(),
    taskDefinitionArn: text("task_definition_arn").notNull(),
    group: text("group").notNull(),
    startedBy: text("started_by"),
    /** Set when a service scheduler started the task. */
    serviceName: text("service_name"),
    deploymentId: text("deployment_id"),
    /** HEALTHY | UNHEALTHY | UNKNOWN, derived by the agent from essential containers' checks. */
    healthStatus: text("health_status", { enum: ["HEALTHY", "UNHEALTHY", "UNKNOWN"] }).notNull().default("UNKNOWN"),
    desiredStatus: text("desired_status", { enum: ["RUNNING", "STOPPED"] }).notNull(),
    lastStatus: text("last_status", { enum: ["PROVISIONING", "PENDING", "RUNNING", "STOPPING", "STOPPED"] }).notNull(),
    /** ECS-shaped containers[] as last reported. */
    containers: text("containers", { mode: "json" }).$type<unknown[]>().notNull(),
    /** What this task holds on its instance: {cpu, memory, tcpPorts, udpPorts}. */
    reservation: text("reservation", { mode: "json" })
      .$type<{ cpu: number; memory: number; tcpPorts: number[]; udpPorts: number[]; gpus?: number; gpuIds?: string[] }>()
      .notNull(),
    /** True while the reservation is counted in the instance's used resources (released once). */
    reserved: integer("reserved", { mode: "boolean" }).notNull(),
    createdAt: integer("created_at").notNull(),
    startedAt: integer("started_at"),
    stoppingAt: integer("stopping_at"),
    /**
     * Deregistration delay (docs/ingress.md): when the scheduler took the task out of discovery and
     * ingress (ECS's DEACTIVATING), and when its stop is sent to the agent. Null: not deactivating.
     */
    deactivatingAt: integer("deactivating_at"),
    deactivationEndsAt: integer("deactivation_ends_at"),
    stoppedAt: integer("stopped_at"),
    stoppedReason: text("stopped_reason"),
    stopCode: text("stop_code"),
    /** The agent's last few task events [{at, message}] (pull progress, transitions), oldest first. */
    events: text("events", { mode: "json" }).$type<{ at: number; message: string }[]>(),
    updatedAt: integer("updated_at").notNull(),
    /** RunTask/StartTask `overrides` (ECS TaskOverride), applied by the agent to the definition; null: none. */
    overrides: text("overrides", { mode: "json" }).$type<Record<string, unknown>>(),
    /** RunTask's `clientToken`: a repeat of the same request with it returns these tasks instead of launching. */
    clientToken: text("client_token"),
    /** Digest of the RunTask request the token came with (a different request under the same token is refused). */
    clientRequest: text("client_request"),
  },
  (t) => [
    index("tasks_client_token").on(t.clusterName, t.clientToken),
    index("tasks_cluster_status").on(t.clusterName, t.desiredStatus),
    // /metrics counts tasks by cluster and lastStatus at every scrape: from this index alone.
    index("tasks_cluster_last_status").on(t.clusterName, t.lastStatus),
    index("tasks_instance").on(t.instanceId),
    index("tasks_service").on(t.clusterName, t.serviceName),
  ],
);

export const apiTokens = sqliteTable("api_tokens", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  role: text("role", { enum: ["admin", "operator", "read-only", "metrics"] }).notNull(),
  tokenHash: text("token_hash").notNull().unique(),
  createdAt: integer("created_at").notNull(),
  revokedAt: integer("revoked_at"),
});

/**
 * AWS-style access keys for SigV4-signed calls (control/ops/access-keys.ts). SigV4 needs the secret
 * itself to recompute a signature, so it is sealed with the master key (AES-256-GCM, bound to the
 * key id), not hashed.
 */
export const accessKeys = sqliteTable("access_keys", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  role: text("role", { enum: ["admin", "operator", "read-only"] }).notNull(),
  /** base64 of iv(12) | tag(16) | ciphertext. */
  secretCiphertext: text("secret_ciphertext").notNull(),
  createdAt: integer("created_at").notNull(),
  revokedAt: integer("revoked_at"),
});

/** One row per mutating API call: who (token), what (method, path, ECS action), when, result. */
export const auditLog = sqliteTable(
  "audit_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: integer("at").notNull(),
    tokenId: text("token_id"),
    tokenName: text("token_name"),
    method: text("method").notNull(),
    path: text("path").notNull(),
    action: text("action").notNull(),
    status: integer("status").notNull(),
  },
  (t) => [index("audit_log_at").on(t.at)],
);

/** Secret values encrypted with AES-256-GCM (control/crypto); the value never leaves but to an agent. */
export const secrets = sqliteTable("secrets", {
  name: text("name").primaryKey(),
  arn: text("arn").notNull(),
  /** base64 of iv(12) | tag(16) | ciphertext. */
  ciphertext: text("ciphertext").notNull(),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** Host-level powers a cluster allows its tasks (control/ops/policy.ts); absent row = none. */
export const clusterPolicies = sqliteTable("cluster_policies", {
  clusterName: text("cluster_name").primaryKey(),
  policy: text("policy", { mode: "json" }).notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** A cluster's image pull limits, default and per query of instances (control/ops/pull-limits.ts); absent row = none. */
export const pullLimits = sqliteTable("pull_limits", {
  clusterName: text("cluster_name").primaryKey(),
  limits: text("limits", { mode: "json" }).notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** ECS services (control/services): what the service scheduler keeps running. */
export const services = sqliteTable(
  "services",
  {
    clusterName: text("cluster_name").notNull(),
    serviceName: text("service_name").notNull(),
    arn: text("arn").notNull(),
    status: text("status", { enum: ["ACTIVE", "DRAINING", "INACTIVE"] }).notNull(),
    schedulingStrategy: text("scheduling_strategy", { enum: ["REPLICA", "DAEMON"] }).notNull(),
    desiredCount: integer("desired_count").notNull(),
    taskDefinitionArn: text("task_definition_arn").notNull(),
    /** {minimumHealthyPercent, maximumPercent, deploymentCircuitBreaker: {enable, rollback}}. */
    deploymentConfiguration: text("deployment_configuration", { mode: "json" }).notNull(),
    placementConstraints: text("placement_constraints", { mode: "json" }).$type<unknown[]>().notNull(),
    placementStrategy: text("placement_strategy", { mode: "json" }).$type<unknown[]>().notNull(),
    healthCheckGracePeriodSeconds: integer("health_check_grace_period_seconds").notNull().default(0),
    /** Seconds an instance may stay disconnected before its service tasks are replaced; -1 = never. */
    disconnectGracePeriodSeconds: integer("disconnect_grace_period_seconds").notNull().default(30),
    /** Flotilla: [{containerPort, listenPort, protocol}] published on the hosts (docs/ingress.md); null: none. */
    ingress: text("ingress", { mode: "json" }).$type<IngressRule[]>(),
    /** Flotilla: the DNS name the service chose and its aliases (docs/discovery.md, Chosen names); null: derived from its name. */
    discovery: text("discovery", { mode: "json" }).$type<ServiceNaming>(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.clusterName, t.serviceName] })],
);

/** A service's deployments: one PRIMARY (what it converges to), ACTIVE ones being replaced. */
export const deployments = sqliteTable(
  "deployments",
  {
    id: text("id").primaryKey(),
    clusterName: text("cluster_name").notNull(),
    serviceName: text("service_name").notNull(),
    status: text("status", { enum: ["PRIMARY", "ACTIVE", "INACTIVE"] }).notNull(),
    rolloutState: text("rollout_state", { enum: ["IN_PROGRESS", "COMPLETED", "FAILED"] }).notNull(),
    rolloutStateReason: text("rollout_state_reason"),
    taskDefinitionArn: text("task_definition_arn").notNull(),
    desiredCount: integer("desired_count").notNull(),
    failedTasks: integer("failed_tasks").notNull().default(0),
    /**
     * Most primary tasks this deployment has had live at once (capped at its desiredCount). Starts
     * up to it replace failed tasks, which proceed outside deployment windows; starts beyond it
     * are scale-up (services/window-gate.ts).
     */
    reachedCount: integer("reached_count").notNull().default(0),
    /** Flotilla: hosts whose tasks this deployment leaves alone until their window opens, [{containerInstanceArn, until}]. */
    waitingHosts: text("waiting_hosts", { mode: "json" }).$type<WaitingHost[]>(),
    /** Flotilla: the image prefetch this deployment waits for before replacing tasks (deploymentConfiguration.prefetch). */
    prefetchId: text("prefetch_id"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("deployments_service").on(t.clusterName, t.serviceName, t.status)],
);

/** Service events, ECS-style messages; read newest first. */
export const serviceEvents = sqliteTable(
  "service_events",
  {
    id: text("id").primaryKey(),
    clusterName: text("cluster_name").notNull(),
    serviceName: text("service_name").notNull(),
    createdAt: integer("created_at").notNull(),
    message: text("message").notNull(),
  },
  (t) => [index("service_events_service").on(t.clusterName, t.serviceName, t.createdAt)],
);

/**
 * Leader leases (control/leader): one row per lease name. `token` rises on every change of holder
 * and fences writes: a deposed leader's transactions re-check (name, holder, token) and fail.
 */
export const leases = sqliteTable("leases", {
  name: text("name").primaryKey(),
  holder: text("holder").notNull(),
  token: integer("token").notNull(),
  /** Epoch ms by the clock of whoever wrote it last; all holders must share one clock source. */
  expiresAt: integer("expires_at").notNull(),
  acquiredAt: integer("acquired_at").notNull(),
  renewedAt: integer("renewed_at").notNull(),
});

/**
 * ECS resource tags (control/ops/tags.ts), keyed by the resource's canonical ARN as Flotilla
 * builds it (shared/arn.ts), so an ARN pasted in ECS's own form finds the same tags.
 */
export const tags = sqliteTable(
  "tags",
  {
    resourceArn: text("resource_arn").notNull(),
    key: text("key").notNull(),
    value: text("value").notNull(),
  },
  (t) => [primaryKey({ columns: [t.resourceArn, t.key] })],
);

/**
 * The event log (control/events): ECS EventBridge-shaped events, one row per change. The id is
 * AUTOINCREMENT, so it only ever rises, across restarts and across control processes sharing the
 * file (HA): a stream resumes after `Last-Event-ID` with nothing missed or repeated.
 */
export const events = sqliteTable(
  "events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    time: integer("time").notNull(),
    detailType: text("detail_type").notNull(),
    clusterName: text("cluster_name"),
    serviceName: text("service_name"),
    instanceId: text("instance_id"),
    taskId: text("task_id"),
    /** The event without its id (resources, detail), JSON. */
    body: text("body").notNull(),
  },
  (t) => [index("events_time").on(t.time)],
);

/** Webhook subscriptions (control/events/webhook-worker.ts delivers to them). */
export const webhooks = sqliteTable("webhooks", {
  id: text("id").primaryKey(),
  url: text("url").notNull(),
  /** HMAC key for the signature header; never returned by the API (only `secretHint`). */
  secret: text("secret").notNull(),
  secretHint: text("secret_hint").notNull(),
  /** detail-types and clusters this hook wants; empty = all. */
  detailTypes: text("detail_types", { mode: "json" }).$type<string[]>().notNull(),
  clusters: text("clusters", { mode: "json" }).$type<string[]>().notNull(),
  status: text("status", { enum: ["ENABLED", "DISABLED"] }).notNull(),
  statusReason: text("status_reason"),
  /** The last event id this hook has taken (delivered, or given up on): its place in the log. */
  cursor: integer("cursor").notNull(),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** One row per event handed to a hook: the delivery log (status, attempts, last error). */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    webhookId: text("webhook_id").notNull(),
    eventId: integer("event_id").notNull(),
    status: text("status", { enum: ["PENDING", "SUCCEEDED", "FAILED"] }).notNull(),
    attempts: integer("attempts").notNull(),
    lastError: text("last_error"),
    responseStatus: integer("response_status"),
    nextAttemptAt: integer("next_attempt_at").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("webhook_deliveries_hook").on(t.webhookId, t.id)],
);

/**
 * Deployment windows (docs/deployment-windows.md): a cron schedule in an IANA time zone opening
 * for `durationMinutes`, over the whole cluster (filter null) or the instances a cluster query
 * language expression matches. Deployments change tasks on a covered host only while one of its
 * windows is open.
 */
export const deploymentWindows = sqliteTable(
  "deployment_windows",
  {
    id: text("id").primaryKey(),
    clusterName: text("cluster_name").notNull(),
    name: text("name").notNull(),
    schedule: text("schedule").notNull(),
    durationMinutes: integer("duration_minutes").notNull(),
    timeZone: text("time_zone").notNull(),
    filter: text("filter"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("deployment_windows_cluster").on(t.clusterName, t.name)],
);

/** Operator overrides ("deploy now"): the matching hosts count as inside a window until `until`. */
export const deploymentWindowOverrides = sqliteTable(
  "deployment_window_overrides",
  {
    id: text("id").primaryKey(),
    clusterName: text("cluster_name").notNull(),
    filter: text("filter"),
    until: integer("until").notNull(),
    /** The API token's name that asked (also in the audit log). */
    createdBy: text("created_by"),
    reason: text("reason"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("deployment_window_overrides_cluster").on(t.clusterName, t.until)],
);

/**
 * Agent binaries uploaded for self-upgrades (docs/agent-upgrades.md): the bytes live on disk under
 * the control's release dir (`file`, relative to it), checked at upload against `sha256` and the
 * Ed25519 `signature` of that digest.
 */
export const agentReleases = sqliteTable(
  "agent_releases",
  {
    version: text("version").notNull(),
    /** ECS's ecs.cpu-architecture values: x86_64 or arm64. */
    architecture: text("architecture").notNull(),
    sha256: text("sha256").notNull(),
    signature: text("signature").notNull(),
    size: integer("size").notNull(),
    file: text("file").notNull(),
    uploadedAt: integer("uploaded_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.version, t.architecture] })],
);

/** Per-instance progress of a rolling agent upgrade. */
export interface AgentUpgradeTarget {
  containerInstanceId: string;
  /** WAITING (batch not started), then the instance's agentUpdateStatus as last seen. */
  status: "WAITING" | "PENDING" | "STAGING" | "STAGED" | "UPDATING" | "UPDATED" | "FAILED";
  reason?: string;
  /** When its upgrade command went out, and when it became UPDATED or FAILED (ms). */
  startedAt?: number;
  finishedAt?: number;
  /** WAITING outside its deployment window: when that opens (null: no opening ahead). */
  windowOpensAt?: number | null;
}

/** A rolling agent upgrade of a cluster's instances, in batches (POST /v1/clusters/{c}/agent-upgrades). */
export const agentUpgrades = sqliteTable(
  "agent_upgrades",
  {
    id: text("id").primaryKey(),
    clusterName: text("cluster_name").notNull(),
    version: text("version").notNull(),
    batchSize: integer("batch_size").notNull(),
    maxFailures: integer("max_failures").notNull(),
    /** Wait this long after a batch finished before starting the next (ms). */
    pauseMs: integer("pause_ms").notNull().default(0),
    status: text("status", { enum: ["IN_PROGRESS", "SUCCESSFUL", "FAILED"] }).notNull(),
    reason: text("reason"),
    targets: text("targets", { mode: "json" }).$type<AgentUpgradeTarget[]>().notNull(),
    /** Base URL the agents download from (the control's --public-url, else the URL the request came to). */
    downloadBase: text("download_base").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("agent_upgrades_cluster").on(t.clusterName, t.status)],
);

/** One host's progress on an image prefetch: each image as the agent last reported it. */
export interface ImagePrefetchTarget {
  containerInstanceId: string;
  /** PENDING until the agent reported, PULLING while any image is, then DONE or FAILED (any image failed). */
  status: "PENDING" | "PULLING" | "DONE" | "FAILED";
  images: { image: string; status: "PENDING" | "PULLING" | "DONE" | "FAILED"; reason?: string; startedAt?: number; finishedAt?: number }[];
  /** When the host ended (DONE or FAILED), the control's clock (ms). */
  finishedAt?: number;
}

export const imagePrefetches = sqliteTable(
  "image_prefetches",
  {
    id: text("id").primaryKey(),
    clusterName: text("cluster_name").notNull(),
    /** The task definition the images came from (its ARN), when one was named. */
    taskDefinitionArn: text("task_definition_arn"),
    images: text("images", { mode: "json" }).$type<string[]>().notNull(),
    /** IN_PROGRESS while any host is PENDING or PULLING; then SUCCESSFUL, or FAILED if any host failed. */
    status: text("status", { enum: ["IN_PROGRESS", "SUCCESSFUL", "FAILED"] }).notNull(),
    targets: text("targets", { mode: "json" }).$type<ImagePrefetchTarget[]>().notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  // By status: every desired set built reads the IN_PROGRESS ones; by cluster: the API's list.
  (t) => [index("image_prefetches_status").on(t.status), index("image_prefetches_cluster").on(t.clusterName, t.createdAt)],
);
