import { existsSync, readFileSync } from "node:fs";
import type { DockerCall } from "./docker-proxy.ts";

/**
 * Where a service scale-up's (or a replacement's) time goes, from three records of the same
 * wall clock: the control's latency trace (control/latency-trace.ts: scheduler rounds and launches,
 * desired sets built and published, reports received), the Docker calls the agent made (through
 * lib/docker-proxy.ts), and the benchmark's own marks (request sent, state seen through the API).
 */
export interface ControlTrace {
  marks: Map<string, Record<string, number>>;
  events: ({ event: string; at: number } & Record<string, number | string>)[];
  stalls: { stall: number; at: number }[];
}

export function readTrace(path: string): ControlTrace {
  const trace: ControlTrace = { marks: new Map(), events: [], stalls: [] };
  if (!existsSync(path)) return trace;
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (!line) continue;
    const e = JSON.parse(line);
    if (e.stall !== undefined) trace.stalls.push(e);
    else if (e.event) trace.events.push(e);
    else if (e.task && e.stage) {
      const m = trace.marks.get(e.task) ?? {};
      m[e.stage] ??= e.at;
      trace.marks.set(e.task, m);
    }
  }
  return trace;
}

export const CREATE = "POST /containers/create";
export const START = "POST /containers/{id}/start";
const LIST = "GET /containers/json";

const round = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? null : Math.round(n));
const min = (xs: number[]) => (xs.length ? Math.min(...xs) : undefined);
const max = (xs: number[]) => (xs.length ? Math.max(...xs) : undefined);

/** Most calls of `kind` outstanding at once (sent, response not yet begun). */
export function maxInFlight(calls: DockerCall[], kind: string): number {
  const edges: [number, number][] = [];
  for (const c of calls) {
    if (c.kind !== kind) continue;
    edges.push([c.at, 1], [c.respondedAt ?? c.at, -1]);
  }
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, d] of edges) most = Math.max(most, (now += d));
  return most;
}

/** Calls of each kind, and per started container (the agent's Docker call pattern). */
export function callPattern(calls: DockerCall[], started: number) {
  const byKind: Record<string, number> = {};
  for (const c of calls) if (!c.kind.startsWith("GET /events")) byKind[c.kind] = (byKind[c.kind] ?? 0) + 1;
  const sorted = Object.fromEntries(Object.entries(byKind).sort((a, b) => b[1] - a[1]));
  const perStartedTask = Object.fromEntries(Object.entries(sorted).map(([k, n]) => [k, started ? +(n / started).toFixed(2) : null]));
  return { total: Object.values(byKind).reduce((a, b) => a + b, 0), byKind: sorted, perStartedTask };
}

function stallsWithin(trace: ControlTrace, from: number, to: number) {
  const inside = trace.stalls.filter((s) => s.at >= from && s.at <= to);
  return { count: inside.length, totalMs: round(inside.reduce((a, s) => a + s.stall, 0)), maxMs: round(max(inside.map((s) => s.stall)) ?? 0) };
}

/**
 * A scale-up from `t0` (request sent) to `seen` (steady through the API), for the tasks in
 * `newTasks`. Phases are consecutive stretches of the critical path, so they add up to the total.
 */
export function scaleUpBreakdown(trace: ControlTrace, allCalls: DockerCall[], t0: number, seen: number, newTasks: string[]) {
  const rel = (t: number | undefined) => round(t === undefined ? undefined : t - t0);
  const inWindow = <T extends { at: number }>(xs: T[]) => xs.filter((x) => x.at >= t0 && x.at <= seen);
  const events = inWindow(trace.events);
  const calls = inWindow(allCalls);
  const launches = events.filter((e) => e.event === "serviceLaunch" && Number(e.started) > 0);
  const marks = newTasks.map((id) => trace.marks.get(id) ?? {});
  const stage = (s: string) => marks.flatMap((m) => (m[s] !== undefined ? [m[s]!] : []));
  const published = stage("published");
  const running = stage("reportReceived");
  const creates = calls.filter((c) => c.kind === CREATE);
  const starts = calls.filter((c) => c.kind === START);
  const startsDone = starts.flatMap((c) => (c.respondedAt !== undefined ? [c.respondedAt] : []));
  const reports = events.filter((e) => e.event === "report");
  const rounds = events.filter((e) => e.event === "serviceRoundDone");

  const firstLaunch = min(launches.map((e) => e.at));
  const lastPublished = max(published);
  const firstCreate = min(creates.map((c) => c.at));
  const lastStart = max(startsDone);
  const lastRunning = max(running);
  return {
    tasks: newTasks.length,
    /** Consecutive stretches from the request to RUNNING seen; they sum to the total. */
    phases: {
      requestToFirstLaunch: rel(firstLaunch),
      launchToLastDesiredPublished: round(lastPublished !== undefined && firstLaunch !== undefined ? lastPublished - firstLaunch : undefined),
      // Negative when the agent began creating before the last desired set went out.
      lastPublishedToFirstCreate: round(firstCreate !== undefined && lastPublished !== undefined ? firstCreate - lastPublished : undefined),
      dockerCreateToLastStart: round(lastStart !== undefined && firstCreate !== undefined ? lastStart - firstCreate : undefined),
      lastStartToLastRunningReport: round(lastRunning !== undefined && lastStart !== undefined ? lastRunning - lastStart : undefined),
      lastRunningReportToSeen: round(lastRunning !== undefined ? seen - lastRunning : undefined),
    },
    scheduler: {
      rounds: rounds.length,
      roundMsTotal: round(rounds.reduce((a, e) => a + Number(e.ms), 0)),
      launchCalls: launches.length,
      launched: launches.reduce((a, e) => a + Number(e.started), 0),
      firstLaunchMs: rel(firstLaunch),
      lastLaunchMs: rel(max(launches.map((e) => e.at))),
    },
    desiredSets: {
      built: events.filter((e) => e.event === "desiredBuilt").length,
      firstPublishedMs: rel(min(published)),
      lastPublishedMs: rel(lastPublished),
    },
    docker: {
      firstCreateMs: rel(firstCreate),
      lastCreateMs: rel(max(creates.map((c) => c.at))),
      lastStartDoneMs: rel(lastStart),
      maxCreatesInFlight: maxInFlight(calls, CREATE),
      maxStartsInFlight: maxInFlight(calls, START),
      calls: callPattern(calls, creates.length),
    },
    reports: {
      received: reports.length,
      tasksPerReport: reports.length ? +(reports.reduce((a, e) => a + Number(e.tasks), 0) / reports.length).toFixed(1) : null,
      applyMsTotal: round(reports.reduce((a, e) => a + Number(e.applyMs), 0)),
      firstRunningMs: rel(min(running)),
      lastRunningMs: rel(lastRunning),
    },
    controlStalls: stallsWithin(trace, t0, seen),
  };
}

/** A killed container's replacement, from `docker kill` (t0) to the new task RUNNING seen (seen). */
export function replacementBreakdown(trace: ControlTrace, allCalls: DockerCall[], t0: number, seen: number, victimTask: string, newTask: string | undefined) {
  const rel = (t: number | undefined) => round(t === undefined ? undefined : t - t0);
  const calls = allCalls.filter((c) => c.at >= t0 && c.at <= seen);
  const events = trace.events.filter((e) => e.at >= t0 && e.at <= seen);
  const victim = trace.marks.get(victimTask) ?? {};
  const fresh = (newTask && trace.marks.get(newTask)) || {};
  const firstCall = (kind: string) => calls.find((c) => c.kind === kind);
  // The agent inspects the container on its `die` event; Docker answers once it has recorded the exit.
  const exitRecorded = calls.find((c) => c.kind === "GET /containers/{id}/json")?.respondedAt;
  const create = firstCall(CREATE);
  const startDone = firstCall(START)?.respondedAt;
  const inDocker = exitRecorded !== undefined && create && startDone !== undefined ? exitRecorded - t0 + (startDone - create.at) : undefined;
  return {
    /** The time not spent waiting on Docker (recording the exit; creating and starting the replacement). */
    outsideDockerMs: round(inDocker === undefined ? undefined : seen - t0 - inDocker),
    /** Each mark in ms after the kill, in the order they happen. */
    marks: {
      exitRecordedByDocker: rel(exitRecorded),
      agentRelisted: rel(firstCall(LIST)?.at),
      stoppedReportReceived: rel(victim.reportStopped),
      schedulerLaunched: rel(events.find((e) => e.event === "serviceLaunch" && Number(e.started) > 0)?.at),
      desiredPublished: rel(fresh.published),
      dockerCreate: rel(firstCall(CREATE)?.at),
      dockerStartDone: rel(firstCall(START)?.respondedAt),
      runningReportReceived: rel(fresh.reportReceived),
      seenThroughApi: rel(seen),
    },
    docker: callPattern(calls, calls.filter((c) => c.kind === CREATE).length),
    schedulerRounds: events.filter((e) => e.event === "serviceRoundDone").length,
    reports: events.filter((e) => e.event === "report").length,
  };
}
