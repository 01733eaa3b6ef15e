import { rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { wallNow } from "../../../control/latency-trace.ts";

/** One Docker Engine API call as the proxy saw it go by. */
export interface DockerCall {
  method: string;
  /** The path with ids and names replaced, so calls group by kind: `POST /containers/{id}/start`. */
  kind: string;
  /** Wall-clock ms when the request was sent and when its response began. */
  at: number;
  respondedAt?: number;
}

/**
 * A pass-through unix socket in front of the Docker engine that records every API call (what the
 * agent asks Docker for, and when), so a benchmark can count list/inspect/image calls per started
 * container and see how many starts are in flight at once. Point the agent at it with
 * DOCKER_HOST=unix://<path>. The proxy adds one local socket hop per call.
 */
export interface DockerProxy {
  path: string;
  calls: DockerCall[];
  close(): Promise<void>;
}

const REQUEST_LINE = /(GET|POST|PUT|DELETE|HEAD) (\/[^ ]*) HTTP\/1\.[01]\r\n/g;

/** `/v1.41/containers/3f…/start?x=1` → `/containers/{id}/start`. */
export function callKind(method: string, rawPath: string): string {
  const path = rawPath.split("?")[0]!.replace(/^\/v\d+\.\d+/, "");
  const parts = path.split("/").filter(Boolean);
  const kind = parts.map((p, i) => {
    if (i === 1 && (parts[0] === "containers" || parts[0] === "networks" || parts[0] === "volumes") && !["json", "create", "prune"].includes(p)) return "{id}";
    return p;
  });
  // Image names contain slashes: /images/flotilla/busybox:test/json → /images/{name}/json.
  if (parts[0] === "images" && parts.length > 2) return `${method} /images/{name}/${parts[parts.length - 1]}`;
  return `${method} /${kind.join("/")}`;
}

export async function startDockerProxy(path: string, upstream = "/var/run/docker.sock"): Promise<DockerProxy> {
  rmSync(path, { force: true });
  const calls: DockerCall[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const engine = connect(upstream);
    sockets.add(client);
    sockets.add(engine);
    // HTTP/1.1 without pipelining: responses on a connection come in the order of its requests.
    const waiting: DockerCall[] = [];
    let carry = "";
    client.on("data", (chunk: Buffer) => {
      // Request lines may straddle chunks; bodies (JSON) never contain " HTTP/1.1\r\n".
      const text = carry + chunk.toString("latin1");
      let last = 0;
      for (const m of text.matchAll(REQUEST_LINE)) {
        const call: DockerCall = { method: m[1]!, kind: callKind(m[1]!, m[2]!), at: wallNow() };
        calls.push(call);
        waiting.push(call);
        last = m.index! + m[0].length;
      }
      carry = text.slice(Math.max(last, text.length - 512));
    });
    engine.on("data", (chunk: Buffer) => {
      if (chunk.subarray(0, 7).toString("latin1") === "HTTP/1.") {
        const call = waiting.shift();
        if (call) call.respondedAt = wallNow();
      }
    });
    client.pipe(engine);
    engine.pipe(client);
    const end = () => {
      client.destroy();
      engine.destroy();
      sockets.delete(client);
      sockets.delete(engine);
    };
    client.on("error", end);
    engine.on("error", end);
    client.on("close", end);
    engine.on("close", end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
  return {
    path,
    calls,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(path, { force: true });
    },
  };
}
