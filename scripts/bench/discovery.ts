/**
 * Service discovery benchmark (issue 17): a control process and --agents real agent processes on
 * the real Docker engine, each with its own discovery DNS responder (127.0.0.1, a free port), and
 * a REPLICA service with one task per agent. Each repeat stops one task — its container killed
 * (`docker kill`: the agent notices and reports it) or StopTask through the API — and polls every
 * host's responder (SRV of _http._tcp.web.CLUSTER.flotilla, every 5 ms) until the task has left
 * that host's answers: the time from the stop to its removal from every host's answers, the
 * figure the issue asks for (< 2 s). Prints one JSON object.
 *
 *   bun scripts/bench/discovery.ts [--agents 3] [--repeats 5]
 */
import { queryUdp } from "../../test/helpers/dns.ts";
import { startBenchAgent, until, type BenchAgent } from "./lib/agent-process.ts";
import { benchArgs, target } from "./lib/args.ts";
import { prepareCluster, registerTaskDefinition, startControlProcess } from "./lib/control-process.ts";
import { removeWithLabel, runningWithLabel } from "./lib/docker-api.ts";
import { summary } from "./lib/percentiles.ts";

const args = benchArgs();
const AGENTS = args.num("agents", 3);
const REPEATS = args.num("repeats", 5);
const CLUSTER = "bench-discovery";
const TARGET_MS = 2000;
const log = (line: string) => process.stderr.write(`[discovery] ${line}\n`);

type Host = { agent: BenchAgent; dns: { address: string; port: number } };

const srvTasks = async (h: Host): Promise<string[]> =>
  ((await queryUdp(h.dns, `_http._tcp.web.${CLUSTER}.flotilla`, "SRV", { timeoutMs: 1000 })).answers ?? []).map((a) => (a as { data: { target: string } }).data.target.split(".")[0]!);

/** ms from t0 until `taskId` has left every host's answers; each host's own time too. */
async function removalTimes(hosts: Host[], taskId: string, t0: number): Promise<number[]> {
  return Promise.all(
    hosts.map(async (h) => {
      await until(`task ${taskId} to leave ${h.dns.port}'s answers`, async () => !(await srvTasks(h)).includes(taskId), 30_000, 5);
      return performance.now() - t0;
    }),
  );
}

async function main() {
  const control = await startControlProcess();
  const hosts: Host[] = [];
  const result: Record<string, unknown> = { agents: AGENTS, repeats: REPEATS };
  try {
    const activation = await prepareCluster(control, CLUSTER, AGENTS);
    for (let i = 0; i < AGENTS; i++) {
      const agent = startBenchAgent({ control: control.mqttUrl, activation, args: ["--dns-listen", "127.0.0.1:0", "--task-metadata-port", "0", "--introspection-port", "0"] });
      const m = await until("the agent's DNS responder", async () => /discovery DNS on 127\.0\.0\.1:(\d+)/.exec(agent.output()));
      hosts.push({ agent, dns: { address: "127.0.0.1", port: Number(m[1]) } });
    }
    await registerTaskDefinition(control, {
      family: "bench-discovery-web",
      containerDefinitions: [
        {
          name: "web",
          image: "flotilla/busybox:test",
          memory: 32,
          essential: true,
          stopTimeout: 2,
          portMappings: [{ name: "http", containerPort: 80, hostPort: 0 }],
          command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"],
        },
      ],
    });
    const svc = await control.api("POST", `/v1/clusters/${CLUSTER}/services`, {
      serviceName: "web",
      taskDefinition: "bench-discovery-web",
      desiredCount: AGENTS,
      placementConstraints: [{ type: "distinctInstance" }],
    });
    if (svc.status !== 201) throw new Error(`CreateService: ${JSON.stringify(svc.body)}`);
    const runs: Record<"kill" | "stopTask", { everyHostMs: number[]; perHostMs: number[] }> = { kill: { everyHostMs: [], perHostMs: [] }, stopTask: { everyHostMs: [], perHostMs: [] } };
    for (let i = 0; i < REPEATS * 2; i++) {
      const how = i % 2 === 0 ? "kill" : "stopTask";
      // Steady: every host answers with one task per agent.
      let last: string[][] = [];
      const serving = await until("every host to answer with every task", async () => {
        const all = (last = await Promise.all(hosts.map(srvTasks)));
        return all.every((l) => l.length === AGENTS) ? all[0]! : undefined;
      }, 60_000, 50).catch(async (e: Error) => {
        const ep = await control.api("GET", `/v1/clusters/${CLUSTER}/services/web/endpoints`);
        throw new Error(`${e.message}; answers: ${JSON.stringify(last)}; endpoints: ${JSON.stringify(ep.body)}`);
      });
      const victim = serving[i % serving.length]!;
      const [container] = await runningWithLabel(`flotilla.task-id=${victim}`);
      const t0 = performance.now();
      if (how === "kill") {
        const p = Bun.spawn(["docker", "kill", container!], { stdout: "ignore", stderr: "ignore" });
        await p.exited;
      } else {
        await control.api("POST", `/v1/clusters/${CLUSTER}/tasks/${victim}/stop`, {});
      }
      const times = await removalTimes(hosts, victim, t0);
      runs[how].perHostMs.push(...times);
      runs[how].everyHostMs.push(Math.max(...times));
      log(`${how} ${victim}: gone from every host after ${Math.round(Math.max(...times))} ms`);
    }
    result.killToRemovedEverywhereMs = summary(runs.kill.everyHostMs);
    result.killToRemovedPerHostMs = summary(runs.kill.perHostMs);
    result.stopTaskToRemovedEverywhereMs = summary(runs.stopTask.everyHostMs);
    result.stopTaskToRemovedPerHostMs = summary(runs.stopTask.perHostMs);
    result.targets = {
      killToRemovedEverywhereMs: target(Math.max(...runs.kill.everyHostMs), TARGET_MS),
      stopTaskToRemovedEverywhereMs: target(Math.max(...runs.stopTask.everyHostMs), TARGET_MS),
    };
  } catch (e) {
    result.error = (e as Error).message;
    process.exitCode = 1;
  } finally {
    for (const h of hosts) {
      h.agent.proc.kill("SIGKILL");
      await h.agent.stop();
    }
    await removeWithLabel(`flotilla.cluster=${CLUSTER}`);
    await control.stop();
  }
  console.log(JSON.stringify(result, null, 2));
}

await main();
