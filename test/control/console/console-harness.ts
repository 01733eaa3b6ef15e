import { Hono } from "hono";
import { ChangeBus } from "../../../control/change-bus.ts";
import type { Clock } from "../../../control/clock.ts";
import { createConsole, type ConsoleOptions } from "../../../control/console/app.tsx";
import { createToken } from "../../../control/ops/tokens.ts";
import { TEST_TOKEN } from "../../helpers/control.ts";
import { createTestOps, type TestOps } from "../../helpers/ops.ts";

/** The console over real operations and a real libSQL file, requested in-process. */
export interface ConsoleHarness {
  t: TestOps;
  changes: ChangeBus;
  /** Instances the console asked to revoke (the broker session drop), in order. */
  revoked: string[];
  /** What the console asked an external broker to provision: "created ID" / "gone ID". */
  provisioned: string[];
  app: Hono;
  /** Logs in with a token; returns the session cookie and the page's CSRF token. */
  login(token?: string, origin?: string): Promise<{ cookie: string; csrf: string; setCookie: string }>;
  get(path: string, cookie: string): Promise<{ status: number; html: string; location: string | null }>;
  post(path: string, cookie: string, form: Record<string, string>, headers?: Record<string, string>): Promise<{ status: number; html: string; location: string | null }>;
  token(role: "admin" | "operator" | "read-only"): Promise<string>;
  close(): void;
}

/** `ops`: the operations of an existing in-process fleet (test/control/services/fake-fleet.ts). */
/** `extra`: more console options (agent releases and link for the host page's "Update agent"). */
export async function consoleHarness(clock?: Clock, ops?: TestOps, extra: Partial<ConsoleOptions> = {}): Promise<ConsoleHarness> {
  const t = ops ?? (await createTestOps(clock));
  const changes = new ChangeBus();
  t.ctx.changes = changes;
  const app = new Hono();
  const revoked: string[] = [];
  const provisioned: string[] = [];
  app.route(
    "/console",
    createConsole(t.ctx, {
      changes,
      instanceRevoked: async (id) => void revoked.push(id),
      brokerProvisioning: { activationCreated: async (id) => void provisioned.push(`created ${id}`), activationGone: async (id) => void provisioned.push(`gone ${id}`) },
      ...extra,
    }),
  );
  const get = async (path: string, cookie: string) => {
    const res = await app.request(path, { headers: { cookie } });
    return { status: res.status, html: await res.text(), location: res.headers.get("location") };
  };
  const post = async (path: string, cookie: string, form: Record<string, string>, headers: Record<string, string> = {}) => {
    const res = await app.request(path, { method: "POST", headers: { cookie, "content-type": "application/x-www-form-urlencoded", ...headers }, body: new URLSearchParams(form) });
    return { status: res.status, html: await res.text(), location: res.headers.get("location") };
  };
  return {
    t,
    changes,
    revoked,
    provisioned,
    app,
    async login(token = TEST_TOKEN, origin = "http://localhost") {
      const res = await app.request(`${origin}/console/login`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ token }) });
      if (res.status !== 303) throw new Error(`login failed: ${res.status} ${await res.text()}`);
      const setCookie = res.headers.get("set-cookie")!;
      const cookie = setCookie.split(";")[0]!;
      const page = await get("/console/task-definitions", cookie);
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page.html)?.[1];
      if (!csrf) throw new Error("no CSRF token on the page");
      return { cookie, csrf, setCookie };
    },
    get,
    post,
    async token(role) {
      return (await createToken(t.ctx, { name: `t-${role}`, role })).token;
    },
    close: () => t.close(),
  };
}
