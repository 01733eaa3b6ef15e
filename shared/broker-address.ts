/**
 * An mqtt:// or mqtts:// URL as the connection options mqtt.js takes. mqtt.js parses a URL string
 * with Node's legacy `url.parse()`, which Bun (like Node 22+) answers with a DEP0169 deprecation
 * warning on the agent's and the control's output at every start; parsed here with the WHATWG URL
 * instead, mqtt.js never calls it. Both sides validate the URL's shape when reading their flags.
 */
export interface BrokerAddress {
  protocol: "mqtt" | "mqtts";
  host: string;
  port: number;
}

const DEFAULT_PORTS = { mqtt: 1883, mqtts: 8883 } as const;

export function brokerAddress(url: string): BrokerAddress {
  const u = new URL(url);
  const protocol = u.protocol.slice(0, -1);
  if (protocol !== "mqtt" && protocol !== "mqtts") throw new Error(`broker URL must be mqtt:// or mqtts://, got "${url}"`);
  // WHATWG keeps an IPv6 literal's brackets in hostname; sockets want the bare address.
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  return { protocol, host, port: u.port ? Number(u.port) : DEFAULT_PORTS[protocol] };
}
