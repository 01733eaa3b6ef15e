import { afterEach, describe, expect, test } from "bun:test";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { DiscoveryStore } from "../../../agent/discovery/discovery-store.ts";
import { IngressProxy } from "../../../agent/ingress/proxy.ts";
import type { DiscoverySet } from "../../../shared/discovery.ts";
import { ingressListeners, type IngressTarget } from "../../../shared/ingress.ts";
import { freePort } from "../../../scripts/bench/lib/free-port.ts";

const HOST = "127.0.0.1";
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A TCP server that answers each line with its name (and keeps the connection open). */
async function backend(name: string): Promise<{ port: number; server: Server }> {
  const server = createServer((s) => s.on("data", (d) => s.write(`${name}:${d}`)));
  await new Promise<void>((r) => server.listen(0, HOST, () => r()));
  cleanup.push(() => new Promise((r) => server.close(r)));
  const sockets = new Set<Socket>();
  server.on("connection", (s) => (sockets.add(s), s.on("close", () => sockets.delete(s))));
  cleanup.push(() => sockets.forEach((s) => s.destroy()));
  return { port: (server.address() as { port: number }).port, server };
}

/** Opens a connection, sends a line, resolves with the answer; the socket stays open. */
async function ask(port: number, text = "hi"): Promise<{ answer: string; socket: Socket }> {
  const socket = createConnection(port, HOST);
  cleanup.push(() => socket.destroy());
  const answer = await new Promise<string>((resolve, reject) => {
    socket.once("data", (d) => resolve(String(d)));
    socket.once("error", reject);
    socket.once("close", () => resolve(""));
    socket.write(text);
  });
  return { answer, socket };
}

function proxy(localServes?: (taskId: string) => boolean) {
  const problems: [number, string | null][] = [];
  const p = new IngressProxy({ address: HOST, localServes, onProblem: (port, m) => problems.push([port, m]) });
  cleanup.push(() => p.stop());
  return { p, problems };
}

const target = (taskId: string, port: number, local = false): IngressTarget => ({ taskId, local, host: HOST, port });
const names = (answers: string[]) => answers.map((a) => a.split(":")[0]);

describe("ingress proxy", () => {
  test("forwards each connection in turn; this host's targets first", async () => {
    const [a, b, c] = await Promise.all([backend("a"), backend("b"), backend("c")]);
    const listenPort = await freePort();
    const { p } = proxy();
    await p.update([{ service: "web", listenPort, containerPort: 80, targets: [target("a", a.port), target("b", b.port)] }]);
    expect(p.ports).toEqual([listenPort]);
    const answers: string[] = [];
    for (let i = 0; i < 4; i++) answers.push((await ask(listenPort, `r${i}`)).answer);
    expect(names(answers).sort()).toEqual(["a", "a", "b", "b"]);
    expect(answers[0]).toMatch(/^[ab]:r0$/);
    // A local target takes every connection while it serves.
    await p.update([{ service: "web", listenPort, containerPort: 80, targets: [target("a", a.port), target("c", c.port, true), target("b", b.port)] }]);
    for (let i = 0; i < 3; i++) expect((await ask(listenPort)).answer).toBe("c:hi");
  });

  test("a local task the agent sees stopped gets no connection; a refusing target is skipped", async () => {
    const a = await backend("a");
    const deadPort = await freePort();
    const listenPort = await freePort();
    const { p } = proxy((taskId) => taskId !== "stopped");
    await p.update([{ service: "web", listenPort, containerPort: 80, targets: [target("stopped", a.port, true), target("dead", deadPort), target("a", a.port)] }]);
    for (let i = 0; i < 3; i++) expect((await ask(listenPort)).answer).toBe("a:hi");
  });

  test("a target that leaves gets no new connections; its open ones go on (draining)", async () => {
    const [a, b] = await Promise.all([backend("a"), backend("b")]);
    const listenPort = await freePort();
    const { p } = proxy();
    await p.update([{ service: "web", listenPort, containerPort: 80, targets: [target("a", a.port)] }]);
    const open = await ask(listenPort, "first");
    expect(open.answer).toBe("a:first");
    await p.update([{ service: "web", listenPort, containerPort: 80, targets: [target("b", b.port)] }]);
    for (let i = 0; i < 3; i++) expect((await ask(listenPort)).answer).toBe("b:hi");
    // The connection made before still reaches a.
    const again = new Promise<string>((r) => open.socket.once("data", (d) => r(String(d))));
    open.socket.write("second");
    expect(await again).toBe("a:second");
  });

  test("no targets: the connection is closed; a removed ingress stops listening", async () => {
    const listenPort = await freePort();
    const { p } = proxy();
    await p.update([{ service: "web", listenPort, containerPort: 80, targets: [] }]);
    expect((await ask(listenPort)).answer).toBe("");
    await p.update([]);
    expect(p.ports).toEqual([]);
    await expect(ask(listenPort)).rejects.toThrow();
  });

  test("a port that cannot be bound is reported, not fatal, and tried again at the next update", async () => {
    const holder = await backend("holder");
    const a = await backend("a");
    const { p, problems } = proxy();
    await p.update([{ service: "web", listenPort: holder.port, containerPort: 80, targets: [target("a", a.port)] }]);
    expect(p.ports).toEqual([]);
    expect(p.problems.get(holder.port)).toContain("EADDRINUSE");
    expect(problems).toEqual([[holder.port, expect.stringContaining("EADDRINUSE")]]);
    await new Promise((r) => holder.server.close(r));
    await p.update([{ service: "web", listenPort: holder.port, containerPort: 80, targets: [target("a", a.port)] }]);
    expect(p.ports).toEqual([holder.port]);
    expect(problems.at(-1)).toEqual([holder.port, null]);
    expect((await ask(holder.port)).answer).toBe("a:hi");
  });
});

describe("ingress proxy transfers", () => {
  test("large transfers both ways arrive whole and in order (backpressure), and a target's close ends the client's connection after its last byte", async () => {
    // An echo server that, once the client has sent SIZE bytes, answers them and closes.
    const SIZE = 16 * 1024 * 1024;
    const server = createServer((s) => {
      let got = 0;
      s.on("data", (d) => {
        got += d.length;
        s.write(d);
        if (got >= SIZE) s.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, HOST, () => r()));
    cleanup.push(() => new Promise((r) => server.close(r)));
    const listenPort = await freePort();
    const { p } = proxy();
    await p.update([{ service: "bulk", listenPort, containerPort: 80, targets: [target("e", (server.address() as { port: number }).port)] }]);
    const payload = new Uint8Array(SIZE);
    for (let i = 0; i < SIZE; i++) payload[i] = (i * 7 + (i >> 12)) & 0xff;
    const socket = createConnection(listenPort, HOST);
    cleanup.push(() => socket.destroy());
    const chunks: Buffer[] = [];
    const done = new Promise<void>((resolve, reject) => {
      socket.on("data", (d: Buffer) => chunks.push(d));
      socket.on("end", () => resolve());
      socket.on("error", reject);
    });
    socket.write(payload);
    await done;
    const back = Buffer.concat(chunks);
    expect(back.length).toBe(SIZE);
    expect(Bun.hash(back)).toBe(Bun.hash(payload));
  }, 30_000);
});

describe("ingress targets from the discovery set", () => {
  const set: DiscoverySet = {
    clusterName: "prod",
    clusterLabel: "prod",
    generation: 3,
    services: [
      {
        name: "web",
        ingress: [{ containerPort: 80, listenPort: 8080, protocol: "tcp" }],
        tasks: [
          { taskId: "t1", instanceId: "i-a", address: "10.0.0.1", ports: [{ containerPort: 80, hostPort: 32768, protocol: "tcp" }, { containerPort: 9000, hostPort: 32769, protocol: "tcp" }] },
          { taskId: "t2", instanceId: "i-b", address: "10.0.0.2", taskAddress: "172.31.0.5", ports: [{ containerPort: 80, hostPort: 80, protocol: "tcp" }] },
          { taskId: "t3", instanceId: "i-b", address: "10.0.0.2", ports: [{ containerPort: 80, hostPort: 80, protocol: "udp" }] },
        ],
      },
      { name: "plain", tasks: [{ taskId: "t4", instanceId: "i-a", address: "10.0.0.1", ports: [{ containerPort: 80, hostPort: 31000, protocol: "tcp" }] }] },
    ],
  };

  test("host address and host port of the mapped TCP port; an awsvpc task at its own address on its own host", () => {
    expect(ingressListeners(set, "i-a")).toEqual([
      {
        service: "web",
        listenPort: 8080,
        containerPort: 80,
        targets: [
          { taskId: "t1", local: true, host: "10.0.0.1", port: 32768 },
          { taskId: "t2", local: false, host: "10.0.0.2", port: 80 },
        ],
      },
    ]);
    expect(ingressListeners(set, "i-b")[0]!.targets).toEqual([
      { taskId: "t1", local: false, host: "10.0.0.1", port: 32768 },
      { taskId: "t2", local: true, host: "172.31.0.5", port: 80 },
    ]);
    expect(ingressListeners(null, "i-a")).toEqual([]);
  });

  test("the discovery store tells its followers of every newer set", () => {
    const store = new DiscoveryStore({ clusterName: "prod" });
    const seen: number[] = [];
    store.onApplied((s) => seen.push(s.generation));
    store.apply(set);
    store.apply(set);
    store.apply({ ...set, generation: 4 });
    expect(seen).toEqual([3, 4]);
  });
});
