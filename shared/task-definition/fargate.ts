import { FARGATE_MEMORY_BY_CPU } from "./constants.ts";

/** Valid Fargate task memory values (MiB) for a task cpu, or undefined when the cpu is not a Fargate size. */
export function fargateMemoryOptions(cpu: number): readonly number[] | undefined {
  return FARGATE_MEMORY_BY_CPU.get(cpu);
}

/** True when task cpu/memory are a combination Fargate offers. */
export function isFargateSize(cpu: number, memory: number): boolean {
  return fargateMemoryOptions(cpu)?.includes(memory) ?? false;
}

/** "512, 1024 or 2048" for short lists, "2048 to 8192 in steps of 1024" for long ones. */
export function describeFargateMemory(options: readonly number[]): string {
  if (options.length <= 4) return `${options.slice(0, -1).join(", ")} or ${options[options.length - 1]}`;
  const step = (options[1] ?? 0) - (options[0] ?? 0);
  return `${options[0]} to ${options[options.length - 1]} in steps of ${step}`;
}
