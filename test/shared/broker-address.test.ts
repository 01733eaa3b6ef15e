import { describe, expect, test } from "bun:test";
import { brokerAddress } from "../../shared/broker-address.ts";

describe("brokerAddress", () => {
  test("takes protocol, host and port from the URL", () => {
    expect(brokerAddress("mqtt://10.0.0.5:1884")).toEqual({ protocol: "mqtt", host: "10.0.0.5", port: 1884 });
    expect(brokerAddress("mqtts://broker.example:9883")).toEqual({ protocol: "mqtts", host: "broker.example", port: 9883 });
  });

  test("default ports are MQTT's: 1883, and 8883 with TLS", () => {
    expect(brokerAddress("mqtt://broker").port).toBe(1883);
    expect(brokerAddress("mqtts://broker").port).toBe(8883);
  });

  test("an IPv6 literal loses its brackets", () => {
    expect(brokerAddress("mqtt://[::1]:1883").host).toBe("::1");
  });

  test("anything but mqtt:// and mqtts:// is refused, naming the URL", () => {
    expect(() => brokerAddress("ws://broker:80")).toThrow('broker URL must be mqtt:// or mqtts://, got "ws://broker:80"');
    expect(() => brokerAddress("not a url")).toThrow();
  });
});
