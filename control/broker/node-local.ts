import { instanceIdFromTopic, registerClientIdFromTopic, topics } from "../../shared/topics.ts";

/**
 * Messages that must be handled by exactly one control process: a registration creates an
 * instance, a report is applied once. With a clustered embedded broker every node's control
 * process subscribes to them (aedes has no shared subscriptions), and each node hands its own
 * control only the ones published on that node. A publish enters the cluster through exactly one
 * node, so exactly one process gets it, and the agents spread the work over the nodes as they
 * spread their connections. (Mosquitto under HA does the same with `$share/` subscriptions.)
 * Presence, stats and responses are not node-local: every process keeps them.
 */
export function isNodeLocalTopic(topic: string): boolean {
  if (registerClientIdFromTopic(topic) !== null) return topic.endsWith("/request");
  const id = instanceIdFromTopic(topic);
  return id !== null && topic === topics.report(id);
}
