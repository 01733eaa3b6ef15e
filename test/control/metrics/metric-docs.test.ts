import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AgentMetrics } from "../../../agent/metrics/agent-metrics.ts";
import { startTestControl, type TestControl } from "../../helpers/control.ts";

/**
 * docs/metrics.md lists every metric family the control and the agent register (and nothing they
 * do not), and the Grafana dashboard queries only names that exist.
 */
const ROOT = join(import.meta.dir, "../../..");
let tc: TestControl;
let families: Set<string>;

beforeAll(async () => {
  tc = await startTestControl();
  const names = [...tc.control.metrics.registry.getMetricsAsArray(), ...new AgentMetrics().registry.getMetricsAsArray()].map((m) => m.name);
  families = new Set(names);
});
afterAll(() => tc?.stop());

/** prom-client's process set (listed in the docs by example, not one by one). */
const processFamily = (name: string) => /^flotilla_(control|agent)_(process|nodejs)_/.test(name);

test("docs/metrics.md names every family the code registers, and only those", () => {
  const doc = readFileSync(join(ROOT, "docs/metrics.md"), "utf8");
  const documented = new Set([...doc.matchAll(/^\| `(flotilla_[a-z_]+)`/gm)].map((m) => m[1]!));
  const undocumented = [...families].filter((n) => !processFamily(n) && !documented.has(n));
  expect(undocumented).toEqual([]);
  const missing = [...documented].filter((n) => !families.has(n));
  expect(missing).toEqual([]);
});

test("the Grafana dashboard queries only metric names that exist", () => {
  const dashboard = JSON.parse(readFileSync(join(ROOT, "docs/grafana/flotilla.json"), "utf8"));
  const exprs: string[] = dashboard.panels.flatMap((p: any) => (p.targets ?? []).map((t: any) => t.expr));
  expect(exprs.length).toBeGreaterThan(20);
  const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\bflotilla_[a-z0-9_]+/g)].map((m) => m[0]!.replace(/_(bucket|count|sum)$/, ""))));
  const unknown = [...used].filter((n) => !families.has(n));
  expect(unknown).toEqual([]);
});
