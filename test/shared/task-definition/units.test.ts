import { describe, expect, test } from "bun:test";
import {
  describeFargateMemory,
  fargateMemoryOptions,
  isFargateSize,
  parseCpuUnits,
  parseMemoryMiB,
  parseWholeNumber,
} from "../../../shared/task-definition/index.ts";
import { accepted, task, container } from "./helpers.ts";

describe("cpu and memory notations", () => {
  test("task cpu: numbers, numeric strings and vCPU strings become CPU units", () => {
    const cases: Array<[unknown, number | null]> = [
      [256, 256],
      ["256", 256],
      [" 1024 ", 1024],
      ["1 vCPU", 1024],
      ["1vcpu", 1024],
      ["0.5 vCPU", 512],
      [".25 vCPU", 256],
      ["0.125 vcpu", 128],
      ["2 vCPUs", 2048],
      ["16 VCPU", 16384],
      ["0.3 vCPU", null],
      ["1.5", null],
      ["1 CPU", null],
      ["-1", null],
      [1.5, null],
      [-256, null],
      [true, null],
      [null, null],
      ["", null],
    ];
    for (const [input, expected] of cases) expect([input, parseCpuUnits(input)]).toEqual([input, expected]);
  });

  test("task memory: numbers, numeric strings and GB/GiB/MB/MiB strings become MiB", () => {
    const cases: Array<[unknown, number | null]> = [
      [512, 512],
      ["512", 512],
      ["512 MiB", 512],
      ["512MiB", 512],
      ["512 MB", 512],
      ["2 GB", 2048],
      ["2GB", 2048],
      ["2 gb", 2048],
      ["2 GiB", 2048],
      ["0.5 GB", 512],
      ["1.5GB", 1536],
      ["120 GB", 122880],
      ["0.3 GB", null],
      ["2 TB", null],
      ["2 G", null],
      ["1e3", null],
      [512.5, null],
      [{}, null],
    ];
    for (const [input, expected] of cases) expect([input, parseMemoryMiB(input)]).toEqual([input, expected]);
  });

  test("container cpu/memory take whole numbers and numeric strings only", () => {
    expect(parseWholeNumber("100")).toBe(100);
    expect(parseWholeNumber(100)).toBe(100);
    expect(parseWholeNumber("1 GB")).toBeNull();
    expect(parseWholeNumber("9".repeat(30))).toBeNull();
    const td = accepted(task({}, [container({ cpu: "0", memory: " 64 ", memoryReservation: "32" })]));
    expect(td.containerDefinitions[0]).toMatchObject({ cpu: 0, memory: 64, memoryReservation: 32 });
  });

  test("unit strings at task level are normalised in the parsed output", () => {
    const td = accepted(task({ cpu: "2 vCPU", memory: "4 GB" }, [container({ memory: undefined })]));
    expect([td.cpu, td.memory]).toEqual([2048, 4096]);
  });
});

describe("Fargate table helpers", () => {
  test("options per cpu follow the ECS table", () => {
    expect(fargateMemoryOptions(256)).toEqual([512, 1024, 2048]);
    expect(fargateMemoryOptions(512)).toEqual([1024, 2048, 3072, 4096]);
    expect(fargateMemoryOptions(1024)).toHaveLength(7);
    expect(fargateMemoryOptions(2048)).toHaveLength(13);
    expect(fargateMemoryOptions(4096)?.at(-1)).toBe(30720);
    expect(fargateMemoryOptions(8192)).toEqual([16384, 20480, 24576, 28672, 32768, 36864, 40960, 45056, 49152, 53248, 57344, 61440]);
    expect(fargateMemoryOptions(16384)?.[1]).toBe(40960);
    expect(fargateMemoryOptions(16384)?.at(-1)).toBe(122880);
    expect(fargateMemoryOptions(128)).toBeUndefined();
  });

  test("isFargateSize and describeFargateMemory", () => {
    expect(isFargateSize(256, 512)).toBe(true);
    expect(isFargateSize(256, 3072)).toBe(false);
    expect(isFargateSize(300, 1024)).toBe(false);
    expect(describeFargateMemory([512, 1024, 2048])).toBe("512, 1024 or 2048");
    expect(describeFargateMemory(fargateMemoryOptions(1024)!)).toBe("2048 to 8192 in steps of 1024");
  });
});
