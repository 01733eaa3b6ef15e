import { expect } from "bun:test";
import { parseTaskDefinition, type FieldIssue, type TaskDefinitionSpec } from "../../../shared/task-definition/index.ts";

export type Json = Record<string, unknown>;

/** A small valid container; `over` replaces or adds fields. */
export const container = (over: Json = {}): Json => ({ name: "web", image: "nginx", memory: 128, ...over });

/** A valid task definition around `containers`; `over` replaces or adds task-level fields. */
export const task = (over: Json = {}, containers: Json[] = [container()]): Json => ({
  family: "app",
  containerDefinitions: containers,
  ...over,
});

/** A task with one container patched by `over`. */
export const withContainer = (over: Json, taskOver: Json = {}): Json => task(taskOver, [container(over)]);

export function accepted(body: unknown): TaskDefinitionSpec {
  const r = parseTaskDefinition(body);
  if (!r.ok) throw new Error(`expected the task definition to be accepted, got ${JSON.stringify(r.issues, null, 2)}`);
  return r.value;
}

export function rejected(body: unknown): FieldIssue[] {
  const r = parseTaskDefinition(body);
  if (r.ok) throw new Error(`expected the task definition to be rejected, got ${JSON.stringify(r.value)}`);
  for (const i of r.issues) expectReadable(i);
  return r.issues;
}

/** Rejected with exactly one issue, at `path`, whose message matches `message`. */
export function expectOnlyIssue(body: unknown, path: string, message: string | RegExp): FieldIssue {
  const issues = rejected(body);
  expect(issues.map((i) => i.path)).toEqual([path]);
  const issue = issues[0]!;
  expect(issue.message).toMatch(message);
  return issue;
}

/** Rejected with exactly these issues (path and message fragment), in any order. */
export function expectIssues(body: unknown, expected: Array<[path: string, message: string | RegExp]>): void {
  const issues = rejected(body);
  expect(issues.map((i) => i.path).sort()).toEqual(expected.map(([p]) => p).sort());
  for (const [path, message] of expected) {
    expect(issues.some((i) => i.path === path && (typeof message === "string" ? i.message.includes(message) : message.test(i.message)))).toBe(true);
  }
}

/** Messages are one sentence, never zod's internal wording. */
export function expectReadable(issue: FieldIssue): void {
  expect(issue.message).toMatch(/[.?]$/);
  expect(issue.message).not.toMatch(/Invalid input|expected \w+, received|Unrecognized key/);
  expect(issue.message.split(/(?<=[a-z0-9")])\.\s+[A-Z]/).length).toBe(1);
}
