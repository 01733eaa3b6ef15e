import { afterEach, describe, expect, test } from "bun:test";
import { createServer } from "node:net";
import { IngressProxy } from "../../../agent/ingress/proxy.ts";
import { matchesHttpCode } from "../../../agent/ingress/target-health.ts";
import type { IngressHealthCheck, IngressTarget } from "../../../shared/ingress.ts";
import { waitFor } from "../../helpers/wait.ts";
import { freePort } from "../../../scripts/bench/lib/free-port.ts";

/** The proxy's HTTP health checks of its targets (docs/ingress.md), real HTTP on 127.0.0.1. */
const HOST = "127.0.0.1";
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** An HTTP backend answering its name on /, and /health with the status it is told. */
function backend(name: string) {
  const state = { status: 200, checks: 0 };
  const server = Bun.serve({
    hostname: HOST,
    port: 0,
    fetch: (req) => {
      if (new URL(req.url).pathname === "/health") {
        state.checks++;
        return new Response("health", { status: state.status });
      }
      return new Response(name);
    },
  });
  cleanup.push(() => server.stop(true));
  return { port: server.port!, state };
}

// Sub-second intervals for the test (the API allows 5-300 s; the proxy takes what the set says).
const CHECK: IngressHealthCheck = { path: "/health", intervalSeconds: 0.05, timeoutSeconds: 1, healthyThresholdCount: 2, unhealthyThresholdCount: 2, matcher: { httpCode: "200-299" } };
const target = (taskId: string, port: number): IngressTarget => ({ taskId, local: false, host: HOST, port });

async function answers(port: number, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await (await fetch(`http://${HOST}:${port}/`, { keepalive: false })).text());
  return out;
}

describe("ingress target health", () => {
  test("a target failing its check is skipped until it passes again; a healthy one takes the connections", async () => {
    const [a, b] = [backend("a"), backend("b")];
    const listenPort = await freePort();
    const p = new IngressProxy({ address: HOST });
    cleanup.push(() => p.stop());
    await p.update([{ service: "web", listenPort, containerPort: 80, targets: [target("a", a.port), target("b", b.port)], healthCheck: CHECK }]);
    expect((await answers(listenPort, 4)).sort()).toEqual(["a", "a", "b", "b"]);
    b.state.status = 503;
    // Unhealthy after unhealthyThresholdCount failures: every connection goes to a.
    await waitFor("b to be skipped", async () => (await answers(listenPort, 2)).every((x) => x === "a") || undefined);
    expect(await answers(listenPort, 4)).toEqual(["a", "a", "a", "a"]);
    b.state.status = 204; // in the matcher's range
    await waitFor("b to take connections again", async () => (await answers(listenPort, 2)).includes("b") || undefined);
    expect(b.state.checks).toBeGreaterThan(3);
  });

  test("a target that does not answer its check is skipped; with every target unhealthy, all are tried (fail open)", async () => {
    const a = backend("a");
    const held = new Set<import("node:net").Socket>();
    const silent = createServer((s) => held.add(s)); // accepts, never answers: the check times out
    await new Promise<void>((r) => silent.listen(0, HOST, () => r()));
    cleanup.push(() => new Promise((r) => (held.forEach((s) => s.destroy()), silent.close(r))));
    const silentPort = (silent.address() as { port: number }).port;
    const listenPort = await freePort();
    const p = new IngressProxy({ address: HOST });
    cleanup.push(() => p.stop());
    const check = { ...CHECK, timeoutSeconds: 0.1 };
    await p.update([{ service: "web", listenPort, containerPort: 80, targets: [target("silent", silentPort), target("a", a.port)], healthCheck: check }]);
    // Once "silent" is unhealthy, a gets every connection (a fetch through silent would hang).
    await waitFor("the silent target to be marked unhealthy", async () => {
      const r = await fetch(`http://${HOST}:${listenPort}/`, { signal: AbortSignal.timeout(300), keepalive: false }).then((x) => x.text()).catch(() => "timeout");
      const r2 = await fetch(`http://${HOST}:${listenPort}/`, { signal: AbortSignal.timeout(300), keepalive: false }).then((x) => x.text()).catch(() => "timeout");
      return (r === "a" && r2 === "a") || undefined;
    });
    expect(await answers(listenPort, 4)).toEqual(["a", "a", "a", "a"]);
    a.state.status = 500;
    await waitFor("both unhealthy: a tried again", async () => {
      const r = await fetch(`http://${HOST}:${listenPort}/`, { signal: AbortSignal.timeout(300), keepalive: false }).then((x) => x.text()).catch(() => "timeout");
      return r === "a" || undefined;
    });
  });

  test("an ingress whose check is dropped no longer skips the target that failed it", async () => {
    const [a, b] = [backend("a"), backend("b")];
    b.state.status = 500;
    const listenPort = await freePort();
    const p = new IngressProxy({ address: HOST });
    cleanup.push(() => p.stop());
    const targets = [target("a", a.port), target("b", b.port)];
    await p.update([{ service: "web", listenPort, containerPort: 80, targets, healthCheck: CHECK }]);
    await waitFor("b to be skipped", async () => (await answers(listenPort, 2)).every((x) => x === "a") || undefined);
    await p.update([{ service: "web", listenPort, containerPort: 80, targets }]);
    expect((await answers(listenPort, 4)).sort()).toEqual(["a", "a", "b", "b"]);
  });

  test("matchers: one code, a list, a range", () => {
    expect(matchesHttpCode("200", 200)).toBe(true);
    expect(matchesHttpCode("200", 204)).toBe(false);
    expect(matchesHttpCode("200,202", 202)).toBe(true);
    expect(matchesHttpCode("200-299", 299)).toBe(true);
    expect(matchesHttpCode("200-299", 302)).toBe(false);
  });
});
