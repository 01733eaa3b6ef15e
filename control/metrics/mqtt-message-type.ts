import type { MqttMessageType } from "./control-metrics.ts";

/** The last topic segment names the message (shared/topics.ts). */
const BY_LAST_SEGMENT: Record<string, MqttMessageType> = {
  desired: "desired",
  report: "report",
  presence: "presence",
  stats: "stats",
  req: "request",
  res: "response",
  request: "register",
  reply: "register-reply",
};

/** The message type a Flotilla topic carries, or null for a topic that is not one of ours. */
export function mqttMessageType(topic: string): MqttMessageType | null {
  return BY_LAST_SEGMENT[topic.slice(topic.lastIndexOf("/") + 1)] ?? null;
}
