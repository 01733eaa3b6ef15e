/**
 * ECS's cpu and memory notations. Task-level cpu is CPU units (1024 = one vCPU) written as a number,
 * a numeric string, or a vCPU string ("1 vCPU", "0.5 vcpu"); task-level memory is MiB written as a
 * number, a numeric string, or a unit string ("2 GB", "2GB", "512 MiB"; GB and GiB both mean 1024 MiB).
 * Container-level cpu/memory/memoryReservation take plain numbers or numeric strings only.
 */

const PLAIN_INTEGER = /^\d+$/;
const CPU_WITH_UNIT = /^(\d+(?:\.\d+)?|\.\d+)\s*(vcpus?)$/i;
const MEMORY_WITH_UNIT = /^(\d+(?:\.\d+)?|\.\d+)\s*(gib|gb|mib|mb)$/i;

/** A whole number from a number or a numeric string (surrounding spaces allowed); null otherwise. */
export function parseWholeNumber(value: unknown): number | null {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? value : null;
  if (typeof value !== "string") return null;
  const s = value.trim();
  if (!PLAIN_INTEGER.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

/** Task-level cpu in CPU units: 256, "256", "1 vCPU" (1024), "0.25 vcpu" (256). Null if not a whole number of units. */
export function parseCpuUnits(value: unknown): number | null {
  const plain = parseWholeNumber(value);
  if (plain !== null || typeof value !== "string") return plain;
  const m = CPU_WITH_UNIT.exec(value.trim());
  if (!m) return null;
  return wholeOrNull(Number(m[1]) * 1024);
}

/** Task-level memory in MiB: 512, "512", "512 MiB", "2 GB" / "2GB" / "2 GiB" (2048). Null if not a whole number of MiB. */
export function parseMemoryMiB(value: unknown): number | null {
  const plain = parseWholeNumber(value);
  if (plain !== null || typeof value !== "string") return plain;
  const m = MEMORY_WITH_UNIT.exec(value.trim());
  if (!m) return null;
  const factor = (m[2] ?? "").toLowerCase().startsWith("g") ? 1024 : 1;
  return wholeOrNull(Number(m[1]) * factor);
}

function wholeOrNull(n: number): number | null {
  // Tolerate binary floating point noise (0.1 * 1024 etc. are exact, but be safe).
  const rounded = Math.round(n);
  return Math.abs(n - rounded) < 1e-9 && Number.isSafeInteger(rounded) ? rounded : null;
}
