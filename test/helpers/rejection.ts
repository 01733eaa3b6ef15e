/**
 * What `promise` rejects with; fails when it resolves. For promises settled by a worker thread
 * (the placement commit worker): Bun's `expect(promise).rejects` waits for the promise without
 * delivering the worker's messages, so it would wait forever.
 */
export async function rejection(promise: PromiseLike<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection, but the promise resolved");
}
