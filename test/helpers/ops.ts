import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApi } from "../../control/api/app.ts";
import { systemClock, type Clock } from "../../control/clock.ts";
import { openDatabase, type Database } from "../../control/db/open.ts";
import { createSerializer, type OpsContext } from "../../control/ops/context.ts";
import { ensureAdminToken } from "../../control/ops/tokens.ts";
import { PlacementIndexCache } from "../../control/scheduling/index-cache.ts";
import { PlacementStore } from "../../control/scheduling/placement-store.ts";
import type { Resources } from "../../shared/messages.ts";
import { TEST_TOKEN } from "./control.ts";

export interface TestOps {
  ctx: OpsContext;
  db: Database;
  /** Instances whose desired set was announced as changed, in order. */
  desiredChanges: string[];
  app: ReturnType<typeof createApi>;
  /** In-process request through the Hono app (no network), with the admin token. */
  request<T = any>(method: string, path: string, body?: unknown, token?: string | null): Promise<{ status: number; body: T }>;
  close(): void;
}

/** Operations over a real libSQL file, without broker or HTTP server: for route and op tests. */
export async function createTestOps(clock: Clock = systemClock, api: Parameters<typeof createApi>[1] = {}): Promise<TestOps> {
  const dir = mkdtempSync(join(tmpdir(), "flotilla-ops-"));
  const db = await openDatabase(`file:${join(dir, "t.db")}`);
  const desiredChanges: string[] = [];
  const placement = PlacementStore.open(db);
  const ctx: OpsContext = {
    db: db.db,
    clock,
    serialize: createSerializer(),
    desiredChanged: (id) => desiredChanges.push(id),
    indexes: new PlacementIndexCache(placement, clock),
    placement,
  };
  await ensureAdminToken(ctx, TEST_TOKEN);
  const app = createApi(ctx, api);
  return {
    ctx,
    db,
    desiredChanges,
    app,
    async request(method, path, body, token = TEST_TOKEN) {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (token) headers.authorization = `Bearer ${token}`;
      const res = await app.request(path, {
        method,
        headers,
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    close() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Registers a fake instance through the registration op (no agent), connected and ACTIVE; `resources.gpus` are the GPU ids its agent would register. */
export async function addInstance(t: { ctx: OpsContext }, cluster: string, resources: Resources = { cpu: 2048, memory: 4096 }, attributes: Record<string, string> = {}) {
  const { createActivation } = await import("../../control/ops/activations.ts");
  const { registerContainerInstance, applyPresence } = await import("../../control/ops/instances.ts");
  const act = await createActivation(t.ctx, cluster, {});
  const reg = await registerContainerInstance(t.ctx, act.activationId, act.activationCode, {
    hostname: "host-" + Math.random().toString(36).slice(2, 8),
    resources,
    attributes: { "ecs.os-type": "linux", "ecs.cpu-architecture": "x86_64", ...attributes },
    versionInfo: { agentVersion: "test", dockerVersion: "test" },
  });
  if (!reg.ok) throw new Error(reg.reason);
  await applyPresence(t.ctx, reg.instance.id, { connected: true, epoch: 1 });
  return reg.instance.id;
}
