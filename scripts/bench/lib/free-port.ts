import { createServer } from "node:net";

/**
 * A TCP port free on `host` just now (the kernel's pick for port 0), for a server a benchmark or
 * test starts next. Another process may take it in between; callers that start a server on it
 * fail loudly then, they do not wait on a wrong server.
 */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
