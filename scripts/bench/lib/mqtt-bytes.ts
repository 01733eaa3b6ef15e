/**
 * Bytes an MQTT 3.1.1 PUBLISH takes on the wire, and the TCP/IP headers around it: what a message
 * adds to a host's uplink. Counted, not measured, so a unit test can hold the stats message to its
 * budget without a network.
 */

/** MQTT's variable-length "remaining length" field: 1-4 bytes. */
function remainingLengthBytes(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

/** A PUBLISH packet: fixed header, topic (2-byte length + UTF-8), packet id at QoS 1/2, payload. */
export function mqttPublishBytes(topic: string, payloadBytes: number, qos: 0 | 1 = 0): number {
  const remaining = 2 + Buffer.byteLength(topic) + (qos > 0 ? 2 : 0) + payloadBytes;
  return 1 + remainingLengthBytes(remaining) + remaining;
}

/** IPv4 (20) + TCP with the timestamp option Linux uses (32): one segment's headers. */
export const TCP_IP_HEADER_BYTES = 52;

/** kbit/s for `bytes` sent once every `intervalMs`. */
export function kbitPerSecond(bytes: number, intervalMs: number): number {
  return (bytes * 8) / 1000 / (intervalMs / 1000);
}
