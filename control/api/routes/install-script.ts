import { Hono } from "hono";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const SCRIPT = join(import.meta.dir, "../../../scripts/install-agent.sh");

/**
 * GET /install-agent.sh: the agent install script, served by the control itself so a fresh host
 * needs one pasted line (`curl -fsSL http://CONTROL:8080/install-agent.sh | sudo bash -s -- …`)
 * and nothing from the internet. No token: the script is public, the activation code is the secret.
 */
export function installScriptRoutes(path = SCRIPT) {
  const app = new Hono();
  const body = existsSync(path) ? readFileSync(path, "utf8") : undefined;
  app.get("/install-agent.sh", (c) => {
    if (body === undefined) return c.json({ error: { code: "NotFound", message: "install-agent.sh is not shipped with this control" } }, 404);
    return c.body(body, 200, { "content-type": "text/x-shellscript; charset=utf-8", "cache-control": "no-cache", "x-content-type-options": "nosniff" });
  });
  return app;
}
