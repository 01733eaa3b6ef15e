import { expect, test } from "bun:test";
import { indexedRetainedPersistence } from "../../../control/broker/retained-index.ts";

async function collect(stream: AsyncIterable<{ topic: string; payload: Buffer }>) {
  const out: string[] = [];
  for await (const p of stream) out.push(`${p.topic}=${p.payload.toString()}`);
  return out.sort();
}

const packet = (topic: string, payload: string) => ({ cmd: "publish", topic, payload: Buffer.from(payload), qos: 1, retain: true, brokerId: "b", brokerCounter: 1 });

/** The callback layer's promise forms, which is how aedes calls it. */
interface Persistence {
  setup(broker: unknown): Promise<void>;
  storeRetained(packet: unknown): Promise<void>;
  createRetainedStream(pattern: string): AsyncIterable<{ topic: string; payload: Buffer }>;
  createRetainedStreamCombi(patterns: string[]): AsyncIterable<{ topic: string; payload: Buffer }>;
}

test("retained messages are found by exact topic and by wildcard, and an empty payload clears them", async () => {
  const p = indexedRetainedPersistence() as unknown as Persistence;
  await p.setup({ id: "b" });
  await p.storeRetained(packet("flotilla/i/a/desired", "1"));
  await p.storeRetained(packet("flotilla/i/b/desired", "2"));
  await p.storeRetained(packet("flotilla/i/a/presence", "on"));
  expect(await collect(p.createRetainedStreamCombi(["flotilla/i/a/desired"]))).toEqual(["flotilla/i/a/desired=1"]);
  expect(await collect(p.createRetainedStreamCombi(["flotilla/i/a/desired", "flotilla/i/x/desired"]))).toEqual(["flotilla/i/a/desired=1"]);
  expect(await collect(p.createRetainedStreamCombi(["flotilla/i/+/desired"]))).toEqual(["flotilla/i/a/desired=1", "flotilla/i/b/desired=2"]);
  expect(await collect(p.createRetainedStream("flotilla/i/a/#"))).toEqual(["flotilla/i/a/desired=1", "flotilla/i/a/presence=on"]);
  await p.storeRetained(packet("flotilla/i/a/desired", "3"));
  expect(await collect(p.createRetainedStream("flotilla/i/a/desired"))).toEqual(["flotilla/i/a/desired=3"]);
  await p.storeRetained(packet("flotilla/i/a/desired", ""));
  expect(await collect(p.createRetainedStream("flotilla/i/a/desired"))).toEqual([]);
  expect(await collect(p.createRetainedStream("flotilla/i/+/desired"))).toEqual(["flotilla/i/b/desired=2"]);
});
