import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sinceFlag } from "../../control/cli/command.ts";
import { runCli } from "../../control/cli/run.ts";
import { TEST_TOKEN } from "../helpers/control.ts";
import { fakeFleet } from "../control/services/fake-fleet.ts";

/**
 * The CLI as a newcomer meets it (issue 15), run in-process against the real API app with the
 * agents played through the report path (fake-fleet.ts): every request goes through the Hono app.
 */
const C = "newcomer";
let fleet: Awaited<ReturnType<typeof fakeFleet>>;
const dir = mkdtempSync(join(tmpdir(), "flotilla-cli-newcomer-"));
const requested: string[] = [];
const env = { FLOTILLA_API_URL: "http://control.test", FLOTILLA_TOKEN: TEST_TOKEN, FLOTILLA_CONFIG: join(dir, "none.json") };

async function flo(args: string[], extraEnv: Record<string, string> = {}) {
  let stdout = "";
  let stderr = "";
  const code = await runCli(args, {
    env: { ...env, ...extraEnv },
    out: (t) => void (stdout += t),
    err: (t) => void (stderr += t),
    tty: false,
    signal: new AbortController().signal,
    fetch: (async (input: string | URL | Request, init?: RequestInit) => {
      const url = String(input);
      requested.push(url);
      return fleet.t.app.request(url, init);
    }) as typeof fetch,
  });
  return { code, stdout, stderr, json: () => JSON.parse(stdout) };
}

const file = (name: string, body: unknown) => {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(body));
  return p;
};

const TWO = {
  family: "two",
  containerDefinitions: [
    { name: "web", image: "nginx", memory: 32, essential: true, portMappings: [{ containerPort: 80 }], healthCheck: { command: ["CMD-SHELL", "true"], interval: 5, timeout: 2, retries: 1 } },
    { name: "sidecar", image: "nginx", memory: 32, essential: false },
  ],
};

beforeAll(async () => {
  fleet = await fakeFleet(C, 1);
  expect((await fleet.t.request("POST", "/v1/task-definitions", TWO)).status).toBe(201);
});
afterAll(() => fleet.close());

describe("flotilla CLI, as a newcomer found it", () => {
  test("global flags may come before the resource, as with aws and kubectl", async () => {
    const r = await flo(["-o", "json", "--cluster", C, "clusters", "describe", C]);
    expect(r.code).toBe(0);
    expect(r.json().cluster.clusterName).toBe(C);
    const t = await flo(["-c", C, "-o", "json", "tasks", "list"]);
    expect(t.code).toBe(0);
    expect(t.json()).toHaveProperty("tasks");
    // -o yaml: the same objects as JSON.
    const y = await flo(["-o", "yaml", "clusters", "describe", C]);
    expect(y.code).toBe(0);
    expect((Bun.YAML.parse(y.stdout) as any).cluster.clusterName).toBe(C);
  });

  test("bad numbers get one readable line in flag terms, exit 2", async () => {
    const neg = await flo(["-c", C, "services", "update", "web", "--desired-count", "-1"]);
    expect(neg.code).toBe(2);
    expect(neg.stderr).toBe('flotilla: --desired-count must be a whole number of at least 0, got "-1" (see --help)\n');
    const abc = await flo(["-c", C, "services", "create", "web", "--task-definition", "two", "--desired-count", "abc"]);
    expect(abc.code).toBe(2);
    expect(abc.stderr).not.toContain("9007199254740991");
    expect(abc.stderr).toContain('--desired-count must be a whole number of at least 0, got "abc"');
    const missing = await flo(["tasks", "list", "--family"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe("flotilla: --family needs a value (see --help)\n");
  });

  test("did you mean: resources, commands, flags, and RunTask / CreateService body fields", async () => {
    expect((await flo(["clustrs", "list"])).stderr).toContain('unknown resource "clustrs"; did you mean "clusters"?');
    expect((await flo(["tasks", "lsit"])).stderr).toContain('unknown command "tasks lsit"; did you mean "tasks list"?');
    const flag = await flo(["clusters", "list", "--outptu", "json"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("unknown option --outptu; did you mean --output?");
    const run = await flo(["-c", C, "tasks", "run", "two", "-f", file("run.json", { placementConstraint: [] })]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("placementConstraint is not a known field; did you mean placementConstraints?");
    const svc = await flo(["-c", C, "services", "create", "typo", "--task-definition", "two", "-f", file("svc.json", { desiredCont: 1 })]);
    expect(svc.code).toBe(1);
    expect(svc.stderr).toContain("desiredCont is not a known field; did you mean desiredCount?");
  });

  test("services delete of a scaled service names --force, not the API's query syntax", async () => {
    expect((await flo(["-c", C, "services", "create", "scaled", "--task-definition", "two", "--desired-count", "1"])).code).toBe(0);
    const r = await flo(["-c", C, "services", "delete", "scaled"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--force");
    expect(r.stderr).not.toContain("?force=true");
    expect((await flo(["-c", C, "services", "delete", "scaled", "--force"])).code).toBe(0);
  });

  test("wait-stable on a deleted service says it is deleted", async () => {
    await flo(["-c", C, "services", "create", "gone", "--task-definition", "two", "--desired-count", "0"]);
    expect((await flo(["-c", C, "services", "delete", "gone"])).code).toBe(0);
    await fleet.round();
    const r = await flo(["-c", C, "services", "wait-stable", "gone", "--interval", "50", "--timeout", "5"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^flotilla: service gone (has been|is being) deleted \(status (INACTIVE|DRAINING)\)\n$/);
    expect(r.stderr).not.toContain("running 0/0");
  });

  test("services list -o json gives the service objects the table counts from", async () => {
    await flo(["-c", C, "services", "create", "listed", "--task-definition", "two", "--desired-count", "0"]);
    const r = await flo(["-c", C, "-o", "json", "services", "list"]);
    const listed = r.json().services.find((s: any) => s.serviceName === "listed");
    expect(listed).toMatchObject({ desiredCount: 0, runningCount: 0, pendingCount: 0, status: "ACTIVE" });
  });

  test("tasks run --wait reports progress and returns RUNNING tasks; tables show service, ports and health", async () => {
    const waiting = flo(["-c", C, "-o", "json", "tasks", "run", "two", "--wait", "--timeout", "30"]);
    let done = false;
    void waiting.then(() => (done = true));
    const bindings = (_t: unknown, container: string) => (container === "web" ? [{ bindIP: "0.0.0.0", containerPort: 80, hostPort: 8080, protocol: "tcp" as const }] : undefined);
    while (!done) {
      await fleet.settle(() => false, { bindings });
      await Bun.sleep(20);
    }
    const r = await waiting;
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^[0-9a-f]{8} (PENDING|RUNNING)/m);
    const task = r.json().tasks[0];
    expect(task.lastStatus).toBe("RUNNING");

    const desc = await flo(["-c", C, "tasks", "describe", task.taskId]);
    expect(desc.stdout).toMatch(/^CONTAINER\s+IMAGE\s+LAST\s+EXIT\s+HEALTH\s+PORTS\s+REASON$/m);
    expect(desc.stdout).toMatch(/^web\s+nginx\s+RUNNING\s+-\s+HEALTHY\s+8080->80\/tcp/m);

    // A service's task shows its service in tasks list.
    await flo(["-c", C, "services", "create", "svc", "--task-definition", "two", "--desired-count", "1"]);
    await fleet.round();
    await fleet.settle();
    const list = await flo(["-c", C, "tasks", "list"]);
    expect(list.stdout.split("\n")[0]).toMatch(/^TASK ID\s+DEFINITION\s+SERVICE\s+LAST/);
    expect(list.stdout).toMatch(/two:1\s+svc\s+RUNNING/);

    // Stopped: the containers' last HEALTHY verdict is not shown as their health.
    expect((await flo(["-c", C, "tasks", "stop", task.taskId])).code).toBe(0);
    await fleet.settle();
    const stopped = await flo(["-c", C, "tasks", "describe", task.taskId]);
    expect(stopped.stdout).toMatch(/^web\s+nginx\s+STOPPED/m);
    expect(stopped.stdout).not.toContain("HEALTHY");
  });

  test("instances describe shows the instance's health", async () => {
    const r = await flo(["-c", C, "instances", "describe", fleet.instances[0]!]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Health:\s+INSUFFICIENT_DATA$/m);
  });

  test("tasks logs without --container on a two-container task names the containers", async () => {
    const run = await flo(["-c", C, "-o", "json", "tasks", "run", "two"]);
    const id = run.json().tasks[0].taskId;
    await fleet.settle();
    const r = await flo(["-c", C, "tasks", "logs", id]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("one of: web, sidecar");
  });

  test("tasks stop takes several ids; an unknown one is named and the others still stop", async () => {
    const run = await flo(["-c", C, "-o", "json", "tasks", "run", "two", "--count", "2"]);
    const [a, b] = run.json().tasks.map((t: any) => t.taskId);
    const r = await flo(["-c", C, "tasks", "stop", a, "no-such-task", b]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`task ${a} desired STOPPED`);
    expect(r.stdout).toContain(`task ${b} desired STOPPED`);
    expect(r.stdout).toMatch(/task no-such-task: .*no-such-task/);
  });

  test("--since takes an age (10m) and sends Unix seconds", () => {
    const now = 1_700_000_000_000;
    expect(sinceFlag("since", "10m", now)).toBe(String(1_700_000_000 - 600));
    expect(sinceFlag("since", "2h", now)).toBe(String(1_700_000_000 - 7200));
    expect(sinceFlag("since", "2026-01-01T00:00:00Z", now)).toBe("2026-01-01T00:00:00Z");
    expect(() => sinceFlag("since", "ten minutes", now)).toThrow(/--since must be an age like 10m/);
  });

  test("commands for every API resource: activations list/revoke, endpoints, secrets, policy, tokens, audit", async () => {
    const act = await flo(["-c", C, "-o", "json", "activations", "create"]);
    const actId = act.json().activationId;
    expect((await flo(["-c", C, "activations", "list"])).stdout).toMatch(new RegExp(`${actId}\\s+ACTIVE\\s+0/1`));
    expect((await flo(["-c", C, "activations", "revoke", actId])).stdout).toContain(`activation ${actId} REVOKED`);
    expect((await flo(["-c", C, "-o", "json", "services", "endpoints", "svc"])).json()).toHaveProperty("endpoints");
    const pol = await flo(["-c", C, "policy", "put", "-f", file("policy.json", { allowedHostPaths: ["/srv"] })]);
    expect(pol.code).toBe(0);
    expect((await flo(["-c", C, "-o", "json", "policy", "get"])).json().policy.allowedHostPaths).toEqual(["/srv"]);
    const limits = await flo(["-c", C, "pull-limits", "put", "-f", file("limits.json", { default: { maxConcurrentPulls: 2 }, rules: [{ filter: "attribute:site == shop-12", maxPullBytesPerSecond: 1000000 }] })]);
    expect(limits.code).toBe(0);
    expect(limits.stdout).toMatch(/attribute:site == shop-12\s+-\s+1000000/);
    expect(limits.stdout).toMatch(/\(default\)\s+2\s+-/);
    expect((await flo(["-c", C, "-o", "json", "pull-limits", "get"])).json().pullLimits.default).toEqual({ maxConcurrentPulls: 2 });
    const badLimits = await flo(["-c", C, "pull-limits", "put", "-f", file("bad-limits.json", { rules: [{ filter: "attribute:site ==" }] })]);
    expect(badLimits.code).not.toBe(0);
    expect(badLimits.stderr).toContain("rules[0].filter");
    const tok = await flo(["-o", "json", "tokens", "create", "ci", "--role", "read-only"]);
    expect(tok.json().token).toMatch(/^flt_/);
    expect((await flo(["tokens", "list"])).stdout).toMatch(/ci\s+read-only/);
    expect((await flo(["tokens", "revoke", tok.json().tokenId])).stdout).toContain("revoked");
    expect((await flo(["tokens", "create", "x", "--role", "boss"])).stderr).toContain("--role must be one of admin, operator, read-only");
    const audit = await flo(["-o", "json", "audit", "list", "--limit", "5"]);
    expect(audit.code).toBe(0);
    expect(audit.json().entries.length).toBeGreaterThan(0);
    // Secrets need a secret store, which this in-process API has not: the command reaches the route.
    const secret = await flo(["secrets", "put", "db/pw", "--value-env", "NOPE_UNSET"]);
    expect(secret.code).toBe(2);
    expect(secret.stderr).toContain("environment variable NOPE_UNSET is not set");
  });

  test("contexts: set-context, use-context, --profile and FLOTILLA_PROFILE pick the control service", async () => {
    const cfg = join(dir, "contexts.json");
    // Empty variables count as unset.
    const noEnv = { FLOTILLA_CONFIG: cfg, FLOTILLA_API_URL: "", FLOTILLA_TOKEN: "" };
    const withCfg = (args: string[], e: Record<string, string> = {}) => flo(args, { ...noEnv, ...e });
    {
      expect((await withCfg(["config", "set-context", "shop", "--api", "http://shop.test", "--token", TEST_TOKEN, "-c", C])).code).toBe(0);
      expect((await withCfg(["config", "set-context", "plant", "--api", "http://plant.test", "--token", TEST_TOKEN, "-c", C])).code).toBe(0);
      expect((readFileSync(cfg).length > 0)).toBe(true);
      expect((await withCfg(["config", "use-context", "shop"])).stdout).toContain("switched to context shop");
      const list = await withCfg(["config", "get-contexts"]);
      expect(list.stdout).toMatch(/^\*\s+shop\s+http:\/\/shop\.test/m);
      requested.length = 0;
      await withCfg(["tasks", "list"]);
      expect(requested[0]).toStartWith(`http://shop.test/v1/clusters/${C}/tasks`);
      requested.length = 0;
      await withCfg(["--profile", "plant", "tasks", "list"]);
      expect(requested[0]).toStartWith("http://plant.test/");
      requested.length = 0;
      await withCfg(["tasks", "list"], { FLOTILLA_PROFILE: "plant" });
      expect(requested[0]).toStartWith("http://plant.test/");
      const none = await withCfg(["--profile", "moon", "tasks", "list"]);
      expect(none.code).toBe(2);
      expect(none.stderr).toContain('no context "moon"');
      expect(none.stderr).toContain("one of: shop, plant");
    }
  });

  test("--version and shell completion from the command specs", async () => {
    const v = await flo(["--version"]);
    expect(v.stdout).toMatch(/^flotilla \d+\.\d+\.\d+\n$/);
    const script = (await flo(["completion", "bash"])).stdout;
    const complete = async (words: string[]) => {
      const proc = Bun.spawn(["bash", "-c", `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _flotilla; echo "\${COMPREPLY[*]}"`], { stdout: "pipe" });
      return (await new Response(proc.stdout).text()).trim().split(" ");
    };
    expect(await complete(["flotilla", "ta"])).toEqual(["task-definitions", "tasks"]);
    expect(await complete(["flotilla", "-o", "json", "tasks", "s"])).toEqual(["stop"]);
    expect(await complete(["flotilla", "tasks", "run", "--wa"])).toEqual(["--wait"]);
    expect((await flo(["completion", "zsh"])).stdout).toContain("bashcompinit");
  });
});
