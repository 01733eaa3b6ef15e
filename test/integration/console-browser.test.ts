import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";
import { startAgentProcess } from "../helpers/agent-process.ts";
import { TEST_TOKEN } from "../helpers/control.ts";
import { singleAgentCluster } from "../helpers/fleet.ts";

/**
 * The web console in a real browser (Debian's chromium, driven by playwright-core) against a real
 * control service and a real agent process: log in, see the host, register a task definition from
 * pasted JSON (a broken one shows its field error), and watch the host turn disconnected on an
 * open page, without a reload, when its agent stops. The browser missing is a failure, not a skip.
 */
const CLUSTER = "console-browser";
const CHROMIUM = "/usr/bin/chromium";
const env = singleAgentCluster(CLUSTER);
/** What the page functions below see (this file is typed without the DOM library). */
interface PageGlobals {
  document: { getElementById(id: string): { textContent: string | null } | null; querySelector(sel: string): { textContent: string | null } | null };
  notReloaded?: boolean;
}

/** Screenshots for a person to look at (not committed): FLOTILLA_CONSOLE_SHOTS=/some/dir. */
const SHOTS = process.env.FLOTILLA_CONSOLE_SHOTS;

let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: scripts/lib/ensure-tools.sh installs Debian's chromium`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

const shot = async (name: string) => {
  if (SHOTS) await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
};

describe("console in a real browser", () => {
  test("log in with a token and see the host, connected", async () => {
    const url = env.tc.control.httpUrl;
    await page.goto(`${url}/console`);
    expect(new URL(page.url()).pathname).toBe("/console/login");
    await page.fill('input[name="token"]', TEST_TOKEN);
    await page.click('button[type="submit"]');
    await page.waitForURL(`${url}/console`);
    expect(await page.textContent("h1")).toBe("Overview");
    await shot("overview");
    await page.click(`a[href="/console/clusters/${CLUSTER}/hosts"]`);
    const row = page.locator(`tr[data-instance-id="${env.instanceId}"]`);
    await row.waitFor();
    // "● connected", not "✖ disconnected" (the word, not only the colour, says which).
    expect((await row.locator(".agent-state").innerText()).trim()).toBe("● connected");
    await shot("hosts");
    await page.setViewportSize({ width: 390, height: 844 });
    await shot("hosts-phone");
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  test("register a task definition from pasted JSON: a broken one shows its error at the field", async () => {
    await page.goto(`${env.tc.control.httpUrl}/console/task-definitions/new`);
    await page.fill('textarea[name="json"]', JSON.stringify({ family: "console-web", containerDefinitions: [{ name: "web", memory: 32 }] }, null, 2));
    await page.click('form.card button[type="submit"]');
    const error = page.locator('[data-field-path="containerDefinitions[0].image"]');
    await error.waitFor();
    expect(await error.innerText()).toContain("image");
    await shot("register-error");
    // Fixed in place (the pasted text was kept), it registers.
    const text = await page.inputValue('textarea[name="json"]');
    const fixed = JSON.parse(text);
    fixed.containerDefinitions[0].image = "flotilla/busybox:test";
    await page.fill('textarea[name="json"]', JSON.stringify(fixed));
    await page.click('form.card button[type="submit"]');
    await page.waitForURL(/\/console\/task-definitions\/console-web\/1$/);
    expect(await page.textContent("pre.json")).toContain('"family": "console-web"');
  });

  test("a task's open page follows it to RUNNING and, when stopped, to STOPPED without a reload; its log tail follows new lines", async () => {
    const url = env.tc.control.httpUrl;
    const script = "echo hello-console; i=0; while true; do echo tick $i; i=$((i+1)); sleep 1; done";
    const reg = await env.tc.api("POST", "/v1/task-definitions", {
      family: "console-logs",
      containerDefinitions: [{ name: "app", image: "flotilla/busybox:test", memory: 32, stopTimeout: 2, command: ["sh", "-c", script] }],
    });
    expect(reg.status).toBe(201);
    const task = await env.tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: "console-logs" });
    expect(task.status).toBe(201);
    const taskId = task.body.tasks[0].taskId as string;
    await page.goto(`${url}/console/clusters/${CLUSTER}/tasks/${taskId}`);
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.getElementById("live-status")?.textContent?.includes("Live updates on"));
    await page.evaluate(() => ((globalThis as unknown as PageGlobals).notReloaded = true));
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.getElementById("task-last-status")?.textContent?.includes("RUNNING"), undefined, { timeout: 30_000 });
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).notReloaded)).toBe(true);
    await shot("task");
    await page.check('input[name="follow"]');
    await page.click('form[data-log-tail] button[type="submit"]:not([data-log-download])');
    const log = page.locator("#log-output");
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.getElementById("log-output")?.textContent?.includes("hello-console"));
    // Lines written after the tail was opened arrive too: the tail follows.
    const first = await log.innerText();
    const lastTick = Number(/tick (\d+)\s*$/.exec(first)?.[1] ?? -1);
    await page.waitForFunction((n) => (globalThis as unknown as PageGlobals).document.getElementById("log-output")?.textContent?.includes(`tick ${n + 2}`), lastTick, { timeout: 15_000 });
    await page.click("[data-log-pause]");
    // Stopped through the API while the page is open: it turns STOPPED by itself.
    await env.tc.api("POST", `/v1/clusters/${CLUSTER}/tasks/${taskId}/stop`, {});
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.getElementById("task-last-status")?.textContent?.includes("STOPPED"), undefined, { timeout: 30_000 });
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).notReloaded)).toBe(true);
  }, 60_000);

  test("an activation made on the page registers a real agent, and the new host appears on the open hosts page", async () => {
    const url = env.tc.control.httpUrl;
    await page.goto(`${url}/console/clusters/${CLUSTER}/activations`);
    await page.click('form.card button[type="submit"]');
    const line = await page.locator("#install-line").innerText();
    expect(line).toStartWith(`curl -fsSL ${url}/install-agent.sh | sudo bash -s -- --control ${url} --mqtt `);
    const arg = (name: string) => new RegExp(`--${name} (\\S+)`).exec(line)![1]!;
    await page.goto(`${url}/console/clusters/${CLUSTER}/hosts`);
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.getElementById("live-status")?.textContent?.includes("Live updates on"));
    await page.evaluate(() => ((globalThis as unknown as PageGlobals).notReloaded = true));
    expect(await page.locator("tr[data-instance-id]").count()).toBe(1);
    // What the install script would start, with the values the page gave (the installer itself
    // needs root and systemd; test/scripts/install-agent.test.ts covers it).
    const agent = startAgentProcess({ control: arg("mqtt"), activation: { activationId: arg("activation-id"), activationCode: arg("activation-code") } });
    try {
      await page.locator("tr[data-instance-id]").nth(1).waitFor({ timeout: 30_000 });
      expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).notReloaded)).toBe(true);
    } finally {
      await agent.stop();
    }
  }, 60_000);

  test("a host whose agent stops turns disconnected on the open page, without a reload", async () => {
    await page.goto(`${env.tc.control.httpUrl}/console/clusters/${CLUSTER}/hosts`);
    // Live updates on: the page's event stream is open.
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.getElementById("live-status")?.textContent?.includes("Live updates on"));
    await page.evaluate(() => ((globalThis as unknown as PageGlobals).notReloaded = true));
    await env.agent.stop();
    const state = page.locator(`tr[data-instance-id="${env.instanceId}"] .agent-state`);
    await page.waitForFunction((id) => (globalThis as unknown as PageGlobals).document.querySelector(`tr[data-instance-id="${id}"] .agent-state`)?.textContent?.includes("disconnected"), env.instanceId, { timeout: 20_000 });
    expect((await state.innerText()).trim()).toBe("✖ disconnected");
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).notReloaded)).toBe(true);
    await shot("hosts-disconnected");
  }, 40_000);
});
