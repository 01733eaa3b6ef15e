import type { InstanceView, Reservation } from "./types.ts";

/**
 * Own-property lookup: attributes arrive from JSON and plain objects inherit names such as
 * "constructor", which must not count as attributes.
 */
export function attributeOf(instance: InstanceView, name: string): string | undefined {
  return Object.hasOwn(instance.attributes, name) ? instance.attributes[name] : undefined;
}

/**
 * Deep enough copy that reserving on the copy never shows through to the original. A copy that will
 * only ever book reservations without ports (or GPUs) may share the original's port (GPU) sets:
 * `copyPorts` / `copyGpus` false (the engine's scratch copies; copying every set was a tenth of the
 * engine's time outside the checkers).
 */
export function cloneInstanceView(v: InstanceView, opts: { copyAttributes?: boolean; copyPorts?: boolean; copyGpus?: boolean } = {}): InstanceView {
  return {
    id: v.id,
    arn: v.arn,
    status: v.status,
    agentConnected: v.agentConnected,
    healthStatus: v.healthStatus,
    registeredAt: v.registeredAt,
    version: v.version,
    registered: { cpu: v.registered.cpu, memory: v.registered.memory },
    remaining: { cpu: v.remaining.cpu, memory: v.remaining.memory },
    usedPorts: opts.copyPorts === false ? v.usedPorts : { tcp: new Set(v.usedPorts.tcp), udp: new Set(v.usedPorts.udp) },
    gpus: opts.copyGpus === false ? v.gpus : { ids: v.gpus.ids, used: new Set(v.gpus.used) },
    // The engine's scratch copies never change attributes, so they may share them.
    attributes: opts.copyAttributes ? { ...v.attributes } : v.attributes,
    runningTasksCount: v.runningTasksCount,
    groups: new Map(v.groups),
  };
}

/** How many of the instance's GPUs no live task holds. */
export function freeGpuCount(v: InstanceView): number {
  return v.gpus.ids.length - v.gpus.used.size;
}

/**
 * The GPUs a task needing `count` would get: the first free ones in the agent's order, so the
 * same view always gives the same ids. Fewer than `count` when the instance lacks them.
 */
export function pickGpus(v: InstanceView, count: number): string[] {
  const out: string[] = [];
  for (const id of v.gpus.ids) {
    if (out.length >= count) break;
    if (!v.gpus.used.has(id)) out.push(id);
  }
  return out;
}

/**
 * Books one task onto the view in place. A reservation that names its GPU ids takes exactly those
 * (a committed or placed task); one that only counts them takes the first free ones.
 */
export function applyReservation(v: InstanceView, r: Reservation, group: string): void {
  const gpus = r.gpuIds ?? (r.gpus ? pickGpus(v, r.gpus) : []);
  for (const id of gpus) v.gpus.used.add(id);
  v.remaining.cpu -= r.cpu;
  v.remaining.memory -= r.memory;
  for (const p of r.tcpPorts) v.usedPorts.tcp.add(p);
  for (const p of r.udpPorts) v.usedPorts.udp.add(p);
  v.groups.set(group, (v.groups.get(group) ?? 0) + 1);
  v.runningTasksCount += 1;
}

/** Inverse of applyReservation; counts never go below zero so a duplicate release cannot corrupt them. */
export function removeReservation(v: InstanceView, r: Reservation, group: string): void {
  v.remaining.cpu = Math.min(v.registered.cpu, v.remaining.cpu + r.cpu);
  v.remaining.memory = Math.min(v.registered.memory, v.remaining.memory + r.memory);
  for (const p of r.tcpPorts) v.usedPorts.tcp.delete(p);
  for (const p of r.udpPorts) v.usedPorts.udp.delete(p);
  for (const id of r.gpuIds ?? []) v.gpus.used.delete(id);
  const n = (v.groups.get(group) ?? 0) - 1;
  if (n > 0) v.groups.set(group, n);
  else v.groups.delete(group);
  v.runningTasksCount = Math.max(0, v.runningTasksCount - 1);
}
