import { afterEach, describe, expect, test } from "bun:test";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { IngressProxy } from "../../../agent/ingress/proxy.ts";
import type { DiscoverySet } from "../../../shared/discovery.ts";
import { ingressListeners, type IngressTarget } from "../../../shared/ingress.ts";
import { freePort } from "../../../scripts/bench/lib/free-port.ts";

/**
 * Target preference (docs/ingress.md): this host's serving tasks, then tasks on hosts of the same
 * site (ecs.availability-zone), then the rest; real TCP on 127.0.0.1.
 */
const HOST = "127.0.0.1";
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function backend(name: string): Promise<number> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("data", () => s.end(name));
  });
  await new Promise<void>((r) => server.listen(0, HOST, () => r()));
  cleanup.push(() => new Promise((r) => (sockets.forEach((s) => s.destroy()), server.close(r))));
  return (server.address() as { port: number }).port;
}

/** Which backend answered one connection through the proxy. */
async function answer(port: number): Promise<string> {
  const socket = createConnection(port, HOST);
  cleanup.push(() => socket.destroy());
  return new Promise<string>((resolve, reject) => {
    let got = "";
    socket.on("data", (d) => (got += d));
    socket.once("error", reject);
    socket.once("close", () => resolve(got));
    socket.write("hi");
  });
}

const target = (taskId: string, port: number, opts: { local?: boolean; site?: string } = {}): IngressTarget => ({
  taskId,
  local: opts.local ?? false,
  ...(opts.site ? { site: opts.site } : {}),
  host: HOST,
  port,
});

async function proxied(site: string | undefined, targets: IngressTarget[], localServes?: (id: string) => boolean): Promise<number> {
  const listenPort = await freePort();
  const p = new IngressProxy({ address: HOST, site, localServes });
  cleanup.push(() => p.stop());
  await p.update([{ service: "web", listenPort, containerPort: 80, targets }]);
  return listenPort;
}

const answers = async (port: number, n: number) => {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await answer(port));
  return out;
};

describe("ingress target preference", () => {
  test("same-site targets take every connection over other sites, in turn", async () => {
    const [near1, near2, far] = await Promise.all([backend("near1"), backend("near2"), backend("far")]);
    const port = await proxied("dc1", [target("far", far, { site: "dc2" }), target("near1", near1, { site: "dc1" }), target("near2", near2, { site: "dc1" })]);
    expect((await answers(port, 4)).sort()).toEqual(["near1", "near1", "near2", "near2"]);
  });

  test("local first, then same site, then others: each group only when the one before has none that accepts", async () => {
    const [local, near, far] = await Promise.all([backend("local"), backend("near"), backend("far")]);
    let localUp = true;
    const deadNear = await freePort();
    const targets = [target("far", far, { site: "dc2" }), target("near", near, { site: "dc1" }), target("local", local, { local: true, site: "dc1" })];
    const port = await proxied("dc1", targets, (id) => (id === "local" ? localUp : true));
    expect(await answers(port, 2)).toEqual(["local", "local"]);
    localUp = false; // the agent sees its task stopped
    expect(await answers(port, 2)).toEqual(["near", "near"]);
    // A same-site target that refuses is skipped for the next group.
    const port2 = await proxied("dc1", [target("far", far, { site: "dc2" }), target("near", deadNear, { site: "dc1" })]);
    expect(await answers(port2, 2)).toEqual(["far", "far"]);
  });

  test("a host without a site treats every other host alike", async () => {
    const [a, b] = await Promise.all([backend("a"), backend("b")]);
    const port = await proxied(undefined, [target("a", a, { site: "dc1" }), target("b", b)]);
    expect((await answers(port, 4)).sort()).toEqual(["a", "a", "b", "b"]);
  });

  test("the discovery set carries each task's site into its targets", () => {
    const set: DiscoverySet = {
      clusterName: "prod",
      clusterLabel: "prod",
      generation: 1,
      services: [
        {
          name: "web",
          ingress: [{ containerPort: 80, listenPort: 8080, protocol: "tcp" }],
          tasks: [
            { taskId: "t1", instanceId: "i-a", address: "10.0.0.1", site: "dc1", ports: [{ containerPort: 80, hostPort: 32768, protocol: "tcp" }] },
            { taskId: "t2", instanceId: "i-b", address: "10.0.0.2", ports: [{ containerPort: 80, hostPort: 32769, protocol: "tcp" }] },
          ],
        },
      ],
    };
    expect(ingressListeners(set, "i-b")[0]!.targets).toEqual([
      { taskId: "t1", local: false, site: "dc1", host: "10.0.0.1", port: 32768 },
      { taskId: "t2", local: true, host: "10.0.0.2", port: 32769 },
    ]);
  });
});
