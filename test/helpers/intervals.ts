/**
 * How many of a set of time intervals (container lifetimes, say) overlap, computed exactly from
 * their ends rather than by sampling, which can miss a short dip or peak. Ties are read against
 * the claim being checked: for the most at once an interval counts at both its ends (one ending
 * as another starts is two at once); for the fewest at neither.
 */
export interface Interval {
  from: number;
  /** Infinity while it has not ended. */
  to: number;
}

export interface Extreme {
  count: number;
  /** An instant at which the count is reached. */
  at: number;
}

/** The most intervals covering one instant within [from, to] (the whole line by default). */
export function mostAtOnce(intervals: Interval[], window: Interval = { from: -Infinity, to: Infinity }): Extreme {
  const inWindow = (t: number) => t >= window.from && t <= window.to;
  const points = [...intervals.flatMap((i) => [i.from, i.to]), window.from, window.to].filter((t) => Number.isFinite(t) && inWindow(t));
  let best: Extreme = { count: 0, at: window.from };
  // The count only changes at an end, and counting both ends of every interval makes each end's
  // count the highest around it: the maximum is at one of them.
  for (const t of points.sort((a, b) => a - b)) {
    const count = intervals.filter((i) => i.from <= t && t <= i.to).length;
    if (count > best.count) best = { count, at: t };
  }
  return best;
}

/** The fewest intervals covering an instant within [from, to] (a finite window). */
export function fewestAtOnce(intervals: Interval[], window: Interval): Extreme {
  if (!Number.isFinite(window.from) || !Number.isFinite(window.to) || window.from > window.to) {
    throw new Error(`fewestAtOnce needs a finite window, got [${window.from}, ${window.to}]`);
  }
  const inside = intervals.flatMap((i) => [i.from, i.to]).filter((t) => t > window.from && t < window.to);
  const points = [...new Set(inside)].sort((a, b) => a - b);
  const bounds = [window.from, ...points, window.to];
  let worst: Extreme = { count: Infinity, at: window.from };
  const consider = (count: number, at: number) => {
    if (count < worst.count) worst = { count, at };
  };
  for (let k = 0; k + 1 < bounds.length; k++) {
    const [a, b] = [bounds[k]!, bounds[k + 1]!];
    // Between two ends the count is constant: the intervals spanning the whole stretch.
    if (b > a) consider(intervals.filter((i) => i.from <= a && i.to >= b).length, (a + b) / 2);
    // At an end inside the window, only intervals strictly around it.
    if (k + 1 < bounds.length - 1) consider(intervals.filter((i) => i.from < b && b < i.to).length, b);
  }
  if (window.from === window.to) consider(intervals.filter((i) => i.from <= window.from && window.from <= i.to).length, window.from);
  return worst;
}
