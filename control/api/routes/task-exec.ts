import { Hono } from "hono";
import { upgradeWebSocket } from "hono/bun";
import type { WSContext } from "hono/ws";
import { z } from "zod";
import { ExecSessionError, type ExecSession, type ExecSessions } from "../../link/exec-sessions.ts";
import type { OpsContext } from "../../ops/context.ts";
import { resolveExecTarget } from "../../ops/task-exec.ts";

type Sessions = () => ExecSessions | undefined;

const unavailable = { error: { code: "ServerException", message: "the agent link is not running" } };

/**
 * POST /v1/clusters/{cluster}/tasks/{taskId}/exec is ECS's ExecuteCommand: it checks the caller's
 * role (admin or operator: a POST), the cluster policy and the target, is audited with the token
 * like every mutating call, and answers with a session id, a stream URL and a single-use token.
 */
export function taskExecRoutes(ctx: OpsContext, sessions: Sessions) {
  const app = new Hono();
  app.post("/:cluster/tasks/:taskId/exec", async (c) => {
    const body = await c.req.json().catch(() => undefined);
    const { instanceId, clusterArn, taskArn, params } = await resolveExecTarget(ctx, c.req.param("cluster"), c.req.param("taskId"), body ?? {});
    const s = sessions();
    if (!s) return c.json(unavailable, 503);
    const { sessionId, tokenValue } = s.create(instanceId, params);
    return c.json({
      clusterArn,
      containerArn: `${taskArn}/${params.container}`,
      containerName: params.container,
      interactive: params.interactive,
      taskArn,
      session: { sessionId, streamUrl: `/v1/exec-sessions/${sessionId}`, tokenValue },
    });
  });
  return app;
}

const clientMessage = z.union([
  z.strictObject({ stdin: z.string().max(512 * 1024) }),
  z.strictObject({ resize: z.strictObject({ cols: z.number().int().min(1).max(1000), rows: z.number().int().min(1).max(1000) }) }),
  z.strictObject({ eof: z.literal(true) }),
]);

const sizeQuery = z.object({ cols: z.coerce.number().int().min(1).max(1000), rows: z.coerce.number().int().min(1).max(1000) });

/**
 * GET /v1/exec-sessions/{sessionId}?token=…[&cols=&rows=]: the session's stream, a WebSocket
 * authenticated by the session's token (a browser cannot set an Authorization header on one).
 * Frames are JSON text both ways: the client sends {stdin: base64} | {resize: {cols, rows}} |
 * {eof: true}; the control sends {stdout: base64} | {stderr: base64}, then {exitCode} or {error}
 * and closes. A client that closes or vanishes ends the session: the agent kills the command.
 */
export function execStreamRoutes(sessions: Sessions) {
  const app = new Hono();
  app.get(
    "/:sessionId",
    async (c, next) => {
      const s = sessions();
      if (!s) return c.json(unavailable, 503);
      if (!s.valid(c.req.param("sessionId"), c.req.query("token") ?? "")) {
        return c.json({ error: { code: "UnauthorizedException", message: "no such exec session, or a wrong or used token" } }, 401);
      }
      if (c.req.header("upgrade")?.toLowerCase() !== "websocket") return c.json({ error: { code: "ClientException", message: "the exec stream is a WebSocket" } }, 426);
      await next();
    },
    upgradeWebSocket((c) => {
      const sessionId = c.req.param("sessionId")!;
      const token = c.req.query("token") ?? "";
      const size = sizeQuery.safeParse(c.req.query());
      let session: ExecSession | undefined;
      let gone = false;
      /** Client frames that came before the agent started the command. */
      const early: string[] = [];
      const send = (ws: WSContext, msg: object) => {
        if (!gone) ws.send(JSON.stringify(msg));
      };
      const finish = (ws: WSContext, msg: object) => {
        send(ws, msg);
        gone = true;
        ws.close(1000, "done");
      };
      const apply = (raw: string, ws: WSContext) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(raw);
        } catch {
          return finish(ws, { error: "frames are JSON" });
        }
        const m = clientMessage.safeParse(parsed);
        if (!m.success) return finish(ws, { error: `bad frame: ${m.error.issues[0]?.message ?? "invalid"}` });
        if ("stdin" in m.data) session!.write(Buffer.from(m.data.stdin, "base64"));
        else if ("resize" in m.data) session!.resize(m.data.resize);
        else session!.closeStdin();
      };
      return {
        onOpen: (_evt, ws) => {
          const s = sessions();
          if (!s) return finish(ws, { error: "the agent link is not running" });
          s.attach(
            sessionId,
            token,
            {
              output: (bytes, stderr) => send(ws, stderr ? { stderr: Buffer.from(bytes).toString("base64") } : { stdout: Buffer.from(bytes).toString("base64") }),
              exit: (exitCode) => finish(ws, { exitCode }),
              failed: (error) => finish(ws, { error }),
              buffered: () => (ws.raw as { getBufferedAmount?: () => number } | undefined)?.getBufferedAmount?.() ?? 0,
            },
            size.success ? size.data : undefined,
          ).then(
            (opened) => {
              session = opened;
              if (gone) return opened.cancel();
              for (const raw of early.splice(0)) apply(raw, ws);
            },
            (e: Error) => finish(ws, { error: e instanceof ExecSessionError ? `${e.code}: ${e.message}` : e.message }),
          );
        },
        onMessage: (evt, ws) => {
          const raw = typeof evt.data === "string" ? evt.data : Buffer.from(evt.data as ArrayBuffer).toString("utf8");
          if (!session) early.push(raw);
          else apply(raw, ws);
        },
        onClose: () => {
          gone = true;
          session?.cancel();
        },
      };
    }),
  );
  return app;
}
