/**
 * How literal values in expressions are read. Kept apart from the evaluator so the parser can reject
 * a bad date or number when the expression is submitted rather than when a task is placed.
 */

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/** Strict decimal reading: "1e3", "0x10" and "" are not numbers here, so they compare as strings. */
export function asNumber(text: string): number | null {
  return DECIMAL.test(text) ? Number(text) : null;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * The formats ECS documents for registeredAt: 2018-06-18T22:28:28+00:00, ...Z, a timestamp without
 * zone, and a bare date. Missing zones mean UTC (not the server's local zone) so an expression means
 * the same thing on every control node. A bare date is midnight UTC.
 */
export function asDate(text: string): number | null {
  const m = DATE.exec(text);
  if (!m) return null;
  const [, y, mo, d, h = "0", mi = "0", s = "0", frac = "", zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return null;
  const ms = Number(frac.slice(0, 3).padEnd(3, "0"));
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  // Date.UTC rolls Feb 30 over to March; a rolled-over date was not a real date.
  if (new Date(utc).getUTCDate() !== day) return null;
  return utc - zoneOffsetMs(zone);
}

function zoneOffsetMs(zone: string | undefined): number {
  if (!zone || zone === "Z") return 0;
  const sign = zone[0] === "-" ? -1 : 1;
  const digits = zone.slice(1).replace(":", "");
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
}

/**
 * Dotted version comparison ("1.10.0" > "1.9.3"); non-numeric parts compare as strings. Used for
 * agentVersion, where plain string order would put 1.10 before 1.9.
 */
export function compareVersions(a: string, b: string): number {
  const pa = a.replace(/^v/, "").split(/[.\-+]/);
  const pb = b.replace(/^v/, "").split(/[.\-+]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? "0";
    const y = pb[i] ?? "0";
    const nx = asNumber(x);
    const ny = asNumber(y);
    const c = nx !== null && ny !== null ? nx - ny : x < y ? -1 : x > y ? 1 : 0;
    if (c !== 0) return c < 0 ? -1 : 1;
  }
  return 0;
}

/** Numeric when both sides read as numbers, otherwise plain string order. */
export function compareValues(a: string, aNumber: number | null, b: string, bNumber: number | null): number {
  if (aNumber !== null && bNumber !== null) return aNumber - bNumber;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * ECS's `matches` tests the whole value (as Java's String.matches does), so `t2.*` does not match
 * "xt2.micro". Returns null for a pattern that does not compile.
 */
export function asWholeMatchRegex(pattern: string): RegExp | null {
  try {
    return new RegExp(`^(?:${pattern})$`);
  } catch {
    return null;
  }
}
