import { describe, expect, test } from "bun:test";
import { InventoryError, parseInventory } from "../../scripts/fleet/inventory.ts";
import { mapBounded } from "../../scripts/fleet/pool.ts";

describe("fleet inventory", () => {
  test("YAML with defaults: user, port and key are inherited, keys resolve against the inventory", () => {
    const hosts = parseInventory(
      "/srv/fleet/hosts.yaml",
      "defaults:\n  user: pi\n  key: keys/id\n  attributes: {site: berlin}\nhosts:\n  - host: 10.0.0.1\n  - host: 10.0.0.2\n    port: 2222\n    user: root\n    attributes: {rack: 7}\n",
    );
    expect(hosts).toEqual([
      { id: "pi@10.0.0.1:22", host: "10.0.0.1", user: "pi", port: 22, key: "/srv/fleet/keys/id", attributes: { site: "berlin" } },
      { id: "root@10.0.0.2:2222", host: "10.0.0.2", user: "root", port: 2222, key: "/srv/fleet/keys/id", attributes: { site: "berlin", rack: "7" } },
    ]);
  });

  test("CSV with a header row and k=v;k=v attributes", () => {
    const hosts = parseInventory("/x/hosts.csv", "host,user,port,key,attributes\n# comment\npi1.local,pi,22,/k,site=a;gpu=none\npi2.local,,,,\n");
    expect(hosts.map((h) => [h.id, h.key, h.attributes])).toEqual([
      ["pi@pi1.local:22", "/k", { site: "a", gpu: "none" }],
      ["root@pi2.local:22", undefined, {}],
    ]);
  });

  test("errors name the file, the place and the problem", () => {
    const bad: [string, string, RegExp][] = [
      ["h.yaml", "hosts:\n  - host: a\n    port: 99999\n", /h\.yaml: hosts\[0\]\.port: /],
      ["h.yaml", "- host: a\n  colour: red\n", /h\.yaml: \[0\]: .*colour/],
      ["h.yaml", "hosts: [\n", /h\.yaml: not valid YAML/],
      ["h.csv", "hostname,user\nx,y\n", /h\.csv: line 1: header .*unknown: hostname/],
      ["h.csv", "host,attributes\nx,site\n", /h\.csv: line 2: attribute must be KEY=VALUE/],
      ["h.yaml", "- host: a\n- host: a\n", /host root@a:22 is listed twice/],
    ];
    for (const [file, text, re] of bad) {
      expect(() => parseInventory(file, text)).toThrow(InventoryError);
      expect(() => parseInventory(file, text)).toThrow(re);
    }
  });

  test("mapBounded never runs more than the limit at once and keeps order", async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapBounded([5, 1, 4, 2, 3, 0, 6], 3, async (n) => {
      peak = Math.max(peak, ++inFlight);
      await Bun.sleep(n);
      inFlight--;
      return n * 2;
    });
    expect(out).toEqual([10, 2, 8, 4, 6, 0, 12]);
    expect(peak).toBe(3);
  });
});
