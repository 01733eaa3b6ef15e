import { Hono } from "hono";
import { AGENT_VERSION } from "../../shared/arn.ts";
import type { ReadonlyAgentState } from "../store/state-file.ts";

export interface IntrospectionSource {
  instanceId: string;
  containerInstanceArn: string;
  clusterName: string;
  connected: () => boolean;
  state: () => ReadonlyAgentState;
  /** Log streams being served to the control service right now. */
  logStreams?: () => number;
  /** The Prometheus exposition (agent/metrics); absent: no /metrics. */
  metrics?: () => Promise<{ body: string; contentType: string }>;
}

/**
 * The agent's local introspection API, shaped like ECS's (port 51678): what this agent is and what
 * it runs, for operators and local tooling. Read-only; bound to 127.0.0.1 only.
 */
export function introspectionApp(src: IntrospectionSource) {
  const app = new Hono();
  app.get("/v1/metadata", (c) =>
    c.json({
      Cluster: src.clusterName,
      ContainerInstanceArn: src.containerInstanceArn,
      ContainerInstanceId: src.instanceId,
      Version: `Flotilla Agent - v${AGENT_VERSION}`,
      AgentVersion: AGENT_VERSION,
      Connected: src.connected(),
      LogStreams: src.logStreams?.() ?? 0,
    }),
  );
  app.get("/v1/tasks", (c) => {
    const wanted = c.req.query("taskarn");
    const tasks = Object.values(src.state().tasks)
      .filter((t) => !wanted || t.taskArn === wanted || t.taskId === wanted)
      .map((t) => ({
        Arn: t.taskArn,
        TaskId: t.taskId,
        Family: t.family,
        Version: String(t.revision),
        DesiredStatus: t.desiredStatus,
        KnownStatus: t.knownStatus,
        StoppedReason: t.stoppedReason,
        Containers: t.containers.map((ct) => ({
          Name: ct.name,
          Image: ct.image,
          DockerId: ct.runtimeId,
          KnownStatus: ct.knownStatus,
          ExitCode: ct.exitCode,
        })),
      }));
    if (wanted && tasks.length === 0) return c.json({ error: `no task ${wanted} on this instance` }, 404);
    return c.json(wanted ? tasks[0] : { Tasks: tasks });
  });
  const metrics = src.metrics;
  if (metrics) {
    app.get("/metrics", async () => {
      const { body, contentType } = await metrics();
      return new Response(body, { headers: { "content-type": contentType, "cache-control": "no-store" } });
    });
  }
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));
  return app;
}

/** Serves the API on 127.0.0.1; port 0 picks a free one. Returns the bound port and a stop. */
export function startIntrospection(src: IntrospectionSource, port: number): { port: number; stop: () => Promise<void> } {
  const server = Bun.serve({ hostname: "127.0.0.1", port, fetch: introspectionApp(src).fetch });
  return { port: server.port ?? port, stop: () => server.stop(true) };
}
