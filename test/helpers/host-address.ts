/**
 * Extra addresses of this host for tests that need several agents each holding port 53 (a DNS
 * server for containers must be on 53: Docker's Dns setting takes addresses only). A /32 on the
 * loopback device is an address of the host that containers reach through their gateway, as any
 * host address; 198.18.0.0/15 is the range set aside for such tests (RFC 2544). Needs root.
 */
async function ip(...args: string[]): Promise<{ code: number; err: string }> {
  const p = Bun.spawn(["ip", ...args], { stdout: "ignore", stderr: "pipe" });
  const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  return { code, err };
}

/** Adds `address`/32 to lo (again after a run that died before removing it); returns its removal. */
export async function addHostAddress(address: string): Promise<() => Promise<void>> {
  await ip("addr", "del", `${address}/32`, "dev", "lo");
  const add = await ip("addr", "add", `${address}/32`, "dev", "lo");
  if (add.code !== 0) throw new Error(`ip addr add ${address}/32 dev lo failed: ${add.err.trim()}`);
  return async () => void (await ip("addr", "del", `${address}/32`, "dev", "lo"));
}
