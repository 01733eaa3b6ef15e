import { describe, expect, test } from "bun:test";
import { DockerLogDemuxer } from "../../../agent/logs/demux.ts";

function frame(type: number, text: string): Uint8Array {
  const body = new TextEncoder().encode(text);
  const f = new Uint8Array(8 + body.length);
  f[0] = type;
  new DataView(f.buffer).setUint32(4, body.length);
  f.set(body, 8);
  return f;
}

const text = (d: Uint8Array) => new TextDecoder().decode(d);

describe("DockerLogDemuxer", () => {
  test("splits frames by stream", () => {
    const d = new DockerLogDemuxer();
    const bytes = new Uint8Array([...frame(1, "out\n"), ...frame(2, "err\n")]);
    const out = d.push(bytes);
    expect(out.map((c) => [c.stream, text(c.data)])).toEqual([["stdout", "out\n"], ["stderr", "err\n"]]);
    expect(d.leftover).toBe(0);
  });

  test("keeps frames cut anywhere by the transport until they are complete", () => {
    const d = new DockerLogDemuxer();
    const bytes = new Uint8Array([...frame(1, "hello\n"), ...frame(2, "world\n")]);
    const got: string[] = [];
    for (let i = 0; i < bytes.length; i += 3) for (const c of d.push(bytes.slice(i, i + 3))) got.push(`${c.stream}:${text(c.data)}`);
    expect(got).toEqual(["stdout:hello\n", "stderr:world\n"]);
    expect(d.leftover).toBe(0);
  });

  test("an empty frame and a large one", () => {
    const d = new DockerLogDemuxer();
    const big = "x".repeat(100_000);
    const out = d.push(new Uint8Array([...frame(1, ""), ...frame(1, big)]));
    expect(out.map((c) => c.data.length)).toEqual([0, 100_000]);
  });
});
