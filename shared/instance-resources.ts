/**
 * ECS's container-instance resource list: registeredResources / remainingResources are arrays of
 * {name, type, integerValue | stringSetValue}, with reserved host ports listed under PORTS and
 * PORTS_UDP in remainingResources (as ECS does). Shared so the CLI reads what the control renders.
 */
export interface EcsResource {
  name: "CPU" | "MEMORY" | "PORTS" | "PORTS_UDP" | "GPU";
  type: "INTEGER" | "STRINGSET";
  integerValue?: number;
  stringSetValue?: string[];
  doubleValue: number;
  longValue: number;
}

/**
 * `gpus`: in registeredResources every GPU id the agent registered, in remainingResources those no
 * task holds; listed (as ECS does) only on an instance that registered GPUs.
 */
export function ecsResources(r: { cpu: number; memory: number; tcp: number[]; udp: number[]; gpus?: string[] }): EcsResource[] {
  const int = (name: "CPU" | "MEMORY", v: number): EcsResource => ({ name, type: "INTEGER", integerValue: v, doubleValue: 0, longValue: 0 });
  const set = (name: "PORTS" | "PORTS_UDP" | "GPU", values: (number | string)[]): EcsResource => ({ name, type: "STRINGSET", stringSetValue: values.map(String), doubleValue: 0, longValue: 0 });
  const list = [int("CPU", r.cpu), int("MEMORY", r.memory), set("PORTS", r.tcp), set("PORTS_UDP", r.udp)];
  if (r.gpus) list.push(set("GPU", r.gpus));
  return list;
}

/** The GPU ids of the GPU resource in such a list (empty when absent). */
export function resourceGpus(list: { name: string; stringSetValue?: string[] }[] | undefined): string[] {
  return list?.find((r) => r.name === "GPU")?.stringSetValue ?? [];
}

/** The integer value of CPU or MEMORY in such a list (undefined when absent). */
export function resourceInteger(list: { name: string; integerValue?: number }[] | undefined, name: "CPU" | "MEMORY"): number | undefined {
  return list?.find((r) => r.name === name)?.integerValue;
}

/** The ports of PORTS or PORTS_UDP in such a list, as numbers. */
export function resourcePorts(list: { name: string; stringSetValue?: string[] }[] | undefined, name: "PORTS" | "PORTS_UDP"): number[] {
  return (list?.find((r) => r.name === name)?.stringSetValue ?? []).map(Number);
}

/** ECS's attribute list [{name, value}] as a name → value map (a value-less attribute maps to undefined). */
export function attributeMap(list: { name: string; value?: string }[] | undefined): Record<string, string | undefined> {
  return Object.fromEntries((list ?? []).map((a) => [a.name, a.value]));
}
