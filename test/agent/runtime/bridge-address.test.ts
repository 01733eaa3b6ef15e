import { describe, expect, test } from "bun:test";
import { firstHostAddress } from "../../../agent/runtime/docker.ts";

/** Without a Gateway in the bridge's IPAM config, Docker gave the bridge its subnet's first address. */
describe("the Docker bridge's gateway from its subnet", () => {
  test("the first host address of the subnet, whatever its size", () => {
    expect(firstHostAddress("172.17.0.0/16")).toBe("172.17.0.1");
    expect(firstHostAddress("10.1.2.128/25")).toBe("10.1.2.129");
    expect(firstHostAddress("192.168.5.7/24")).toBe("192.168.5.1");
  });

  test("not an IPv4 subnet with room for hosts: none", () => {
    expect(firstHostAddress("fd00::/64")).toBeNull();
    expect(firstHostAddress("10.0.0.0/31")).toBeNull();
    expect(firstHostAddress("bridge")).toBeNull();
  });
});
