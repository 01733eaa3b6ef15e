/**
 * Control-plane failover benchmark (issue 8): three `bun control/main.ts --ha` processes share one
 * libSQL file and one real Mosquitto (dynamic security) on this machine. Each round kills the
 * leader with SIGKILL and measures the time until another process holds the lease (read from the
 * database) and has started its leader duties (its leader "… elected" log line), then restarts the
 * killed process. A last round stops the leader with SIGTERM (lease released) for comparison.
 * Prints one JSON object.
 *
 *   bun scripts/bench/failover.ts [--rounds 5] [--ttl 5000]
 */
import { createClient } from "@libsql/client";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startControlProcess, type ControlProcess } from "../../test/control/leader/control-process.ts";
import { startMosquitto } from "./lib/mosquitto-process.ts";
import { benchArgs, target } from "./lib/args.ts";
import { summary } from "./lib/percentiles.ts";

const args = benchArgs();
const ROUNDS = args.num("rounds", 5);
const TTL = args.num("ttl", 5000);
const log = (line: string) => process.stderr.write(`[failover] ${line}\n`);

const dir = mkdtempSync(join(tmpdir(), "flotilla-failover-bench-"));
const dbUrl = `file:${join(dir, "flotilla.db")}`;
const mq = await startMosquitto();
const masterKey = randomBytes(32).toString("hex");
const start = (id: string) => startControlProcess({ id, db: dbUrl, broker: mq, masterKey, extraArgs: ["--lease-ttl-ms", String(TTL)] });
const db = createClient({ url: dbUrl });

async function lease(): Promise<{ holder: string; token: number } | undefined> {
  const r = await db.execute("SELECT holder, token FROM leases WHERE name = 'control-leader'");
  return r.rows[0] ? { holder: String(r.rows[0].holder), token: Number(r.rows[0].token) } : undefined;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

const procs = new Map<string, ControlProcess>();
try {
  for (const id of ["c1", "c2", "c3"]) procs.set(id, await start(id));
  const kills: { leaseMs: number; electedMs: number }[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const before = await until("a leader", async () => lease());
    const victim = procs.get(before.holder)!;
    // Kill at a random point of the renewal period, as a crash would.
    await Bun.sleep(Math.random() * (TTL / 3));
    const killedAt = Date.now();
    await victim.kill9();
    const after = await until("another process to take the lease", async () => {
      const l = await lease();
      return l && l.token > before.token ? l : undefined;
    });
    const leaseMs = Date.now() - killedAt;
    const successor = procs.get(after.holder)!;
    const electedAt = await until("the elected line", async () => successor.lineAt(new RegExp(`elected \\(token ${after.token}\\)`)));
    kills.push({ leaseMs, electedMs: electedAt - killedAt });
    log(`round ${round + 1}: ${before.holder} killed, ${after.holder} leads after ${leaseMs} ms`);
    procs.set(victim.id, await start(victim.id));
  }
  const before = (await lease())!;
  const stoppedAt = Date.now();
  await procs.get(before.holder)!.stop();
  const handover = await until("a graceful handover", async () => {
    const l = await lease();
    return l && l.token > before.token ? Date.now() - stoppedAt : undefined;
  });
  const electedMs = kills.map((k) => k.electedMs);
  console.log(
    JSON.stringify(
      {
        bench: "failover",
        setup: { controls: 3, broker: "mosquitto (dynamic security)", database: "one libSQL file", leaseTtlMs: TTL, rounds: ROUNDS },
        killLeaderToNewLeaseMs: summary(kills.map((k) => k.leaseMs)),
        killLeaderToElectedMs: summary(electedMs),
        boundMs: Math.round(TTL * 4 / 3),
        gracefulStopToNewLeaseMs: handover,
        target: target(Math.max(...electedMs), 10_000),
      },
      null,
      2,
    ),
  );
} finally {
  db.close();
  for (const p of procs.values()) await p.stop();
  await mq.stop();
  rmSync(dir, { recursive: true, force: true });
}
