import { Hono, type Context } from "hono";
import { DefinitionCache } from "../engine/definition-cache.ts";
import type { ContainerRuntime, RuntimeContainer } from "../runtime/types.ts";
import type { ReadonlyAgentTask } from "../store/state-file.ts";
import { containerResponse, listedContainers, taskResponse, type MetadataVersion, type TaskContext } from "./responses.ts";
import { metadataBaseUrl } from "./uris.ts";
import type { Logger } from "../../shared/log.ts";

export interface TaskMetadataSource {
  context: TaskContext;
  /** The agent's tasks as their runners hold them, to read only. */
  tasks: () => Iterable<ReadonlyAgentTask>;
  /** Read-only engine calls: what Docker knows of a container (image id, addresses), and its stats. */
  runtime: Pick<ContainerRuntime, "inspect" | "stats">;
  log?: Logger;
}

type Container = ReadonlyAgentTask["containers"][number];

/**
 * What each version answers for an id no container has. amazon-ecs-agent's own codes and texts:
 * v4 says 404; v3 says 500 for metadata and 400 for stats. The body is a JSON string, as its is.
 */
const UNKNOWN: Record<MetadataVersion, Record<"container" | "task" | "containerStats" | "taskStats", [number, (id: string) => string]>> = {
  v4: {
    container: [404, (id) => `V4 container metadata handler: unable to get container ID from request: unable to get docker ID from v3 endpoint ID: ${id}`],
    task: [404, (id) => `V4 task metadata handler: unable to get task arn from request: unable to get task Arn from v3 endpoint ID: ${id}`],
    containerStats: [404, (id) => `V4 container stats handler: unable to get task arn from request: unable to get task Arn from v3 endpoint ID: ${id}`],
    taskStats: [404, (id) => `V4 task stats handler: unable to get task arn from request: unable to get task Arn from v3 endpoint ID: ${id}`],
  },
  v3: {
    container: [500, (id) => `V3 container metadata handler: unable to get container ID from request: unable to get docker ID from v3 endpoint ID: ${id}`],
    task: [500, (id) => `V3 task metadata handler: unable to get task arn from request: unable to get task Arn from v3 endpoint ID: ${id}`],
    containerStats: [400, (id) => `V3 container stats handler: unable to get task arn from request: unable to get task Arn from v3 endpoint ID: ${id}`],
    taskStats: [400, (id) => `V3 task stats handler: unable to get task arn from request: unable to get task Arn from v3 endpoint ID: ${id}`],
  },
};

/**
 * ECS's task metadata endpoint (v3 and v4), served by the agent to the containers it runs. The id
 * in the path is the only thing that says who asks: a random UUID per container (its
 * `metadataId`), given to the container alone in ECS_CONTAINER_METADATA_URI(_V4), so a container
 * can read its own task and no other. Read-only: it reads the runners' state and asks Docker only
 * to inspect and for stats, never to change anything.
 */
export function taskMetadataApp(src: TaskMetadataSource) {
  const definitions = new DefinitionCache();
  const definitionOf = (task: ReadonlyAgentTask) => {
    const parsed = definitions.get(task.taskDefinitionArn, task.definition);
    return parsed.ok ? parsed.spec : null;
  };
  const find = (id: string): { task: ReadonlyAgentTask; container: Container } | undefined => {
    for (const task of src.tasks()) {
      const container = task.containers.find((c) => c.metadataId === id);
      if (container) return { task, container };
    }
    return undefined;
  };
  // A failed inspect leaves out what only Docker knows; the rest of the answer still stands.
  const inspect = async (runtimeId: string | undefined): Promise<RuntimeContainer | null> => {
    if (!runtimeId) return null;
    return src.runtime.inspect(runtimeId).catch((e: Error) => {
      src.log?.warn(`task metadata: inspect ${runtimeId}: ${e.message}`);
      return null;
    });
  };
  const stats = (runtimeId: string) =>
    src.runtime.stats(runtimeId).catch((e: Error) => {
      src.log?.warn(`task metadata: stats of ${runtimeId}: ${e.message}`);
      return null;
    });
  const unknown = (c: Context, v: MetadataVersion, kind: keyof (typeof UNKNOWN)["v4"], id: string) => {
    const [status, text] = UNKNOWN[v][kind];
    return c.json(text(id), status as 400 | 404 | 500);
  };

  const app = new Hono();
  for (const v of ["v3", "v4"] as const) {
    app.get(`/${v}/:id`, async (c) => {
      const id = c.req.param("id");
      const hit = find(id);
      // A container without a Docker id yet has no metadata to give (ECS: no docker ID for it).
      if (!hit?.container.runtimeId) return unknown(c, v, "container", id);
      return c.json(containerResponse(v, hit.task, hit.container, definitionOf(hit.task), await inspect(hit.container.runtimeId)));
    });
    app.get(`/${v}/:id/task`, async (c) => {
      const id = c.req.param("id");
      const hit = find(id);
      if (!hit) return unknown(c, v, "task", id);
      const listed = listedContainers(hit.task).filter((x) => x.runtimeId);
      const inspected = new Map(await Promise.all(listed.map(async (x) => [x.runtimeId!, await inspect(x.runtimeId)] as const)));
      return c.json(taskResponse(v, src.context, hit.task, definitionOf(hit.task), inspected));
    });
    app.get(`/${v}/:id/stats`, async (c) => {
      const id = c.req.param("id");
      const hit = find(id);
      const runtimeId = hit?.container.runtimeId;
      if (!runtimeId) return unknown(c, v, "containerStats", id);
      const body = await stats(runtimeId);
      if (!body) return c.json(`Unable to get container stats for: ${runtimeId}`, 500);
      return c.json(body);
    });
    app.get(`/${v}/:id/task/stats`, async (c) => {
      const id = c.req.param("id");
      const hit = find(id);
      if (!hit) return unknown(c, v, "taskStats", id);
      const ids = listedContainers(hit.task).flatMap((x) => (x.runtimeId ? [x.runtimeId] : []));
      const readings = await Promise.all(ids.map(async (rid) => [rid, await stats(rid)] as const));
      // A container whose stats could not be read: v4 gives an empty object, v3 null (as ECS).
      return c.json(Object.fromEntries(readings.map(([rid, s]) => [rid, s ?? (v === "v4" ? {} : null)])));
    });
  }
  app.notFound((c) => c.json(`no route for ${c.req.method} ${c.req.path}`, 404));
  return app;
}

/**
 * Serves the endpoint on one address of this host (by default the Docker bridge's gateway: see
 * docs/task-metadata.md); port 0 picks a free one. Returns the base URL containers are given.
 */
export function startTaskMetadata(src: TaskMetadataSource, address: string, port: number): { url: string; port: number; stop: () => Promise<void> } {
  const server = Bun.serve({ hostname: address, port, fetch: taskMetadataApp(src).fetch });
  const bound = server.port ?? port;
  return { url: metadataBaseUrl(address, bound), port: bound, stop: () => server.stop(true) };
}
