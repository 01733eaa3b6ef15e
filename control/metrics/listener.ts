import type { ControlMetrics } from "./control-metrics.ts";

/** The exposition as an HTTP response (Prometheus's text format, version 0.0.4). */
export async function metricsResponse(metrics: ControlMetrics): Promise<Response> {
  const { body, contentType } = await metrics.text();
  return new Response(body, { headers: { "content-type": contentType, "cache-control": "no-store" } });
}

export interface MetricsListener {
  url: string;
  stop(): Promise<void>;
}

/**
 * A listener of its own serving only GET /metrics, without a token: bound to 127.0.0.1 by default
 * (`--metrics-listen`), so a Prometheus on the same host (or a node exporter's sidecar) scrapes
 * it while the API's /metrics stays behind a metrics-role token.
 */
export function startMetricsListener(metrics: ControlMetrics, addr: { host: string; port: number }): MetricsListener {
  const server = Bun.serve({
    hostname: addr.host,
    port: addr.port,
    fetch: (req) => {
      const { pathname } = new URL(req.url);
      if (pathname !== "/metrics") return new Response("only /metrics is served here\n", { status: 404 });
      if (req.method !== "GET" && req.method !== "HEAD") return new Response("GET /metrics\n", { status: 405, headers: { allow: "GET, HEAD" } });
      return metricsResponse(metrics);
    },
  });
  const host = addr.host.includes(":") ? `[${addr.host}]` : addr.host;
  return { url: `http://${host}:${server.port}/metrics`, stop: () => server.stop(true) };
}
