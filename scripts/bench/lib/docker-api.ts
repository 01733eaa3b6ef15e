/** The Docker Engine API over its unix socket with Bun fetch: cheap enough to poll every few ms. */
const SOCKET = process.env.DOCKER_SOCKET ?? "/var/run/docker.sock";

export async function dockerApi<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`http://localhost${path}`, {
    method,
    unix: SOCKET,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  } as RequestInit);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* plain text */
  }
  return { status: res.status, body: parsed as T };
}

/** Ids of running containers carrying a label (key=value). */
export async function runningWithLabel(label: string): Promise<string[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: [label], status: ["running"] }));
  const r = await dockerApi<{ Id: string }[]>("GET", `/containers/json?filters=${filters}`);
  return r.body.map((c) => c.Id);
}

/** Force-removes every container (running or not) carrying a label. */
export async function removeWithLabel(label: string): Promise<number> {
  const filters = encodeURIComponent(JSON.stringify({ label: [label] }));
  const r = await dockerApi<{ Id: string }[]>("GET", `/containers/json?all=1&filters=${filters}`);
  await Promise.all(r.body.map((c) => dockerApi("DELETE", `/containers/${c.Id}?force=1&v=1`)));
  return r.body.length;
}

export async function imageExists(image: string): Promise<boolean> {
  return (await dockerApi("GET", `/images/${encodeURIComponent(image)}/json`)).status === 200;
}

export async function dockerVersion(): Promise<string> {
  return (await dockerApi<{ Version: string }>("GET", "/version")).body.Version;
}
