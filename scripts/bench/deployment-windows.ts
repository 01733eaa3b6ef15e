/**
 * Deployment windows benchmark (issue 18): what one scheduler round pays to know which hosts are
 * inside their window — loading the cluster's windows and overrides (loadWindowGate, against a
 * real libSQL file) and evaluating every host (a DAEMON round looks at all of a cluster's hosts),
 * with --windows windows each covering a few of --sites sites by attribute, plus one whole-cluster
 * window. Prints one JSON object.
 *
 *   bun scripts/bench/deployment-windows.ts [--instances 10000] [--windows 20] [--sites 1000] [--rounds 20]
 */
import { loadWindowGate } from "../../control/services/window-gate.ts";
import { createTestOps } from "../../test/helpers/ops.ts";
import { benchArgs, target } from "./lib/args.ts";
import { summary } from "./lib/percentiles.ts";

const args = benchArgs();
const INSTANCES = args.num("instances", 10_000);
const WINDOWS = args.num("windows", 20);
const SITES = args.num("sites", 1000);
const ROUNDS = args.num("rounds", 20);
const C = "bench-windows";

const t = await createTestOps();
try {
  await t.request("POST", "/v1/clusters", { clusterName: C });
  const zones = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"];
  for (let w = 0; w < WINDOWS; w++) {
    const sites = Array.from({ length: 5 }, (_, k) => `shop-${(w * 5 + k) % SITES}`);
    const res = await t.request("POST", `/v1/clusters/${C}/deployment-windows`, {
      name: `w${w}`,
      schedule: `${w % 60} ${w % 24} * * 1-5`,
      durationMinutes: 120,
      timeZone: zones[w % zones.length],
      filter: `attribute:site in [${sites.join(", ")}]`,
    });
    if (res.status !== 201) throw new Error(JSON.stringify(res.body));
  }
  await t.request("POST", `/v1/clusters/${C}/deployment-windows`, { name: "all", schedule: "0 3 * * 0", durationMinutes: 240 });
  const hosts = Array.from({ length: INSTANCES }, (_, i) => ({ id: `i-${i}`, attributes: { site: `shop-${i % SITES}`, "ecs.os-type": "linux" }, registeredAt: 0 }));

  const loadMs: number[] = [];
  const evalMs: number[] = [];
  let open = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const now = Date.now() + r * 3600_000;
    const t0 = performance.now();
    const gate = await loadWindowGate(t.ctx, C, now);
    const t1 = performance.now();
    open = 0;
    for (const h of hosts) if (gate.stateOf(h).open) open++;
    const t2 = performance.now();
    loadMs.push(t1 - t0);
    evalMs.push(t2 - t1);
  }
  const eval_ = summary(evalMs);
  const load = summary(loadMs);
  console.log(
    JSON.stringify(
      {
        benchmark: "deployment-windows",
        instances: INSTANCES,
        windows: WINDOWS + 1,
        sites: SITES,
        rounds: ROUNDS,
        loadGateMs: load,
        evaluateAllHostsMs: eval_,
        perHostMicros: Math.round(((eval_.p50 ?? 0) * 1000) / INSTANCES * 100) / 100,
        openHostsLastRound: open,
        // A round's window work for every host of a 10,000-host cluster within the scheduler's 50 ms minimum gap.
        verdict: { roundWindowWorkP99Ms: target(Math.round(((eval_.p99 ?? 0) + (load.p99 ?? 0)) * 100) / 100, 50) },
      },
      null,
      2,
    ),
  );
} finally {
  t.close();
}
