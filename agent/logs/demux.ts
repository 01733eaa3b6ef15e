import type { LogChunk } from "../runtime/types.ts";

/**
 * Splits Docker's multiplexed log stream (containers without a TTY) into stdout/stderr pieces.
 * Each frame is an 8-byte header — stream type (1 stdout, 2 stderr), three zero bytes, payload
 * size as big-endian uint32 — then the payload. Frames may be cut anywhere by the transport, so
 * partial frames are kept until the rest arrives.
 */
export class DockerLogDemuxer {
  private pending = new Uint8Array(0);

  /** Feeds bytes in; returns the complete frames they finish. */
  push(bytes: Uint8Array): LogChunk[] {
    const buf = this.pending.length ? concat(this.pending, bytes) : bytes;
    const out: LogChunk[] = [];
    let at = 0;
    while (buf.length - at >= 8) {
      const type = buf[at]!;
      const size = ((buf[at + 4]! << 24) | (buf[at + 5]! << 16) | (buf[at + 6]! << 8) | buf[at + 7]!) >>> 0;
      if (buf.length - at - 8 < size) break;
      const data = buf.slice(at + 8, at + 8 + size);
      // Type 0 is stdin (never written for logs); anything else unknown is treated as stdout.
      out.push({ stream: type === 2 ? "stderr" : "stdout", data });
      at += 8 + size;
    }
    this.pending = buf.slice(at);
    return out;
  }

  /** Bytes of an unfinished frame left at the end of the stream. */
  get leftover(): number {
    return this.pending.length;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const r = new Uint8Array(a.length + b.length);
  r.set(a, 0);
  r.set(b, a.length);
  return r;
}
