import { describe, expect, test } from "bun:test";
import {
  circuitBreakerThreshold,
  launchDelayMs,
  maximumTasks,
  minimumHealthyTasks,
  rolloutStep,
} from "../../../control/services/deployment-math.ts";

describe("deployment math", () => {
  test("minimum healthy rounds up, maximum rounds down (ECS)", () => {
    expect(minimumHealthyTasks(4, 50)).toBe(2);
    expect(minimumHealthyTasks(3, 50)).toBe(2);
    expect(minimumHealthyTasks(50, 90)).toBe(45);
    expect(minimumHealthyTasks(7, 90)).toBe(7);
    expect(minimumHealthyTasks(10, 0)).toBe(0);
    expect(maximumTasks(3, 150)).toBe(4);
    expect(maximumTasks(50, 110)).toBe(55);
    expect(maximumTasks(7, 110)).toBe(7);
    expect(maximumTasks(4, 100)).toBe(4);
  });

  test("circuit breaker threshold = min(max(ceil(0.5 × desired), 3), 200)", () => {
    expect(circuitBreakerThreshold(1)).toBe(3);
    expect(circuitBreakerThreshold(4)).toBe(3);
    expect(circuitBreakerThreshold(7)).toBe(4);
    expect(circuitBreakerThreshold(50)).toBe(25);
    expect(circuitBreakerThreshold(1000)).toBe(200);
  });

  test("a rolling step with 50/100 stops down to the minimum before starting", () => {
    const cfg = { minimumHealthyPercent: 50, maximumPercent: 100 };
    expect(rolloutStep({ desiredCount: 4, primaryTasks: 0, totalTasks: 4, healthyTasks: 4 }, cfg)).toEqual({ start: 0, stopHealthy: 2 });
    expect(rolloutStep({ desiredCount: 4, primaryTasks: 0, totalTasks: 2, healthyTasks: 2 }, cfg)).toEqual({ start: 2, stopHealthy: 0 });
    expect(rolloutStep({ desiredCount: 4, primaryTasks: 2, totalTasks: 4, healthyTasks: 4 }, cfg)).toEqual({ start: 0, stopHealthy: 2 });
  });

  test("a rolling step with 100/200 starts everything first and stops nothing healthy", () => {
    const cfg = { minimumHealthyPercent: 100, maximumPercent: 200 };
    expect(rolloutStep({ desiredCount: 4, primaryTasks: 0, totalTasks: 4, healthyTasks: 4 }, cfg)).toEqual({ start: 4, stopHealthy: 0 });
    expect(rolloutStep({ desiredCount: 4, primaryTasks: 4, totalTasks: 8, healthyTasks: 8 }, cfg)).toEqual({ start: 0, stopHealthy: 4 });
  });

  test("limits that leave no room (1 task, 50/100) still progress by dipping one below the minimum", () => {
    expect(rolloutStep({ desiredCount: 1, primaryTasks: 0, totalTasks: 1, healthyTasks: 1 }, { minimumHealthyPercent: 50, maximumPercent: 100 })).toEqual({
      start: 0,
      stopHealthy: 1,
    });
  });

  test("launch throttle grows and is capped", () => {
    expect(launchDelayMs(0)).toBe(0);
    expect(launchDelayMs(1)).toBe(1000);
    expect(launchDelayMs(3)).toBe(4000);
    expect(launchDelayMs(40)).toBe(60_000);
  });
});
