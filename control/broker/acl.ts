import { ACTIVATION_USER_PREFIX, topics } from "../../shared/topics.ts";

/** Who a broker connection is, decided once at CONNECT. */
export type Principal =
  | { kind: "control" }
  | { kind: "activation"; activationId: string }
  /** clusterName: an instance may read its own cluster's discovery records. */
  | { kind: "instance"; instanceId: string; clusterName: string };

export const CONTROL_USERNAME = "flotilla-control";
export const REGISTRATION_CLIENT_PREFIX = "reg-";

/** The MQTT client id an agent registers with, for an activation. */
export function registrationClientId(activationId: string): string {
  return `${REGISTRATION_CLIENT_PREFIX}${activationId}`;
}

/** Client ids are bound to principals so no one can take over another's session by its id. */
export function clientIdAllowed(p: Principal, clientId: string): boolean {
  switch (p.kind) {
    case "control":
      return clientId.startsWith("flotilla-control-");
    case "activation":
      // One registration client id per activation: an external broker's ACLs can then name its
      // topics exactly (Mosquitto 2.0's dynamic security has no %c patterns).
      return clientId === registrationClientId(p.activationId);
    case "instance":
      return clientId === p.instanceId;
  }
}

/** An agent may publish only under its own subtree; an activation only its registration request. */
export function mayPublish(p: Principal, clientId: string, topic: string): boolean {
  switch (p.kind) {
    case "control":
      return true;
    case "activation":
      return topic === topics.registerRequest(clientId);
    case "instance":
      return topic === topics.report(p.instanceId) || topic === topics.presence(p.instanceId) || topic === topics.responses(p.instanceId) || topic === topics.stats(p.instanceId);
  }
}

export function maySubscribe(p: Principal, clientId: string, filter: string): boolean {
  switch (p.kind) {
    case "control":
      return true;
    case "activation":
      return filter === topics.registerReply(clientId);
    case "instance":
      return filter === topics.desired(p.instanceId) || filter === topics.clusterDiscovery(p.clusterName) || filter === topics.requests(p.instanceId);
  }
}

export function isActivationUsername(username: string): boolean {
  return username.startsWith(ACTIVATION_USER_PREFIX);
}
