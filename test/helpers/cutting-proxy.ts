import type { Socket } from "bun";

export interface CuttingProxy {
  /** host:port to pull through. */
  host: string;
  /** Bytes sent from upstream to the client so far (what crossed "the link"). */
  bytesDown(): number;
  /** The Range header of each blob GET that went through (undefined: the whole blob). */
  blobRanges(): (string | undefined)[];
  /** Cuts the next connection once `bytes` more have gone down it (one time). */
  cutAfter(bytes: number): void;
  stop(): void;
}

/**
 * A TCP proxy on 127.0.0.1 in front of a registry, standing in for a flaky link: it counts the
 * bytes it carries, reads the request lines going up (to see which blob GETs carried a Range),
 * and can drop a connection midway, as a dying uplink does.
 */
export function startCuttingProxy(upstream: string): CuttingProxy {
  const [uHost, uPort] = upstream.split(":") as [string, string];
  let down = 0;
  let cutAt: number | undefined;
  const ranges: (string | undefined)[] = [];
  const peers = new Map<Socket<unknown>, Socket<unknown>>();
  const server = Bun.listen<{ up?: Socket<unknown>; pending: Uint8Array[] }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      async open(client) {
        client.data = { pending: [] };
        const up = await Bun.connect({
          hostname: uHost,
          port: Number(uPort),
          socket: {
            data(_s, chunk) {
              if (cutAt !== undefined && down + chunk.byteLength >= cutAt) {
                const room = Math.max(0, cutAt - down);
                cutAt = undefined;
                down += room;
                client.write(chunk.subarray(0, room));
                client.end();
                _s.end();
                return;
              }
              down += chunk.byteLength;
              client.write(chunk);
            },
            close() {
              client.end();
            },
            error() {
              client.end();
            },
          },
        });
        peers.set(client, up);
        client.data.up = up;
        for (const p of client.data.pending) up.write(p);
        client.data.pending = [];
      },
      data(client, chunk) {
        const text = Buffer.from(chunk).toString("latin1");
        for (const m of text.matchAll(/^GET (\S*\/blobs\/\S+) HTTP[^]*?\r\n\r\n/gm)) ranges.push(/\r\nrange: *([^\r]+)/i.exec(m[0])?.[1]);
        if (client.data.up) client.data.up.write(chunk);
        else client.data.pending.push(new Uint8Array(chunk));
      },
      close(client) {
        peers.get(client)?.end();
        peers.delete(client);
      },
    },
  });
  return {
    host: `127.0.0.1:${server.port}`,
    bytesDown: () => down,
    blobRanges: () => [...ranges],
    cutAfter(bytes) {
      cutAt = down + bytes;
    },
    stop() {
      for (const up of peers.values()) up.end();
      server.stop(true);
    },
  };
}
