import { describe, expect, test } from "bun:test";
import { dependencyVerdict } from "../../../agent/engine/dependencies.ts";
import { restartDecision } from "../../../agent/engine/restart-policy.ts";
import { stopWaves } from "../../../agent/engine/stop-order.ts";
import { taskHealthStatus } from "../../../shared/messages.ts";

describe("dependsOn conditions", () => {
  const dep = (knownStatus: any, more: object = {}) => ({ name: "d", knownStatus, ...more });
  test("START waits for the container to run", () => {
    expect(dependencyVerdict("START", dep("CREATED")).state).toBe("waiting");
    expect(dependencyVerdict("START", dep("RUNNING")).state).toBe("met");
  });
  test("COMPLETE accepts any exit, SUCCESS only 0", () => {
    expect(dependencyVerdict("COMPLETE", dep("RUNNING")).state).toBe("waiting");
    expect(dependencyVerdict("COMPLETE", dep("STOPPED", { exitCode: 2 })).state).toBe("met");
    expect(dependencyVerdict("SUCCESS", dep("STOPPED", { exitCode: 0 })).state).toBe("met");
    expect(dependencyVerdict("SUCCESS", dep("STOPPED", { exitCode: 2 }))).toEqual({ state: "failed", why: "exited with code 2" });
  });
  test("HEALTHY waits for the check and fails when the container exits first", () => {
    expect(dependencyVerdict("HEALTHY", dep("RUNNING", { healthStatus: "UNKNOWN" })).state).toBe("waiting");
    expect(dependencyVerdict("HEALTHY", dep("RUNNING", { healthStatus: "HEALTHY" })).state).toBe("met");
    expect(dependencyVerdict("HEALTHY", dep("STOPPED", { exitCode: 1 })).state).toBe("failed");
  });
});

describe("restart policy (ECS RestartTracker rules)", () => {
  const policy = { enabled: true, ignoredExitCodes: [0], restartAttemptPeriod: 60 };
  const at = (over: object = {}) => ({ exitCode: 1, startedAt: 0, lastRestartAt: undefined, desiredRunning: true, ...over });
  test("restarts after running at least the attempt period", () => {
    expect(restartDecision(policy, at(), 60_000).restart).toBe(true);
    expect(restartDecision(policy, at(), 59_999).restart).toBe(false);
  });
  test("the period counts from the last restart when there was one", () => {
    expect(restartDecision(policy, at({ lastRestartAt: 100_000 }), 130_000).restart).toBe(false);
    expect(restartDecision(policy, at({ lastRestartAt: 100_000 }), 160_000).restart).toBe(true);
  });
  test("ignored exit codes, disabled policy, stopping task, unknown exit code: no restart", () => {
    expect(restartDecision(policy, at({ exitCode: 0 }), 1e9)).toEqual({ restart: false, why: "exit code 0 is ignored" });
    expect(restartDecision({ ...policy, enabled: false }, at(), 1e9).restart).toBe(false);
    expect(restartDecision(undefined, at(), 1e9).restart).toBe(false);
    expect(restartDecision(policy, at({ desiredRunning: false }), 1e9).restart).toBe(false);
    expect(restartDecision(policy, at({ exitCode: undefined }), 1e9).restart).toBe(false);
  });
});

describe("stop waves", () => {
  test("dependents stop first, unrelated containers together", () => {
    expect(
      stopWaves([
        { name: "app", dependsOn: [{ containerName: "db" }] },
        { name: "db" },
        { name: "side" },
        { name: "log", volumesFrom: [{ sourceContainer: "app" }] },
      ]),
    ).toEqual([["side", "log"], ["app"], ["db"]]);
  });
});

describe("task health", () => {
  test("UNHEALTHY if any essential checked container is, HEALTHY only if all are, else UNKNOWN", () => {
    expect(taskHealthStatus([{ essential: true }])).toBe("UNKNOWN");
    expect(taskHealthStatus([{ essential: true, healthStatus: "HEALTHY" }, { essential: true }])).toBe("HEALTHY");
    expect(taskHealthStatus([{ essential: true, healthStatus: "HEALTHY" }, { essential: true, healthStatus: "UNKNOWN" }])).toBe("UNKNOWN");
    expect(taskHealthStatus([{ essential: true, healthStatus: "HEALTHY" }, { essential: false, healthStatus: "UNHEALTHY" }])).toBe("HEALTHY");
    expect(taskHealthStatus([{ essential: true, healthStatus: "UNHEALTHY" }, { essential: true, healthStatus: "HEALTHY" }])).toBe("UNHEALTHY");
  });
});
