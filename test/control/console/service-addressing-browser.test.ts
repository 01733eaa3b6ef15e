import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";
import { startTestControl, TEST_TOKEN, type TestControl } from "../../helpers/control.ts";

/**
 * The service's ingress and DNS names in a real browser (Debian's chromium, playwright-core)
 * against a real control service over HTTP: create a service with ingress ports and an alias from
 * the create form, see its DNS names and ports on its page, change them with the page's form.
 * No agent is needed: what is shown is the service's own configuration. The browser missing is a
 * failure, not a skip.
 */
const CHROMIUM = "/usr/bin/chromium";
const C = "browser-doors";
let tc: TestControl;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: scripts/lib/ensure-test-tools.sh installs Debian's chromium`);
  tc = await startTestControl();
  await tc.api("POST", "/v1/clusters", { clusterName: C });
  expect((await tc.api("POST", "/v1/task-definitions", { family: "web", containerDefinitions: [{ name: "web", image: "busybox", memory: 16, portMappings: [{ containerPort: 80, name: "http" }] }] })).status).toBe(201);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"] });
  page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await tc?.stop();
});

const texts = (sel: string) => page.locator(sel).allInnerTexts().then((l) => l.map((s) => s.trim()));

test("create a service with ingress and an alias on the form; its page shows the DNS names and ports; the page's form changes them", async () => {
  const url = tc.control.httpUrl;
  await page.goto(`${url}/console/login`);
  await page.fill('input[name="token"]', TEST_TOKEN);
  await page.click('button[type="submit"]');
  await page.waitForURL(`${url}/console`);

  await page.goto(`${url}/console/clusters/${C}/services`);
  await page.fill('#create-service input[name="serviceName"]', "shop");
  await page.fill('#create-service input[name="taskDefinition"]', "web:1");
  await page.fill('#create-service input[name="desiredCount"]', "0");
  await page.fill('#create-service input[name="ingress"]', "8080:80");
  await page.fill('#create-service input[name="aliases"]', "www");
  await page.click('#create-service button[type="submit"]');
  await page.waitForURL(`${url}/console/clusters/${C}/services/shop?done=created`);
  expect(await texts("[data-dns-name]")).toEqual([`shop.${C}.flotilla`]);
  expect(await texts("[data-dns-alias]")).toEqual([`www.${C}.flotilla`]);
  expect(await texts("[data-srv-name]")).toEqual([`_http._tcp.shop.${C}.flotilla`]);
  expect(await texts("#ingress tr[data-ingress-port] td")).toEqual(["8080", "80", "tcp"]);

  await page.fill('#addressing-form input[name="ingress"]', "8080:80, 9090:80");
  await page.fill('#addressing-form input[name="discoveryName"]', "store");
  await page.click('#addressing-form button[type="submit"]');
  await page.waitForURL(`${url}/console/clusters/${C}/services/shop?done=addressed`);
  expect(await texts("[data-dns-name]")).toEqual([`store.${C}.flotilla`]);
  expect(await page.locator("#ingress tr[data-ingress-port]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-ingress-port")))).toEqual(["8080", "9090"]);

  // A refusal shows the field and keeps the page; nothing changes.
  await page.fill('#addressing-form input[name="ingress"]', "80:80");
  await page.click('#addressing-form button[type="submit"]');
  await page.waitForLoadState();
  expect(await page.content()).toContain("ingress[0].listenPort");
  expect((await tc.api("GET", `/v1/clusters/${C}/services/shop`)).body.service.ingress.map((r: any) => r.listenPort)).toEqual([8080, 9090]);
}, 60_000);
