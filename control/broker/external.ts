import type mqtt from "mqtt";
import { ACTIVATION_USER_PREFIX, topics } from "../../shared/topics.ts";
import { CONTROL_USERNAME, registrationClientId } from "./acl.ts";
import { DynsecClient } from "./dynsec.ts";

type AclType = "publishClientSend" | "publishClientReceive" | "subscribePattern" | "unsubscribePattern";
export type Acl = { acltype: AclType; topic: string };

export const CONTROL_ROLE = "flotilla-control";
export const instanceRole = (id: string) => `flotilla-instance-${id}`;
export const activationRole = (id: string) => `flotilla-activation-${id}`;

/**
 * The rights of control/broker/acl.ts as dynamic-security ACLs. Mosquitto 2.0's plugin has no %c/%u
 * patterns (they come in 2.1), so every instance and activation gets its own role naming its topics.
 */
export function controlAcls(): Acl[] {
  return [
    ...(["publishClientSend", "publishClientReceive", "subscribePattern", "unsubscribePattern"] as const).map((acltype) => ({ acltype, topic: "flotilla/#" })),
    // HA: Mosquitto checks a shared subscription's filter with its $share/{group}/ prefix.
    ...(["subscribePattern", "unsubscribePattern"] as const).map((acltype) => ({ acltype, topic: `$share/${CONTROL_SHARE_GROUP}/flotilla/#` })),
  ];
}

/** The MQTT shared-subscription group of the control processes (HA). */
export const CONTROL_SHARE_GROUP = "flotilla-control";

export function instanceAcls(id: string): Acl[] {
  const publish = [topics.report(id), topics.presence(id), topics.responses(id), topics.stats(id)];
  const receive = [topics.desired(id), topics.requests(id)];
  return [
    ...publish.map((topic) => ({ acltype: "publishClientSend" as const, topic })),
    ...receive.map((topic) => ({ acltype: "subscribePattern" as const, topic })),
    ...receive.map((topic) => ({ acltype: "publishClientReceive" as const, topic })),
  ];
}

export function activationAcls(activationId: string): Acl[] {
  const clientId = registrationClientId(activationId);
  return [
    { acltype: "publishClientSend", topic: topics.registerRequest(clientId) },
    { acltype: "subscribePattern", topic: topics.registerReply(clientId) },
    { acltype: "publishClientReceive", topic: topics.registerReply(clientId) },
  ];
}

export interface ExternalBrokerOptions {
  url: string;
  adminUser: string;
  adminPassword: string;
  connectOptions?: mqtt.IClientOptions;
}

/**
 * Mosquitto 2 with the dynamic-security plugin as the agents' broker. The control service creates,
 * per activation and per instance, a client (client id pinned) with a role naming exactly its
 * topics; deleting the client also disconnects it at once.
 */
export class ExternalBroker {
  private constructor(
    private dynsec: DynsecClient,
    readonly url: string,
  ) {}

  static async start(opts: ExternalBrokerOptions): Promise<ExternalBroker> {
    const dynsec = await DynsecClient.connect(opts.url, opts.adminUser, opts.adminPassword, opts.connectOptions);
    const b = new ExternalBroker(dynsec, opts.url);
    // Nothing is allowed unless a role grants it.
    await dynsec.run({
      command: "setDefaultACLAccess",
      acls: [
        { acltype: "publishClientSend", allow: false },
        { acltype: "publishClientReceive", allow: false },
        { acltype: "subscribe", allow: false },
        { acltype: "unsubscribe", allow: true },
      ],
    });
    await b.controlRole();
    return b;
  }

  /**
   * Creates the control role when missing, never deletes it: with several control processes (HA)
   * a restart of one must not strip the role from the others' clients (deleting a role removes it
   * from every client holding it, and the broker kicks them).
   */
  private async controlRole(): Promise<void> {
    await this.dynsec.ensure({ command: "createRole", rolename: CONTROL_ROLE });
    for (const acl of controlAcls()) await this.dynsec.ensure({ command: "addRoleACL", rolename: CONTROL_ROLE, ...acl, allow: true, priority: 0 });
  }

  // The commands of one change are issued together (not one awaited after the other), so they
  // travel in one message to the plugin, which runs them in order: one round trip per change.

  /** (Re)creates a role with exactly these ACLs. */
  private role(rolename: string, acls: Acl[]): Promise<void>[] {
    return [
      this.dynsec.ensure({ command: "deleteRole", rolename }),
      this.dynsec.run({ command: "createRole", rolename, acls: acls.map((a) => ({ ...a, allow: true, priority: 0 })) }),
    ];
  }

  private client(username: string, password: string, rolename: string, clientid?: string): Promise<void>[] {
    return [
      this.dynsec.ensure({ command: "deleteClient", username }),
      this.dynsec.run({ command: "createClient", username, password, roles: [{ rolename }], ...(clientid ? { clientid } : {}) }),
    ];
  }

  /** The control's own client, with a fresh password each start (HA: one username per process). */
  async controlClient(password: string, username: string = CONTROL_USERNAME): Promise<void> {
    await Promise.all(this.client(username, password, CONTROL_ROLE));
  }

  async activationCreated(activationId: string, code: string): Promise<void> {
    await Promise.all([
      ...this.role(activationRole(activationId), activationAcls(activationId)),
      ...this.client(`${ACTIVATION_USER_PREFIX}${activationId}`, code, activationRole(activationId), registrationClientId(activationId)),
    ]);
  }

  async activationGone(activationId: string): Promise<void> {
    await Promise.all([
      this.dynsec.ensure({ command: "deleteClient", username: `${ACTIVATION_USER_PREFIX}${activationId}` }),
      this.dynsec.ensure({ command: "deleteRole", rolename: activationRole(activationId) }),
    ]);
  }

  /** The instance's client id is pinned to its id, so no one else can take over its session. */
  async instanceRegistered(instanceId: string, password: string): Promise<void> {
    await Promise.all([...this.role(instanceRole(instanceId), instanceAcls(instanceId)), ...this.client(instanceId, password, instanceRole(instanceId), instanceId)]);
  }

  /** Deleting the client drops its live connection too. */
  async instanceRevoked(instanceId: string): Promise<void> {
    await Promise.all([this.dynsec.ensure({ command: "deleteClient", username: instanceId }), this.dynsec.ensure({ command: "deleteRole", rolename: instanceRole(instanceId) })]);
  }

  async close(): Promise<void> {
    await this.dynsec.close();
  }
}
