import { describe, expect, test } from "bun:test";
import { compileSchedule, scheduleStateAt, type WindowSchedule } from "../../../control/services/window-schedule.ts";
import { compileWindowFilter, windowState, type CompiledWindow, type WindowInstance } from "../../../control/services/window-state.ts";

const at = (iso: string) => Date.parse(iso);

function schedule(cron: string, timeZone: string, minutes: number): WindowSchedule {
  const c = compileSchedule(cron, timeZone, minutes);
  if (!c.ok) throw new Error(c.message);
  return c.schedule;
}

function win(cron: string, timeZone: string, minutes: number, filter: string | null = null): CompiledWindow {
  const f = filter === null ? { ok: true as const, matches: () => true } : compileWindowFilter(filter);
  if (!f.ok) throw new Error(f.message);
  return { id: cron, name: cron, schedule: schedule(cron, timeZone, minutes), filter, matches: f.matches };
}

const host = (site?: string): WindowInstance => ({ id: `i-${site ?? "none"}`, attributes: site ? { site } : {}, registeredAt: 0 });

describe("scheduleStateAt: one window's openings", () => {
  const berlin = schedule("0 2 * * *", "Europe/Berlin", 120);

  test("02:00-04:00 Berlin time is 01:00-03:00 UTC in winter", () => {
    expect(scheduleStateAt(berlin, at("2026-01-15T00:59:59Z"))).toEqual({ open: false, opensAt: at("2026-01-15T01:00:00Z") });
    expect(scheduleStateAt(berlin, at("2026-01-15T01:00:00Z"))).toEqual({ open: true, closesAt: at("2026-01-15T03:00:00Z") });
    expect(scheduleStateAt(berlin, at("2026-01-15T02:59:59Z"))).toEqual({ open: true, closesAt: at("2026-01-15T03:00:00Z") });
    // Closed exactly at opening + duration; the next opening is tomorrow's.
    expect(scheduleStateAt(berlin, at("2026-01-15T03:00:00Z"))).toEqual({ open: false, opensAt: at("2026-01-16T01:00:00Z") });
  });

  test("and 00:00-02:00 UTC in summer (the zone's offset, not a fixed one)", () => {
    expect(scheduleStateAt(berlin, at("2026-07-15T00:30:00Z"))).toEqual({ open: true, closesAt: at("2026-07-15T02:00:00Z") });
    expect(scheduleStateAt(berlin, at("2026-07-15T02:30:00Z"))).toEqual({ open: false, opensAt: at("2026-07-16T00:00:00Z") });
  });

  test("spring forward: an opening in the skipped hour starts right after the gap (03:00 CEST)", () => {
    // 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:00 does not exist that night.
    expect(scheduleStateAt(berlin, at("2026-03-28T23:00:00Z"))).toEqual({ open: false, opensAt: at("2026-03-29T01:00:00Z") });
    expect(scheduleStateAt(berlin, at("2026-03-29T01:30:00Z"))).toEqual({ open: true, closesAt: at("2026-03-29T03:00:00Z") });
  });

  test("fall back: an opening in the repeated hour happens once, at its first occurrence", () => {
    const s = schedule("30 2 * * *", "Europe/Berlin", 30);
    // 2026-10-25: 02:30 CEST (00:30Z) and 02:30 CET (01:30Z) both exist; only the first opens.
    expect(scheduleStateAt(s, at("2026-10-25T00:45:00Z"))).toEqual({ open: true, closesAt: at("2026-10-25T01:00:00Z") });
    expect(scheduleStateAt(s, at("2026-10-25T01:45:00Z"))).toEqual({ open: false, opensAt: at("2026-10-26T01:30:00Z") });
  });

  test("the same cron in another zone opens at another instant", () => {
    const ny = schedule("0 2 * * *", "America/New_York", 60);
    const tokyo = schedule("0 2 * * *", "Asia/Tokyo", 60);
    expect(scheduleStateAt(ny, at("2026-01-10T00:00:00Z"))).toEqual({ open: false, opensAt: at("2026-01-10T07:00:00Z") });
    expect(scheduleStateAt(tokyo, at("2026-01-10T00:00:00Z"))).toEqual({ open: false, opensAt: at("2026-01-10T17:00:00Z") });
  });

  test("a window across midnight, weekdays only, with a seconds field", () => {
    const night = schedule("0 23 * * 1-5", "UTC", 180);
    // Friday 23:00 opens until Saturday 02:00; Saturday 23:00 does not open.
    expect(scheduleStateAt(night, at("2026-01-10T01:00:00Z"))).toEqual({ open: true, closesAt: at("2026-01-10T02:00:00Z") });
    expect(scheduleStateAt(night, at("2026-01-10T23:30:00Z"))).toEqual({ open: false, opensAt: at("2026-01-12T23:00:00Z") });
    const precise = schedule("30 0 9 * * *", "UTC", 1);
    expect(scheduleStateAt(precise, at("2026-01-10T09:00:10Z"))).toEqual({ open: false, opensAt: at("2026-01-10T09:00:30Z") });
  });

  test("openings that overlap keep the window open until the last one closes", () => {
    const s = schedule("0 0,1 * * *", "UTC", 90);
    expect(scheduleStateAt(s, at("2026-01-10T01:15:00Z"))).toEqual({ open: true, closesAt: at("2026-01-10T02:30:00Z") });
  });

  test("a bad cron and an unknown zone are refused, naming the input", () => {
    expect(compileSchedule("61 * * * *", "UTC", 10)).toMatchObject({ ok: false, field: "schedule" });
    expect(compileSchedule("0 2 * *", "UTC", 10)).toMatchObject({ ok: false, field: "schedule" });
    expect(compileSchedule("0 2 * * *", "Mars/Olympus_Mons", 10)).toMatchObject({ ok: false, field: "timeZone" });
  });
});

describe("windowState: a host under all of its windows", () => {
  const shop = win("0 2 * * *", "Europe/Berlin", 120, "attribute:site == shop-12");
  const now = at("2026-01-15T12:00:00Z");

  test("a host no window covers is always open", () => {
    expect(windowState([shop], host("shop-7"), now)).toEqual({ open: true, covered: false });
    expect(windowState([], host("shop-12"), now)).toEqual({ open: true, covered: false });
  });

  test("a covered host is closed until the window opens, then open until it closes", () => {
    expect(windowState([shop], host("shop-12"), now)).toEqual({ open: false, covered: true, opensAt: at("2026-01-16T01:00:00Z") });
    expect(windowState([shop], host("shop-12"), at("2026-01-16T01:30:00Z"))).toEqual({ open: true, covered: true, closesAt: at("2026-01-16T03:00:00Z") });
  });

  test("with two windows: open if either is, else until the earlier opening", () => {
    const noon = win("0 13 * * *", "UTC", 30);
    expect(windowState([shop, noon], host("shop-12"), now)).toEqual({ open: false, covered: true, opensAt: at("2026-01-15T13:00:00Z") });
    expect(windowState([shop, noon], host("shop-12"), at("2026-01-15T13:10:00Z"))).toEqual({ open: true, covered: true, closesAt: at("2026-01-15T13:30:00Z") });
  });

  test("an override opens a matching closed host until it ends", () => {
    const f = compileWindowFilter("attribute:site == shop-12");
    if (!f.ok) throw new Error(f.message);
    const override = { filter: "attribute:site == shop-12", matches: f.matches, until: now + 600_000 };
    expect(windowState([shop], host("shop-7"), now, [override])).toEqual({ open: true, covered: false });
    expect(windowState([shop], host("shop-12"), now, [override])).toEqual({ open: true, covered: true, closesAt: now + 600_000, overriddenUntil: now + 600_000 });
    expect(windowState([shop], host("shop-12"), now + 600_000, [override])).toMatchObject({ open: false });
  });

  test("filters use the cluster query language, and only what an instance is", () => {
    const f = compileWindowFilter("attribute:site in [shop-12, shop-13] and not(attribute:role == edge-gw)");
    expect(f.ok).toBe(true);
    if (f.ok) {
      expect(f.matches(host("shop-13"))).toBe(true);
      expect(f.matches({ ...host("shop-13"), attributes: { site: "shop-13", role: "edge-gw" } })).toBe(false);
    }
    expect(compileWindowFilter("attribute:site ==")).toMatchObject({ ok: false });
    const counts = compileWindowFilter("runningTasksCount > 2 or task:group == service:web");
    expect(counts.ok).toBe(false);
    if (!counts.ok) expect(counts.message).toContain("not runningTasksCount, task:group");
  });
});
