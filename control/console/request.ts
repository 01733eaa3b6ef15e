import type { Context } from "hono";
import type { BrokerProvisioning } from "../api/middleware/broker-provisioning/index.ts";
import type { ChangeBus } from "../change-bus.ts";
import type { LogRequests } from "../link/log-requests.ts";
import type { AgentReleaseStore } from "../ops/agent-release-store.ts";
import type { SendAgentRequest } from "../ops/agent-updates.ts";
import type { TokenRow } from "../ops/tokens.ts";
import type { Viewer } from "./layout.tsx";
import type { Session, SessionStore } from "./sessions.ts";
import type { Logger } from "../../shared/log.ts";

export interface ConsoleOptions {
  sessions?: SessionStore;
  /** Change notifications pushed to open pages; without a bus pages do not update themselves. */
  changes?: ChangeBus;
  /** Log streams from agents (the agent link's), for the task page's log tail. */
  logRequests?: () => LogRequests | undefined;
  /** External broker: activation credentials are created and removed there too (as the API does). */
  brokerProvisioning?: BrokerProvisioning;
  log?: Logger;
  /** After a host is deregistered: drop the agent's broker session and its retained desired set. */
  instanceRevoked?: (instanceId: string) => Promise<void>;
  /** Agent releases and the agent link, for the host page's "Update agent" (as the API's update-agent route). */
  agentReleases?: AgentReleaseStore;
  agentRequests?: () => SendAgentRequest | undefined;
  /** The broker agents connect to (its scheme and port go into the install line). */
  brokerUrl?: string;
}

/** What the console middleware found out about a request; read by the page routes. */
export interface ConsoleRequest {
  session: Session;
  token: TokenRow;
  viewer: Viewer;
}
export const requests = new WeakMap<Context, ConsoleRequest>();
export function consoleRequest(c: Context): ConsoleRequest {
  const r = requests.get(c);
  if (!r) throw new Error("console request without a session (middleware not mounted)");
  return r;
}

export type AuditConsole = (c: Context, method: string, apiPath: string, status: number) => Promise<void>;
