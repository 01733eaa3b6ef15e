import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createTestOps, type TestOps } from "../../helpers/ops.ts";

/**
 * Real ECS task definitions that other people wrote (test/corpus/task-definitions/, described in its
 * index.json), each registered through the HTTP route exactly as stored. A file Amazon ECS would
 * refuse is refused with the field path; a file ECS accepts and that makes sense on a Linux host
 * registers. The few that ECS accepts but Flotilla cannot run (AWS-only services, Windows, known
 * gaps) are refused at the path that says why. The count is the one docs/task-definitions.md gives.
 */

interface Entry {
  file: string;
  source: { repository: string; path: string; commit: string | null };
  ecsAccepts: boolean;
  linuxHost: boolean;
  expect: "register" | "refuse";
  refusedAt?: string;
  note?: string;
}

const ROOT = join(import.meta.dir, "../../..");
const DIR = join(ROOT, "test/corpus/task-definitions");
const index = JSON.parse(readFileSync(join(DIR, "index.json"), "utf8")) as { files: Entry[] };
const entries = index.files;

let t: TestOps;
beforeAll(async () => (t = await createTestOps()));
afterAll(() => t.close());

describe("the corpus index", () => {
  test("lists every stored file once, with its source", () => {
    const stored = readdirSync(DIR).filter((f) => f.endsWith(".json") && f !== "index.json").sort();
    expect(entries.map((e) => e.file).sort()).toEqual(stored);
    expect(stored.length).toBeGreaterThanOrEqual(50);
    for (const e of entries) {
      expect(e.source.repository).toMatch(/^[\w.-]+\/[\w.-]+$/);
      expect(e.source.path.length).toBeGreaterThan(0);
    }
  });

  test("files ECS refuses are expected refused; files ECS accepts for a Linux host register unless a known gap is named", () => {
    for (const e of entries) {
      if (!e.ecsAccepts) expect({ file: e.file, expect: e.expect }).toEqual({ file: e.file, expect: "refuse" });
      if (e.ecsAccepts && e.linuxHost && e.expect === "refuse") expect({ file: e.file, note: e.note ?? "" }).toMatchObject({ note: expect.stringMatching(/^Known gap:/) });
      if (e.expect === "refuse") expect(e.refusedAt).toBeString();
    }
  });

  test("docs/task-definitions.md states the count", () => {
    const registered = entries.filter((e) => e.expect === "register").length;
    const docs = readFileSync(join(ROOT, "docs/task-definitions.md"), "utf8");
    expect(docs).toContain(`${registered} of ${entries.length} register`);
  });
});

describe("every corpus file through POST /v1/task-definitions", () => {
  for (const e of entries) {
    test(`${e.file}: ${e.expect === "register" ? "registers" : `refused at ${e.refusedAt}`}`, async () => {
      const raw = readFileSync(join(DIR, e.file), "utf8");
      const res = await t.request("POST", "/v1/task-definitions", raw);
      if (e.expect === "register") {
        expect({ status: res.status, error: res.body?.error }).toEqual({ status: 201, error: undefined });
        expect(res.body.taskDefinition.revision).toBeGreaterThanOrEqual(1);
        expect(res.body.warnings).toBeArray();
      } else {
        expect(res.status).toBe(400);
        const paths = (res.body.error.fields as { path: string }[]).map((f) => f.path);
        expect(paths).toContain(e.refusedAt!);
      }
    });
  }
});

describe("what the registered corpus files keep", () => {
  test("awslogs options are kept and shown by describe", async () => {
    const raw = readFileSync(join(DIR, "ecs-anywhere-workshop--external-task-definition-logs.json"), "utf8");
    const reg = await t.request("POST", "/v1/task-definitions", raw);
    const shown = await t.request("GET", `/v1/task-definitions/${reg.body.taskDefinition.family}:${reg.body.taskDefinition.revision}`);
    expect(shown.body.taskDefinition.containerDefinitions[0].logConfiguration).toEqual({
      logDriver: "awslogs",
      options: { "awslogs-group": "ecsanywhere-logs", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "logs" },
    });
  });

  test("a console export registers with each output-only field named in warnings", async () => {
    const raw = readFileSync(join(DIR, "threatstryker-docs--aws-ecs-describe-output.json"), "utf8");
    const reg = await t.request("POST", "/v1/task-definitions", raw);
    expect(reg.status).toBe(201);
    expect(reg.body.warnings.map((w: { path: string }) => w.path).sort()).toEqual(
      ["compatibilities", "registeredAt", "registeredBy", "requiresAttributes", "revision", "status", "taskDefinitionArn"].sort(),
    );
    const c = reg.body.taskDefinition.containerDefinitions[0];
    expect(c.links).toEqual([]);
    expect(c.environmentFiles).toBeUndefined();
    expect(reg.body.taskDefinition.requiresAttributes).toBeUndefined();
  });

  test("a FireLens task keeps its router and awsfirelens options, $(ecs_task_id) placeholders included", async () => {
    const raw = readFileSync(join(DIR, "ecs-anywhere-workshop--external-task-definition-firelens.json"), "utf8");
    const reg = await t.request("POST", "/v1/task-definitions", raw);
    const [router, app] = reg.body.taskDefinition.containerDefinitions;
    expect(router.firelensConfiguration).toEqual({ type: "fluentbit", options: { "enable-ecs-log-metadata": "false" } });
    expect(app.logConfiguration.logDriver).toBe("awsfirelens");
    expect(app.logConfiguration.options.log_stream_name).toBe("$(ecs_task_id)");
  });
});
