import type { PreparedRequest } from "../prepared-request.ts";
import { REASON_PORTS } from "../reasons.ts";
import type { FailureReason, InstanceView } from "../types.ts";

/** tcp/53 and udp/53 are different sockets: each protocol is checked against its own set only. */
export function checkPorts(instance: InstanceView, request: PreparedRequest): FailureReason | null {
  const { tcpPorts, udpPorts } = request.reservation;
  for (const p of tcpPorts) if (instance.usedPorts.tcp.has(p)) return REASON_PORTS;
  for (const p of udpPorts) if (instance.usedPorts.udp.has(p)) return REASON_PORTS;
  // A port a host's ingress proxy listens on is as taken as one a task holds.
  const held = request.heldTcpPorts?.(instance);
  if (held) for (const p of tcpPorts) if (held.has(p)) return REASON_PORTS;
  return null;
}
