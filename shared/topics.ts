/**
 * MQTT topic layout. Every agent lives under its own subtree `flotilla/i/{instanceId}/...`, which is
 * what the broker ACL enforces; registration happens under `flotilla/register/{clientId}/...`.
 */
export const TOPIC_ROOT = "flotilla";

export const topics = {
  /** control → agent, retained: the instance's full desired task set with a generation. */
  desired: (instanceId: string) => `${TOPIC_ROOT}/i/${instanceId}/desired`,
  /** agent → control: full known state of the instance. */
  report: (instanceId: string) => `${TOPIC_ROOT}/i/${instanceId}/report`,
  /** agent → control, retained, also the MQTT last will: connected or not. */
  presence: (instanceId: string) => `${TOPIC_ROOT}/i/${instanceId}/presence`,
  /**
   * agent → control, QoS 0, not retained: sampled cpu and memory use of the running containers
   * (lossy by design: the next sample replaces a lost one). Not in the report, so full-state
   * reports stay the size they were and a sample costs only its own few bytes.
   */
  stats: (instanceId: string) => `${TOPIC_ROOT}/i/${instanceId}/stats`,
  /** control → agent: request/response channel for on-demand work (logs, ...). */
  requests: (instanceId: string) => `${TOPIC_ROOT}/i/${instanceId}/req`,
  responses: (instanceId: string) => `${TOPIC_ROOT}/i/${instanceId}/res`,
  /**
   * control → every agent of the cluster, retained: the cluster's service discovery records with a
   * generation (shared/discovery.ts). One message per cluster, fanned out by the broker: the same
   * records go to every host, so a copy per instance would cost the control N publishes (and the
   * broker N retained copies) per change. Cluster names are `[A-Za-z0-9_-]`, safe in a topic.
   */
  clusterDiscovery: (clusterName: string) => `${TOPIC_ROOT}/c/${clusterName}/discovery`,
  instancePrefix: (instanceId: string) => `${TOPIC_ROOT}/i/${instanceId}/`,
  registerRequest: (clientId: string) => `${TOPIC_ROOT}/register/${clientId}/request`,
  registerReply: (clientId: string) => `${TOPIC_ROOT}/register/${clientId}/reply`,
  registerPrefix: (clientId: string) => `${TOPIC_ROOT}/register/${clientId}/`,
  /** Wildcards the control service subscribes to. */
  allReports: `${TOPIC_ROOT}/i/+/report`,
  allPresence: `${TOPIC_ROOT}/i/+/presence`,
  allResponses: `${TOPIC_ROOT}/i/+/res`,
  allStats: `${TOPIC_ROOT}/i/+/stats`,
  allRegisterRequests: `${TOPIC_ROOT}/register/+/request`,
} as const;

/** Extracts the instance id from `flotilla/i/{id}/...`, or null. */
export function instanceIdFromTopic(topic: string): string | null {
  const parts = topic.split("/");
  return parts.length >= 4 && parts[0] === TOPIC_ROOT && parts[1] === "i" ? (parts[2] ?? null) : null;
}

export function registerClientIdFromTopic(topic: string): string | null {
  const parts = topic.split("/");
  return parts.length === 4 && parts[0] === TOPIC_ROOT && parts[1] === "register" ? (parts[2] ?? null) : null;
}

/** MQTT usernames: an activation registers as `activation:{id}`, an instance as its id. */
export const ACTIVATION_USER_PREFIX = "activation:";
