import { TokenBucket } from "limiter";

/**
 * The host's pull bandwidth cap: one token bucket (the `limiter` package) in bytes, shared by every
 * blob download of the agent, so two pulls together stay under the cap. Tokens start at zero (no
 * burst at the start of a pull) and the bucket holds at most a quarter second of traffic, so a
 * pull never runs much above the rate even after a pause.
 *
 * It keeps its own accounting (bytes granted, when the first grant was asked for), which tests
 * and the agent's metrics read: the granted bytes minus one bucket can never have arrived faster
 * than the rate.
 */
export class ByteRateLimiter {
  private bucket: TokenBucket | undefined;
  private rate: number | undefined;
  /** Bytes let through since start (or the last setRate). */
  granted = 0;
  /** performance.now() of the first take since start (or the last setRate); undefined before. */
  firstTakeAt: number | undefined;

  constructor(bytesPerSecond?: number) {
    this.setRate(bytesPerSecond);
  }

  /** Bytes per second, undefined for no cap. */
  get bytesPerSecond(): number | undefined {
    return this.rate;
  }

  /** The most a single take may ask for (the bucket's size); takes of more are split. */
  get burst(): number {
    return this.bucket?.bucketSize ?? Infinity;
  }

  /** A new cap (the control's, else the flag's); undefined lifts it. Pulls in flight follow it from their next chunk. */
  setRate(bytesPerSecond: number | undefined): void {
    if (bytesPerSecond !== undefined && (!Number.isInteger(bytesPerSecond) || bytesPerSecond < 1)) {
      throw new Error(`pull bandwidth must be a positive whole number of bytes per second, got ${bytesPerSecond}`);
    }
    if (bytesPerSecond === this.rate) return;
    this.rate = bytesPerSecond;
    this.granted = 0;
    this.firstTakeAt = undefined;
    this.bucket =
      bytesPerSecond === undefined
        ? undefined
        : new TokenBucket({ bucketSize: Math.max(1024, Math.floor(bytesPerSecond / 4)), tokensPerInterval: bytesPerSecond, interval: "second" });
  }

  /** Waits until `bytes` may pass (first come first served among concurrent takers). */
  async take(bytes: number): Promise<void> {
    if (bytes <= 0) return;
    this.firstTakeAt ??= performance.now();
    const bucket = this.bucket;
    if (!bucket) {
      this.granted += bytes;
      return;
    }
    for (let left = bytes; left > 0; ) {
      const n = Math.min(left, bucket.bucketSize);
      await bucket.removeTokens(n);
      this.granted += n;
      left -= n;
    }
  }

  /**
   * A chunk stream through the cap: each chunk waits for its tokens before it is passed on, so the
   * reader (and the TCP window behind it) is held back to the rate.
   */
  async *throttle(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      for (let off = 0; off < chunk.byteLength; ) {
        const piece = chunk.subarray(off, off + Math.min(chunk.byteLength - off, this.burst));
        await this.take(piece.byteLength);
        off += piece.byteLength;
        yield piece;
      }
    }
  }
}
