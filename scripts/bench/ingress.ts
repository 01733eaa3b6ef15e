/**
 * Ingress proxy benchmark (issue 17): requests per second and latency through the agent's ingress
 * proxy (agent/ingress/proxy.ts) vs. straight to the server, on 127.0.0.1. The HTTP server and the
 * proxy each run in a process of their own (this script with --role), the load generator here:
 * --connections keep-alive clients send GET / in a loop for --seconds, first direct, then through
 * the proxy (then both again, the better of two rounds each). Target: ≥ 0.8× the direct rate.
 * With the default `--server bun` it measures the proxy's own cost against an in-process server far
 * faster than any container's (Bun.serve answering `ok`). `--server container` is the issue's own
 * comparison, "through the ingress vs. straight to the container": a real container of the local
 * test image (busybox httpd, `flotilla/busybox:test`) on the Docker bridge, reached straight at its
 * address or through the proxy. Not two hosts. Prints one JSON object.
 *
 *   bun scripts/bench/ingress.ts [--connections 16] [--seconds 5] [--server bun|container]
 */
import { IngressProxy } from "../../agent/ingress/proxy.ts";
import { benchArgs, target } from "./lib/args.ts";
import { summary } from "./lib/percentiles.ts";
import { freePort } from "./lib/free-port.ts";

const args = benchArgs();
const HOST = "127.0.0.1";

const role = args.str("role", "main");
if (role === "server") {
  const server = Bun.serve({ hostname: HOST, port: 0, fetch: () => new Response("ok\n") });
  console.log(server.port);
} else if (role === "proxy") {
  const listenPort = await freePort();
  const proxy = new IngressProxy({ address: HOST });
  await proxy.update([{ service: "bench", listenPort, containerPort: 80, targets: [{ taskId: "t", local: true, host: args.str("target-host", HOST), port: args.num("target", 0) }] }]);
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
  const SERVER = args.str("server", "bun");
  let container: string | undefined;
  try {
    let serverHost = HOST;
    let serverPort: number;
    if (SERVER === "container") {
      const run = Bun.spawnSync(["docker", "run", "-d", "--rm", "--label", "flotilla.bench=ingress", "flotilla/busybox:test"]);
      if (run.exitCode !== 0) throw new Error(`docker run: ${run.stderr.toString().trim()} (scripts/build-test-image builds the image)`);
      container = run.stdout.toString().trim();
      serverHost = Bun.spawnSync(["docker", "inspect", "-f", "{{.NetworkSettings.IPAddress}}", container]).stdout.toString().trim();
      serverPort = 80;
      const deadline = Date.now() + 10_000;
      while (!(await fetch(`http://${serverHost}/`).then((r) => r.ok, () => false))) {
        if (Date.now() > deadline) throw new Error(`the container at ${serverHost} did not answer within 10 s`);
        await Bun.sleep(50);
      }
    } else serverPort = await start(["--role", "server"]);
    const proxyPort = await start(["--role", "proxy", "--target", String(serverPort), "--target-host", serverHost]);
    const load = async (host: string, port: number) => {
      const latencies: number[] = [];
      const until = performance.now() + SECONDS * 1000;
      let failed = 0;
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (performance.now() < until) {
            const t0 = performance.now();
            try {
              const res = await fetch(`http://${host}:${port}/`);
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
    const direct = (host = serverHost) => load(host, serverPort);
    const proxied = () => load(HOST, proxyPort);
    await direct(); // warm-up, not counted
    const direct1 = await direct();
    const ingress1 = await proxied();
    const direct2 = await direct();
    const ingress2 = await proxied();
    const directBest = best(direct1, direct2);
    const ingress = best(ingress1, ingress2);
    console.log(
      JSON.stringify({
        benchmark: "ingress",
        server: SERVER,
        connections: CONNECTIONS,
        seconds: SECONDS,
        loadAverage: (await import("node:os")).loadavg().map((l) => Math.round(l * 10) / 10),
        direct: directBest,
        ingress,
        ratio: target(Math.round((ingress.rps / directBest.rps) * 100) / 100, 0.8, "min"),
        addedP99Ms: Math.round((ingress.latencyMs.p99 - directBest.latencyMs.p99) * 10) / 10,
      }),
    );
  } finally {
    // SIGTERM, and a moment for a profiled proxy to write its profile.
    if (container) Bun.spawnSync(["docker", "rm", "-f", container]);
    for (const c of children) c.kill("SIGTERM");
    await Promise.all(children.map((c) => Promise.race([c.exited, Bun.sleep(3_000)])));
  }
}
