import type mqtt from "mqtt";
import { ACTIVATION_USER_PREFIX, topics } from "../../shared/topics.ts";
import { CONTROL_USERNAME, registrationClientId } from "./acl.ts";
import { DynsecClient } from "./dynsec.ts";

type AclType = "publishClientSend" | "publishClientReceive" | "subscribePattern" | "unsubscribePattern";
export type Acl = { acltype: AclType; topic: string };

export const CONTROL_ROLE = "flotilla-control";
export const instanceRole = (id: string) => `flotilla-instance-${id}`;
export const activationRole = (id: string) => `flotilla-activation-${id}`;
/** Shared by every instance of the cluster: the right to read the cluster's discovery records. */
export const clusterRole = (clusterName: string) => `flotilla-cluster-${clusterName}`;

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

/**
 * The cluster's retained discovery set (topics.clusterDiscovery), readable by its instances only.
 * In a role of its own, shared by the cluster's instances, not in each instance's role: the
 * instance roles stay exactly as they were (Mosquitto 2.0.11 died re-registering an instance whose
 * recreated role also named the discovery topic) and an instance costs no extra ACL entries.
 */
export function clusterAcls(clusterName: string): Acl[] {
  const topic = topics.clusterDiscovery(clusterName);
  return [
    { acltype: "subscribePattern", topic },
    { acltype: "publishClientReceive", topic },
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
  /** Cluster roles this process has made sure of (created once, never deleted: see clusterRoleOf). */
  private clusterRoles = new Map<string, Promise<void>>();

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

  private client(username: string, password: string, rolenames: string[], clientid?: string): Promise<void>[] {
    return [
      this.dynsec.ensure({ command: "deleteClient", username }),
      this.dynsec.run({ command: "createClient", username, password, roles: rolenames.map((rolename) => ({ rolename })), ...(clientid ? { clientid } : {}) }),
    ];
  }

  /**
   * (Re)creates a client and its own role with exactly these ACLs (plus any shared roles).
   *
   * The old client goes before its role: Mosquitto 2.0.11's deleteRole leaves the deleted role in
   * the lists of clients still holding it, and the config save that follows reads its freed name
   * (a segfault in dynsec_rolelist__all_to_json, seen re-registering an instance whose client held
   * its own role and its cluster's). With the client gone first no client holds the role.
   */
  private clientWithOwnRole(c: { username: string; password: string; rolename: string; acls: Acl[]; sharedRoles?: string[]; clientid?: string }): Promise<void>[] {
    // Issued (queued) in this order, which is the order the plugin runs them in.
    const deleteClient = this.dynsec.ensure({ command: "deleteClient", username: c.username });
    const deleteRole = this.dynsec.ensure({ command: "deleteRole", rolename: c.rolename });
    const createRole = this.dynsec.run({ command: "createRole", rolename: c.rolename, acls: c.acls.map((a) => ({ ...a, allow: true, priority: 0 })) });
    const roles = [c.rolename, ...(c.sharedRoles ?? [])].map((rolename) => ({ rolename }));
    const createClient = this.dynsec.run({ command: "createClient", username: c.username, password: c.password, roles, ...(c.clientid ? { clientid: c.clientid } : {}) });
    return [deleteClient, deleteRole, createRole, createClient];
  }

  /**
   * Creates the cluster's role once per process when missing ("already exists" is fine: another
   * control process or an earlier run made it with the same ACLs). Never deleted or recreated: it
   * is shared, and deleting a role strips it from (and kicks) every client holding it.
   */
  private clusterRoleOf(clusterName: string): Promise<void> {
    let made = this.clusterRoles.get(clusterName);
    if (!made) {
      const rolename = clusterRole(clusterName);
      made = this.dynsec.ensure({ command: "createRole", rolename, acls: clusterAcls(clusterName).map((a) => ({ ...a, allow: true, priority: 0 })) });
      // A failure is retried by the next registration rather than remembered.
      made.catch(() => this.clusterRoles.delete(clusterName));
      this.clusterRoles.set(clusterName, made);
    }
    return made;
  }

  /** The control's own client, with a fresh password each start (HA: one username per process). */
  async controlClient(password: string, username: string = CONTROL_USERNAME): Promise<void> {
    await Promise.all(this.client(username, password, [CONTROL_ROLE]));
  }

  async activationCreated(activationId: string, code: string): Promise<void> {
    await Promise.all(
      this.clientWithOwnRole({
        username: `${ACTIVATION_USER_PREFIX}${activationId}`,
        password: code,
        rolename: activationRole(activationId),
        acls: activationAcls(activationId),
        clientid: registrationClientId(activationId),
      }),
    );
  }

  async activationGone(activationId: string): Promise<void> {
    await Promise.all([
      this.dynsec.ensure({ command: "deleteClient", username: `${ACTIVATION_USER_PREFIX}${activationId}` }),
      this.dynsec.ensure({ command: "deleteRole", rolename: activationRole(activationId) }),
    ]);
  }

  /**
   * The instance's client id is pinned to its id, so no one else can take over its session. Its
   * client holds its own role and its cluster's (discovery records), the cluster's made first.
   */
  async instanceRegistered(instanceId: string, password: string, clusterName: string): Promise<void> {
    await this.clusterRoleOf(clusterName);
    const made = Promise.all(
      this.clientWithOwnRole({
        username: instanceId,
        password,
        rolename: instanceRole(instanceId),
        acls: instanceAcls(instanceId),
        sharedRoles: [clusterRole(clusterName)],
        clientid: instanceId,
      }),
    );
    // A cluster role removed behind our back (by hand) fails createClient ("Role not found"):
    // forget it, so the agent's next registration attempt creates it again.
    await made.catch((e) => {
      this.clusterRoles.delete(clusterName);
      throw e;
    });
  }

  /** Deleting the client drops its live connection too. */
  async instanceRevoked(instanceId: string): Promise<void> {
    await Promise.all([this.dynsec.ensure({ command: "deleteClient", username: instanceId }), this.dynsec.ensure({ command: "deleteRole", rolename: instanceRole(instanceId) })]);
  }

  async close(): Promise<void> {
    await this.dynsec.close();
  }
}
