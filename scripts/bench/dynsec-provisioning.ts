/**
 * What one agent registration costs Mosquitto's dynamic-security plugin as the fleet grows
 * (issue 8, fleet benchmark with `--broker mosquitto`). For each fleet size N, Debian's Mosquitto
 * starts on a dynamic-security config already holding N instances (client + role, shaped exactly
 * as control/broker/external.ts creates them), then K more instances are provisioned through the
 * control's own code (ExternalBroker.instanceRegistered) and timed, with the broker's CPU. Prints
 * JSON, and the time a whole fleet of the largest size would need at that rate curve.
 *
 *   bun scripts/bench/dynsec-provisioning.ts [--sizes 0,2500,5000,10000] [--per-size 20] [--concurrency 8]
 */
import { readFileSync } from "node:fs";
import { clusterRole, ExternalBroker, instanceRole } from "../../control/broker/external.ts";
import { benchArgs } from "./lib/args.ts";
import { startMosquitto } from "./lib/mosquitto-process.ts";
import { summary } from "./lib/percentiles.ts";
import { MiB, round, sampleProcess } from "./lib/proc-stats.ts";

const args = benchArgs();
const SIZES = args.str("sizes", "0,2500,5000,10000").split(",").map(Number);
const PER_SIZE = args.num("per-size", 20);
const CONCURRENCY = args.num("concurrency", 8);

const idOf = (prefix: string, k: number) => `${prefix}${k.toString(16).padStart(32 - prefix.length, "0")}`;

interface Entry {
  username?: string;
  clientid?: string;
  rolename?: string;
  roles?: { rolename: string }[];
  acls?: { topic: string }[];
}

/** One instance's client and role as the plugin stores them, from a broker that made them. */
async function template(): Promise<{ client: Entry; role: Entry; clusterRole: Entry; id: string }> {
  const mq = await startMosquitto();
  try {
    const broker = await ExternalBroker.start({ url: mq.url, adminUser: mq.adminUser, adminPassword: mq.adminPassword });
    const id = idOf("t", 0);
    await broker.instanceRegistered(id, crypto.randomUUID(), "bench");
    await broker.close();
    const config = JSON.parse(readFileSync(mq.dynsecFile, "utf8")) as { clients: Entry[]; roles: Entry[] };
    return {
      client: config.clients.find((c) => c.username === id)!,
      role: config.roles.find((r) => r.rolename === instanceRole(id))!,
      clusterRole: config.roles.find((r) => r.rolename === clusterRole("bench"))!,
      id,
    };
  } finally {
    await mq.stop();
  }
}

async function measure(size: number, tpl: Awaited<ReturnType<typeof template>>) {
  const mq = await startMosquitto({
    prepareDynsec: (config) => {
      // The instances' shared cluster role (discovery records), held by every client beside its own.
      config.roles.push(tpl.clusterRole);
      for (let k = 0; k < size; k++) {
        const id = idOf("f", k);
        config.clients.push({ ...tpl.client, username: id, clientid: id, roles: [{ rolename: instanceRole(id) }, { rolename: clusterRole("bench") }] });
        config.roles.push({ ...tpl.role, rolename: instanceRole(id), acls: tpl.role.acls!.map((a) => ({ ...a, topic: a.topic.replace(tpl.id, id) })) });
      }
    },
  });
  try {
    const broker = await ExternalBroker.start({ url: mq.url, adminUser: mq.adminUser, adminPassword: mq.adminPassword });
    const fileMiB = round(mq.dynsecBytes() / MiB, 2);
    const before = sampleProcess(mq.pid);
    const t0 = performance.now();
    const each: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < PER_SIZE) {
          const id = idOf("n", next++);
          const s = performance.now();
          await broker.instanceRegistered(id, crypto.randomUUID(), "bench");
          each.push(performance.now() - s);
        }
      }),
    );
    const wall = performance.now() - t0;
    const after = sampleProcess(mq.pid);
    await broker.close();
    return {
      fleetSize: size,
      dynsecFileMiB: fileMiB,
      registrationsPerSecond: round(PER_SIZE / (wall / 1000)),
      brokerCpuMsPerRegistration: round(((after.cpuSeconds - before.cpuSeconds) * 1000) / PER_SIZE),
      latencyMs: summary(each),
    };
  } finally {
    await mq.stop();
  }
}

const tpl = await template();
const results = [];
for (const size of SIZES) {
  results.push(await measure(size, tpl));
  process.stderr.write(`[dynsec] ${JSON.stringify(results.at(-1))}\n`);
}
// Broker CPU per registration grows linearly with the fleet: integrate the fitted line to the largest size.
const pts = results.filter((r) => r.brokerCpuMsPerRegistration > 0);
const n = pts.length;
const mx = pts.reduce((s, r) => s + r.fleetSize, 0) / n;
const my = pts.reduce((s, r) => s + r.brokerCpuMsPerRegistration, 0) / n;
const slope = pts.reduce((s, r) => s + (r.fleetSize - mx) * (r.brokerCpuMsPerRegistration - my), 0) / Math.max(1, pts.reduce((s, r) => s + (r.fleetSize - mx) ** 2, 0));
const intercept = my - slope * mx;
const largest = Math.max(...SIZES);
const totalSeconds = (intercept * largest + (slope * largest * largest) / 2) / 1000;
console.log(
  JSON.stringify(
    {
      benchmark: "dynsec-provisioning",
      config: { sizes: SIZES, perSize: PER_SIZE, concurrency: CONCURRENCY, mosquitto: "Debian 2.0.11, dynamic-security plugin" },
      results,
      fit: { brokerCpuMsPerRegistration: `${round(intercept, 2)} + ${round(slope * 1000, 3)} per 1000 instances` },
      projectedBrokerCpuSecondsToRegister: { fleet: largest, seconds: round(totalSeconds) },
    },
    null,
    2,
  ),
);
