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
  /** Watches `label`, relisting on every hint as the engine does; resolves once the stream is open. */
  async function watchAndRelist(rt: DockerRuntime) {
    const seen: { state: string; health?: string }[] = [];
    const unwatch = rt.watch(label, () => {
      void rt.list(label).then((l) => seen.push({ state: l[0]?.state ?? "gone", health: l[0]?.health }));
    });
    // The stream hints once when it opens (anything missed while it was down).
    await waitFor("events stream open", () => seen.length > 0);
    return { seen, unwatch };
  }

  test("after a kill, a hint comes once the container list shows the container exited", async () => {
    const rt = new DockerRuntime();
    const id = await rt.create({ name: `flotilla-docker-watch-${process.pid}`, image: IMAGE, labels: label, networkMode: "bridge", portBindings: [], stopTimeoutSeconds: 1 });
    await rt.start(id);
    // Docker sends `die` before its list shows the exit, so a relist on the bare event still says
    // "running" and (with no periodic relist here) nothing would ever show the exit.
    const { seen, unwatch } = await watchAndRelist(rt);
    try {
      expect(seen[0]!.state).toBe("running");
      await docker("kill", id);
      await waitFor("a hint whose relist shows the container exited", () => seen.some((s) => s.state === "exited"), { timeoutMs: 15_000, intervalMs: 20 });
    } finally {
      unwatch();
      await rt.remove(id);
    }
  });

  test("a health check's verdict gives a hint whose relist shows it", async () => {
    const rt = new DockerRuntime();
    const id = await rt.create({
      name: `flotilla-docker-watch-hc-${process.pid}`,
      image: IMAGE,
      labels: label,
      networkMode: "bridge",
      portBindings: [],
      stopTimeoutSeconds: 1,
      healthCheck: { test: ["CMD-SHELL", "true"], intervalSeconds: 1, timeoutSeconds: 20, retries: 1, startPeriodSeconds: 0 },
    });
    const { seen, unwatch } = await watchAndRelist(rt);
    try {
      await rt.start(id);
      // Healthy, or unhealthy on a machine so busy the check timed out: either way, a verdict.
      await waitFor("a hint whose relist shows the check's verdict", () => seen.some((s) => s.health === "healthy" || s.health === "unhealthy"), { timeoutMs: 40_000, intervalMs: 20 });
    } finally {
      unwatch();
      await rt.remove(id);
    }
  });
});
