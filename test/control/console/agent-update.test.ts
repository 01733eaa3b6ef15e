import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { agentReleaseStore } from "../../../control/ops/agent-release-store.ts";
import { applyPresence, registerContainerInstance } from "../../../control/ops/instances.ts";
import { applyReports } from "../../../control/ops/reports.ts";
import type { AgentRequest } from "../../../shared/messages.ts";
import { TEST_TOKEN } from "../../helpers/control.ts";
import { createTestOps } from "../../helpers/ops.ts";
import { releaseForm, releaseKeyPair, sha256Hex, signDigest } from "../../helpers/release-keys.ts";
import { consoleHarness, type ConsoleHarness } from "./console-harness.ts";

/**
 * Agent updates in the console: the host's agent version and agentUpdateStatus (with the reason on
 * FAILED) on the host page and in the hosts list, and the "Update agent" form (operators and
 * admins; it calls the update-agent operation). The upgrade command is recorded; the agent's
 * answers go through the report path.
 */
const C = "shop";
const key = releaseKeyPair();
let h: ConsoleHarness;
let dir: string;
let id: string;
const sent: AgentRequest[] = [];
const facts = (agentVersion: string) => ({
  hostname: "till-1",
  resources: { cpu: 1024, memory: 1024 },
  attributes: { "ecs.cpu-architecture": "x86_64", "ecs.os-type": "linux" },
  versionInfo: { agentVersion, dockerVersion: "t" },
});
const hostPath = () => `/console/clusters/${C}/hosts/${id}`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "flotilla-console-upd-"));
  const agentReleases = agentReleaseStore({ dir, keys: [key.publicKey] });
  const agentRequests = () => async (_id: string, r: AgentRequest) => void sent.push(r);
  const t = await createTestOps(undefined, { agentReleases, agentRequests });
  h = await consoleHarness(undefined, t, { agentReleases, agentRequests });
  await t.request("POST", "/v1/clusters", { clusterName: C });
  const act = (await t.request("POST", `/v1/clusters/${C}/activations`, {})).body;
  const reg = await registerContainerInstance(t.ctx, act.activationId, act.activationCode, facts("1.0.0"));
  if (!reg.ok) throw new Error(reg.reason);
  id = reg.instance.id;
  await applyPresence(t.ctx, id, { connected: true, epoch: 1 });
  const bytes = new TextEncoder().encode("agent 1.1.0");
  const sha = sha256Hex(bytes);
  const up = await t.app.request("/v1/agent-releases", {
    method: "POST",
    headers: { authorization: `Bearer ${TEST_TOKEN}` },
    body: releaseForm({ version: "1.1.0", architecture: "x86_64", sha256: sha, signature: signDigest(sha, key.privateKey), bytes }),
  });
  expect(up.status).toBe(201);
});
afterAll(() => {
  h?.close();
  rmSync(dir, { recursive: true, force: true });
});

const updateForm = (html: string) => /<form[^>]*action="[^"]*\/update-agent"[^>]*>([\s\S]*?)<\/form>/.exec(html);

describe("agent updates in the console", () => {
  test("a read-only viewer sees the agent version but no Update agent form, and a post of it is refused", async () => {
    const { cookie, csrf } = await h.login(await h.token("read-only"));
    const page = await h.get(hostPath(), cookie);
    expect(page.status).toBe(200);
    expect(page.html).toContain('<dd class="agent-version">1.0.0</dd>');
    expect(updateForm(page.html)).toBeNull();
    const post = await h.post(`${hostPath()}/update-agent`, cookie, { _csrf: csrf, version: "1.1.0" });
    expect(post.status).toBe(403);
    expect(sent).toEqual([]);
  });

  test("an operator's form has the CSRF token and the releases for the host's architecture; without the token the post is refused", async () => {
    const { cookie, csrf } = await h.login(await h.token("operator"));
    const form = updateForm((await h.get(hostPath(), cookie)).html);
    expect(form).not.toBeNull();
    expect(form![1]).toContain(`name="_csrf" value="${csrf}"`);
    expect(form![1]).toContain('<option value="1.1.0">1.1.0</option>');
    expect((await h.post(`${hostPath()}/update-agent`, cookie, { version: "1.1.0" })).status).toBe(403);
    expect(sent).toEqual([]);
  });

  test("posting it sends the update; the host page and the hosts list show PENDING", async () => {
    const { cookie, csrf } = await h.login(await h.token("operator"));
    const post = await h.post(`${hostPath()}/update-agent`, cookie, { _csrf: csrf, version: "" });
    expect(post.status).toBe(303);
    expect(post.location).toBe(`${hostPath()}?done=agent-update`);
    expect(sent).toMatchObject([{ kind: "upgrade", version: "1.1.0" }]);
    const page = await h.get(post.location!, cookie);
    expect(page.html).toContain("The agent update was sent");
    expect(page.html).toMatch(/class="agent-update-status">[\s\S]*PENDING[\s\S]*to 1\.1\.0/);
    const list = await h.get(`/console/clusters/${C}/hosts`, cookie);
    expect(list.html).toMatch(/data-label="Agent version">1\.0\.0 <span class="agent-update">[\s\S]*PENDING[\s\S]*to 1\.1\.0/);
    // A second one while it is in progress: the operation's refusal, shown on an error page.
    const again = await h.post(`${hostPath()}/update-agent`, cookie, { _csrf: csrf, version: "" });
    expect(again.status).toBe(409);
    expect(again.html).toContain("in progress");
    expect(sent).toHaveLength(1);
  });

  test("FAILED shows the agent's reason, escaped", async () => {
    const reason = `signature <script>alert("x")</script> & does not verify`;
    await applyReports(h.t.ctx, [{ instanceId: id, report: { instanceId: id, bootId: "b", seq: 1, generation: 0, sentAt: Date.now(), tasks: [], agentUpdate: { status: "FAILED", version: "1.1.0", reason } } }]);
    const { cookie } = await h.login();
    const page = await h.get(hostPath(), cookie);
    expect(page.html).toContain("FAILED");
    expect(page.html).toContain("signature &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; does not verify");
    expect(page.html).not.toContain("<script>alert");
    const list = await h.get(`/console/clusters/${C}/hosts`, cookie);
    expect(list.html).toMatch(/data-label="Agent version">1\.0\.0 <span class="agent-update">[\s\S]*FAILED/);
  });
});
