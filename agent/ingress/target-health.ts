import type { IngressHealthCheck, IngressTarget } from "../../shared/ingress.ts";

/** One target's checking: consecutive results in the current direction and the timer. */
interface Checked {
  healthy: boolean;
  /** Consecutive results against the current state (toward the threshold that flips it). */
  streak: number;
  timer?: ReturnType<typeof setTimeout>;
  running: boolean;
}

const keyOf = (t: IngressTarget) => `${t.host}:${t.port}`;

/**
 * Whether an HTTP status is what the matcher accepts: ELB's `Matcher.HttpCode`, "200",
 * "200,202" or "200-299".
 */
export function matchesHttpCode(matcher: string, status: number): boolean {
  return matcher.split(",").some((part) => {
    const [lo, hi] = part.trim().split("-").map(Number);
    return hi === undefined ? status === lo : status >= lo! && status <= hi;
  });
}

/**
 * HTTP health of one ingress's targets, checked by this host's proxy (ELB target group health
 * checks: GET `path` every `intervalSeconds`, `timeoutSeconds` each, `healthyThresholdCount`
 * consecutive successes make a target healthy again, `unhealthyThresholdCount` consecutive
 * failures unhealthy). A target starts healthy: it is in the set because the control counts it
 * serving (RUNNING, HEALTHY with container checks), and a restarted agent with the control gone
 * must not refuse every connection until its checks have run. Checks run from each host, so
 * what each proxy skips is what it itself cannot reach.
 */
export class TargetHealth {
  private checked = new Map<string, Checked>();
  private stopped = false;

  constructor(private check: IngressHealthCheck) {}

  /** Follows a new set of targets (keeps the state of those still there) and a changed check. */
  update(targets: IngressTarget[], check: IngressHealthCheck): void {
    const changed = JSON.stringify(check) !== JSON.stringify(this.check);
    this.check = check;
    const wanted = new Map(targets.map((t) => [keyOf(t), t]));
    for (const [key, c] of this.checked) {
      if (wanted.has(key) && !changed) continue;
      clearTimeout(c.timer);
      this.checked.delete(key);
    }
    for (const [key, t] of wanted) {
      if (this.checked.has(key)) continue;
      const c: Checked = { healthy: true, streak: 0, running: false };
      this.checked.set(key, c);
      void this.probe(t, c);
    }
  }

  /** Whether a target may get connections (unknown targets may). */
  healthy(t: IngressTarget): boolean {
    return this.checked.get(keyOf(t))?.healthy ?? true;
  }

  stop(): void {
    this.stopped = true;
    for (const c of this.checked.values()) clearTimeout(c.timer);
    this.checked.clear();
  }

  private async probe(t: IngressTarget, c: Checked): Promise<void> {
    if (this.stopped || this.checked.get(keyOf(t)) !== c) return;
    const { path, timeoutSeconds, intervalSeconds, healthyThresholdCount, unhealthyThresholdCount, matcher } = this.check;
    let ok = false;
    try {
      const res = await fetch(`http://${t.host.includes(":") ? `[${t.host}]` : t.host}:${t.port}${path}`, {
        signal: AbortSignal.timeout(timeoutSeconds * 1000),
        redirect: "manual",
        // A new connection per check, as ELB's: a kept-alive one would not notice a new listener refusing.
        keepalive: false,
      });
      await res.arrayBuffer().catch(() => undefined);
      ok = matchesHttpCode(matcher.httpCode, res.status);
    } catch {
      ok = false;
    }
    if (this.stopped || this.checked.get(keyOf(t)) !== c) return;
    if (ok === c.healthy) c.streak = 0;
    else if (++c.streak >= (ok ? healthyThresholdCount : unhealthyThresholdCount)) {
      c.healthy = ok;
      c.streak = 0;
    }
    c.timer = setTimeout(() => void this.probe(t, c), intervalSeconds * 1000);
  }
}
