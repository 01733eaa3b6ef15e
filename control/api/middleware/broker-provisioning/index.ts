import type { MiddlewareHandler } from "hono";

export type { BrokerProvisioning } from "../../../ops/activations.ts";
import type { BrokerProvisioning } from "../../../ops/activations.ts";
import { silentLogger, withComponent, type Logger } from "../../../../shared/log.ts";

const CREATE = /^\/v1\/clusters\/[^/]+\/activations\/?$/;
const REVOKE = /^\/v1\/clusters\/[^/]+\/activations\/([^/]+)$/;

/**
 * With an external broker, activation credentials must exist on that broker too. The activation
 * code is only ever in the create response (stored hashed), so it is taken from there.
 */
export function brokerProvisioning(p: BrokerProvisioning, logger: Logger = silentLogger): MiddlewareHandler {
  const log = withComponent(logger, "broker");
  return async (c, next) => {
    await next();
    const path = c.req.path;
    try {
      if (c.req.method === "POST" && c.res.status === 201 && CREATE.test(path)) {
        const body = (await c.res.clone().json()) as { activationId: string; activationCode: string };
        await p.activationCreated(body.activationId, body.activationCode);
      } else if (c.req.method === "DELETE" && c.res.status === 200 && REVOKE.test(path)) {
        await p.activationGone(REVOKE.exec(path)![1]!);
      }
    } catch (e) {
      log.error({ requestId: c.get("requestId") }, `provisioning for ${c.req.method} ${path} failed: ${(e as Error).message}`);
      c.res = c.json({ error: { code: "ServerException", message: "the MQTT broker did not accept the change; try again" } }, 503);
    }
  };
}
