import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { startAgentProcess } from "../helpers/agent-process.ts";
import { TEST_TOKEN } from "../helpers/control.ts";
import { singleAgentCluster, startRegisteredAgent, waitTaskStatus } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";

/**
 * The web console in a real browser (Debian's chromium, driven by playwright-core) against a real
 * control service and a real agent process: log in, see the host, register a task definition from
 * pasted JSON (a broken one shows its field error), run a task from its revision and watch it
 * reach RUNNING, create a service, scale it and drain a host (a second real agent) while an open
 * page watches its tasks move, and watch the host turn disconnected on an open page, without a
 * reload, when its agent stops. Every page is photographed at desktop and phone widths into
 * test-artifacts/console/ for a person to look at. The browser missing is a failure, not a skip.
 */
const CLUSTER = "console-browser";
const CHROMIUM = "/usr/bin/chromium";
const env = singleAgentCluster(CLUSTER);
/** What the page functions below see (this file is typed without the DOM library). */
interface PageElement {
  textContent: string | null;
  getAttribute(name: string): string | null;
  querySelector(sel: string): PageElement | null;
}
interface PageGlobals {
  document: {
    getElementById(id: string): PageElement | null;
    querySelector(sel: string): PageElement | null;
    querySelectorAll(sel: string): ArrayLike<PageElement>;
  };
  notReloaded?: boolean;
}
const globals = () => globalThis as unknown as PageGlobals;

/** Screenshots for a person to look at (gitignored), every run: one folder, desktop and phone. */
const SHOTS = join(import.meta.dir, "..", "..", "test-artifacts", "console");
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
rmSync(SHOTS, { recursive: true, force: true });
mkdirSync(SHOTS, { recursive: true });

/**
 * Runs `f` with the agent process stopped (SIGSTOP), then lets it go on: what the page shows
 * meanwhile cannot be RUNNING yet, so RUNNING seen later on the same page came by a live update.
 */
async function withAgentHeld<T>(f: () => Promise<T>): Promise<T> {
  env.agent.proc.kill("SIGSTOP");
  try {
    return await f();
  } finally {
    env.agent.proc.kill("SIGCONT");
  }
}
const lastStatusShown = () => page.evaluate(() => (globalThis as unknown as PageGlobals).document.getElementById("task-last-status")?.textContent ?? "");

let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: scripts/lib/ensure-tools.sh installs Debian's chromium`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  // One context (one cookie jar) for every page, so a second page shares the session.
  page = await (await browser.newContext({ viewport: DESKTOP })).newPage();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  console.log(`console screenshots (${readdirSync(SHOTS).length}): ${SHOTS}`);
});

/** The page as it is now, at desktop and at phone width (the layout reflows; nothing reloads). */
const shot = async (name: string, p: Page = page) => {
  await p.screenshot({ path: join(SHOTS, `${name}-desktop.png`), fullPage: true });
  await p.setViewportSize(PHONE);
  await p.screenshot({ path: join(SHOTS, `${name}-phone.png`), fullPage: true });
  await p.setViewportSize(DESKTOP);
};
/** Opens a console page and waits until its event stream is open, then marks the document. */
const openLive = async (path: string, p: Page = page) => {
  await p.goto(`${env.tc.control.httpUrl}${path}`);
  await p.waitForFunction(() => (globalThis as unknown as PageGlobals).document.getElementById("live-status")?.textContent?.includes("Live updates on"));
  await p.evaluate(() => ((globalThis as unknown as PageGlobals).notReloaded = true));
};
const notReloaded = (p: Page = page) => p.evaluate(() => (globalThis as unknown as PageGlobals).notReloaded);

describe("console in a real browser", () => {
  test("log in with a token and see the host, connected", async () => {
    const url = env.tc.control.httpUrl;
    await page.goto(`${url}/console`);
    expect(new URL(page.url()).pathname).toBe("/console/login");
    await shot("login");
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
    await page.goto(`${url}/console/clusters/${CLUSTER}/hosts/${env.instanceId}`);
    await shot("host");
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
    await page.goto(`${env.tc.control.httpUrl}/console/task-definitions`);
    await shot("task-definitions");
  });

  test("run a task from its revision page: the task's page opens and reaches RUNNING by itself", async () => {
    const url = env.tc.control.httpUrl;
    for (const value of ["1", "2"]) {
      const reg = await env.tc.api("POST", "/v1/task-definitions", {
        family: "console-run",
        containerDefinitions: [{ name: "app", image: "flotilla/busybox:test", memory: 16, stopTimeout: 2, command: ["sleep", "3600"], environment: [{ name: "V", value }] }],
      });
      expect(reg.status).toBe(201);
    }
    await page.goto(`${url}/console/task-definitions/console-run/2`);
    await shot("revision");
    await page.fill('#run-task input[name="count"]', "1");
    // The agent is held (SIGSTOP) until the page is open, so the page first shows the task before
    // RUNNING and can only reach RUNNING by a live update.
    const seenBefore = await withAgentHeld(async () => {
      await page.click('#run-task button[type="submit"]');
      await page.waitForURL(new RegExp(`/console/clusters/${CLUSTER}/tasks/[0-9a-f]+$`));
      await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.getElementById("live-status")?.textContent?.includes("Live updates on"));
      await page.evaluate(() => ((globalThis as unknown as PageGlobals).notReloaded = true));
      return lastStatusShown();
    });
    expect(seenBefore).not.toContain("RUNNING");
    const taskId = page.url().split("/").pop()!;
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.getElementById("task-last-status")?.textContent?.includes("RUNNING"), undefined, { timeout: 30_000 });
    expect(await notReloaded()).toBe(true);
    // It is the task RunTask started, on the real agent, from the revision the page showed.
    const task = (await env.tc.api("GET", `/v1/clusters/${CLUSTER}/tasks/${taskId}`)).body.task;
    expect(task).toMatchObject({ lastStatus: "RUNNING", startedBy: "console", taskDefinitionArn: expect.stringContaining("console-run:2") });
    await page.goto(`${url}/console/clusters/${CLUSTER}/tasks`);
    await shot("tasks");
    expect((await env.tc.api("POST", `/v1/clusters/${CLUSTER}/tasks/${taskId}/stop`, {})).status).toBe(200);
    await waitTaskStatus(env.tc, CLUSTER, taskId, "STOPPED", 30_000);
    // The two revisions side by side: the family page's compare form opens the diff.
    await page.goto(`${url}/console/task-definitions/console-run`);
    await shot("family");
    await page.click('#compare button[type="submit"]');
    await page.waitForURL(/\/console\/task-definitions\/console-run\/diff\?from=1&to=2$/);
    expect(await page.locator('tr[data-diff="added"]').allInnerTexts()).toEqual(expect.arrayContaining([expect.stringContaining('"value": "2"')]));
    expect(await page.locator('tr[data-diff="removed"]').allInnerTexts()).toEqual(expect.arrayContaining([expect.stringContaining('"value": "1"')]));
    await shot("diff");
  }, 60_000);

  test("a task's open page follows it to RUNNING and, when stopped, to STOPPED without a reload; its log tail follows new lines", async () => {
    const url = env.tc.control.httpUrl;
    const script = "echo hello-console; i=0; while true; do echo tick $i; i=$((i+1)); sleep 1; done";
    const reg = await env.tc.api("POST", "/v1/task-definitions", {
      family: "console-logs",
      containerDefinitions: [{ name: "app", image: "flotilla/busybox:test", memory: 32, stopTimeout: 2, command: ["sh", "-c", script] }],
    });
    expect(reg.status).toBe(201);
    let taskId = "";
    const seenBefore = await withAgentHeld(async () => {
      const task = await env.tc.api("POST", `/v1/clusters/${CLUSTER}/tasks`, { taskDefinition: "console-logs" });
      expect(task.status).toBe(201);
      taskId = task.body.tasks[0].taskId as string;
      await page.goto(`${url}/console/clusters/${CLUSTER}/tasks/${taskId}`);
      await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.getElementById("live-status")?.textContent?.includes("Live updates on"));
      await page.evaluate(() => ((globalThis as unknown as PageGlobals).notReloaded = true));
      return lastStatusShown();
    });
    expect(seenBefore).not.toContain("RUNNING");
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

  test("create a service, scale it, drain a host: an open service page watches its tasks move to the other host", async () => {
    const url = env.tc.control.httpUrl;
    const second = await startRegisteredAgent(env.tc, CLUSTER);
    // In the same browser context: it shares the session cookie.
    const watcher = await page.context().newPage();
    try {
      await page.goto(`${url}/console/clusters/${CLUSTER}/services`);
      await page.fill('#create-service input[name="serviceName"]', "console-svc");
      await page.fill('#create-service input[name="taskDefinition"]', "console-run:1");
      await page.fill('#create-service input[name="desiredCount"]', "1");
      await page.click('#create-service button[type="submit"]');
      await page.waitForURL(`${url}/console/clusters/${CLUSTER}/services/console-svc?done=created`);
      await page.fill('form[action$="/scale"] input[name="desiredCount"]', "2");
      await page.click('form[action$="/scale"] button[type="submit"]');
      await page.waitForURL(`${url}/console/clusters/${CLUSTER}/services/console-svc?done=scaled`);
      expect((await env.tc.api("GET", `/v1/clusters/${CLUSTER}/services/console-svc`)).body.service.desiredCount).toBe(2);

      // Both tasks RUNNING, seen on the open page as the agents report them.
      await openLive(`/console/clusters/${CLUSTER}/services/console-svc`, watcher);
      const runningHosts = () =>
        watcher.evaluate(() =>
          Array.from(
            (globalThis as unknown as PageGlobals).document.querySelectorAll("#service-tasks tr[data-task-id]"),
            (tr) => `${tr.getAttribute("data-host-id")} ${tr.querySelector(".status")?.textContent?.trim()}`,
          ),
        );
      await watcher.waitForFunction(
        () => Array.from((globalThis as unknown as PageGlobals).document.querySelectorAll("#service-tasks tr[data-task-id]")).filter((tr) => tr.textContent?.includes("RUNNING")).length === 2,
        undefined,
        { timeout: 30_000 },
      );
      await shot("service", watcher);
      await page.goto(`${url}/console/clusters/${CLUSTER}/services`);
      await shot("services");
      const before = await runningHosts();
      const drained = before[0]!.split(" ")[0]!;
      const other = drained === env.instanceId ? second.instanceId : env.instanceId;

      // Drain through the host page (with its confirmation) while the watcher stays open.
      await page.goto(`${url}/console/clusters/${CLUSTER}/hosts/${drained}`);
      await page.click(`form[action$="/hosts/${drained}/status"] button[type="submit"]`);
      expect(await page.textContent("h1")).toBe("Drain host?");
      await page.click('button:has-text("Yes, drain")');
      await page.waitForURL(`${url}/console/clusters/${CLUSTER}/hosts?done=DRAINING`);
      expect((await env.tc.api("GET", `/v1/clusters/${CLUSTER}/container-instances/${drained}`)).body.containerInstance.status).toBe("DRAINING");
      await watcher.waitForFunction(
        (other) => {
          const rows = Array.from((globalThis as unknown as PageGlobals).document.querySelectorAll("#service-tasks tr[data-task-id]"));
          return rows.length === 2 && rows.every((tr) => tr.getAttribute("data-host-id") === other && tr.textContent?.includes("RUNNING"));
        },
        other,
        { timeout: 45_000 },
      );
      expect(await notReloaded(watcher)).toBe(true);
      expect(await runningHosts()).toEqual([`${other} ● RUNNING`, `${other} ● RUNNING`]);
    } finally {
      await watcher.close();
      // Leave the cluster as the later tests expect: no service tasks, both hosts ACTIVE, one agent.
      await env.tc.api("PATCH", `/v1/clusters/${CLUSTER}/services/console-svc`, { desiredCount: 0 });
      await waitFor("the service's tasks to stop", async () => (await env.tc.api("GET", `/v1/clusters/${CLUSTER}/tasks?serviceName=console-svc`)).body.tasks.length === 0, { timeoutMs: 30_000 });
      for (const id of [env.instanceId, second.instanceId]) await env.tc.api("PATCH", `/v1/clusters/${CLUSTER}/container-instances/${id}`, { status: "ACTIVE" });
      await second.agent.stop();
    }
  }, 120_000);

  test("the remaining pages, photographed: overview with a service, activations, tokens, audit", async () => {
    const url = env.tc.control.httpUrl;
    for (const [name, path] of [
      ["overview-busy", `/console?cluster=${CLUSTER}`],
      ["hosts-two", `/console/clusters/${CLUSTER}/hosts`],
      ["activations", `/console/clusters/${CLUSTER}/activations`],
      ["tokens", "/console/tokens"],
      ["audit", "/console/audit"],
    ] as const) {
      const res = await page.goto(url + path);
      expect(res?.status()).toBe(200);
      await shot(name);
    }
  });

  test("an activation made on the page registers a real agent, and the new host appears on the open hosts page", async () => {
    const url = env.tc.control.httpUrl;
    await page.goto(`${url}/console/clusters/${CLUSTER}/activations`);
    await page.click('form.card button[type="submit"]');
    const line = await page.locator("#install-line").innerText();
    expect(line).toStartWith(`curl -fsSL ${url}/install-agent.sh | FLOTILLA_ACTIVATION_CODE=`);
    expect(line).toContain(` sudo --preserve-env=FLOTILLA_ACTIVATION_CODE bash -s -- --control ${url} --mqtt `);
    await shot("activation-created");
    const arg = (name: string) => new RegExp(`--${name} (\\S+)`).exec(line)![1]!;
    const code = /FLOTILLA_ACTIVATION_CODE=(\S+)/.exec(line)![1]!;
    await openLive(`/console/clusters/${CLUSTER}/hosts`);
    const hosts = await page.locator("tr[data-instance-id]").count();
    // What the install script would start, with the values the page gave, the code in the
    // environment as the line passes it (the installer itself needs root and systemd;
    // test/scripts/install-agent.test.ts covers it).
    const agent = startAgentProcess({ control: arg("mqtt"), args: ["--activation-id", arg("activation-id")], env: { FLOTILLA_ACTIVATION_CODE: code } });
    try {
      await page.locator("tr[data-instance-id]").nth(hosts).waitFor({ timeout: 30_000 });
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
