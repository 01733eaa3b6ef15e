import { afterAll, describe, expect, test } from "bun:test";
import { DockerRuntime, settlingContainer } from "../../../agent/runtime/docker.ts";
import { docker } from "../../helpers/docker.ts";
import { waitFor } from "../../helpers/wait.ts";

const IMAGE = "flotilla/busybox:test";
const label = { "flotilla.test.docker-watch": `${process.pid}-${Date.now()}` };

afterAll(async () => {
  const left = await docker("ps", "-aq", "--filter", `label=flotilla.test.docker-watch=${label["flotilla.test.docker-watch"]}`);
  if (left) await docker("rm", "-f", ...left.split("\n"));
});

describe("settlingContainer", () => {
  test("die and health_status events name their container; others and bad lines do not", () => {
    expect(settlingContainer(JSON.stringify({ Type: "container", Action: "die", Actor: { ID: "abc" }, id: "abc" }))).toBe("abc");
    expect(settlingContainer(JSON.stringify({ Action: "health_status: unhealthy", Actor: { ID: "def" } }))).toBe("def");
    expect(settlingContainer(JSON.stringify({ Action: "die", id: "old-style" }))).toBe("old-style");
    expect(settlingContainer(JSON.stringify({ Action: "start", Actor: { ID: "abc" } }))).toBeUndefined();
    expect(settlingContainer(JSON.stringify({ Action: "kill", Actor: { ID: "abc" } }))).toBeUndefined();
    expect(settlingContainer("{not json")).toBeUndefined();
  });
});

describe("DockerRuntime.watch with the real engine", () => {
  test("after a kill, a hint comes once the container list shows the container exited", async () => {
    const rt = new DockerRuntime();
    const id = await rt.create({ name: `flotilla-docker-watch-${process.pid}`, image: IMAGE, labels: label, networkMode: "bridge", portBindings: [], stopTimeoutSeconds: 1 });
    await rt.start(id);
    // Each hint relists, as the engine does; the exit must be visible to one of them. Docker sends
    // `die` before its list shows the exit, so a relist on the bare event still says "running"
    // and (with no periodic relist here) nothing would ever show the exit.
    const seen: string[] = [];
    let subscribed = false;
    const unwatch = rt.watch(label, () => {
      void rt.list(label).then((l) => seen.push(l[0]?.state ?? "gone"));
    });
    try {
      // The events stream is open once a harmless event comes through it.
      await waitFor("events stream open", async () => {
        if (!subscribed) await docker("pause", id).then(() => docker("unpause", id));
        subscribed = seen.length > 0;
        return subscribed;
      }, { timeoutMs: 20_000, intervalMs: 300 });
      await docker("kill", id);
      await waitFor("a hint whose relist shows the container exited", () => seen.includes("exited"), { timeoutMs: 15_000, intervalMs: 20 });
    } finally {
      unwatch();
    }
  });
});
