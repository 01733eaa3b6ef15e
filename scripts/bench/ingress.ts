/**
 * Ingress proxy benchmark (issue 17): requests per second and latency through the agent's ingress
 * proxy (agent/ingress/proxy.ts) vs. straight to the server, on 127.0.0.1. The HTTP server and the
 * proxy each run in a process of their own (this script with --role), the load generator here:
 * --connections keep-alive clients send GET / in a loop for --seconds, first direct, then through
 * the proxy (then both again, the better of two rounds each). Target: ≥ 0.8× the direct rate.
 * Not real Docker nor two hosts: it measures the proxy's own cost. Prints one JSON object.
 *
 *   bun scripts/bench/ingress.ts [--connections 16] [--seconds 5]
 */
import { createServer } from "node:net";
import { IngressProxy } from "../../agent/ingress/proxy.ts";
import { benchArgs, target } from "./lib/args.ts";
import { summary } from "./lib/percentiles.ts";

const args = benchArgs();
const HOST = "127.0.0.1";

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, HOST, () => r()));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

const role = args.str("role", "main");
if (role === "server") {
  const server = Bun.serve({ hostname: HOST, port: 0, fetch: () => new Response("ok\n") });
  console.log(server.port);
} else if (role === "proxy") {
  const listenPort = await freePort();
  const proxy = new IngressProxy({ address: HOST });
  await proxy.update([{ service: "bench", listenPort, containerPort: 80, targets: [{ taskId: "t", local: true, host: HOST, port: args.num("target", 0) }] }]);
  console.log(listenPort);
  // An orderly exit on SIGTERM, so `--cpu-prof` writes its profile.
  process.on("SIGTERM", () => process.exit(0));
} else {
  const CONNECTIONS = args.num("connections", 16);
  const SECONDS = args.num("seconds", 5);
  const children: Bun.Subprocess[] = [];
  const start = async (extra: string[]): Promise<number> => {
    // FLOTILLA_BENCH_CPU_PROF=DIR: the proxy runs under `bun --cpu-prof` (its profile written there at exit).
    const prof = process.env.FLOTILLA_BENCH_CPU_PROF && extra.includes("proxy") ? ["--cpu-prof", "--cpu-prof-dir", process.env.FLOTILLA_BENCH_CPU_PROF] : [];
    const p = Bun.spawn(["bun", ...prof, import.meta.path, ...extra], { stdout: "pipe", stderr: "inherit" });
    children.push(p);
    const reader = p.stdout.getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`${extra.join(" ")} ended before it printed its port`);
      text += new TextDecoder().decode(value);
    }
    return Number(text.trim());
  };
  try {
    const serverPort = await start(["--role", "server"]);
    const proxyPort = await start(["--role", "proxy", "--target", String(serverPort)]);
    const load = async (port: number) => {
      const latencies: number[] = [];
      const until = performance.now() + SECONDS * 1000;
      let failed = 0;
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (performance.now() < until) {
            const t0 = performance.now();
            try {
              const res = await fetch(`http://${HOST}:${port}/`);
              await res.text();
              latencies.push(performance.now() - t0);
            } catch {
              failed++;
            }
          }
        }),
      );
      return { rps: Math.round(latencies.length / SECONDS), failed, latencyMs: summary(latencies) };
    };
    const best = (a: Awaited<ReturnType<typeof load>>, b: Awaited<ReturnType<typeof load>>) => (a.rps >= b.rps ? a : b);
    await load(serverPort); // warm-up, not counted
    const direct1 = await load(serverPort);
    const ingress1 = await load(proxyPort);
    const direct2 = await load(serverPort);
    const ingress2 = await load(proxyPort);
    const direct = best(direct1, direct2);
    const ingress = best(ingress1, ingress2);
    console.log(
      JSON.stringify({
        benchmark: "ingress",
        connections: CONNECTIONS,
        seconds: SECONDS,
        loadAverage: (await import("node:os")).loadavg().map((l) => Math.round(l * 10) / 10),
        direct,
        ingress,
        ratio: target(Math.round((ingress.rps / direct.rps) * 100) / 100, 0.8, "min"),
        addedP99Ms: Math.round((ingress.latencyMs.p99 - direct.latencyMs.p99) * 10) / 10,
      }),
    );
  } finally {
    // SIGTERM, and a moment for a profiled proxy to write its profile.
    for (const c of children) c.kill("SIGTERM");
    await Promise.all(children.map((c) => Promise.race([c.exited, Bun.sleep(3_000)])));
  }
}
