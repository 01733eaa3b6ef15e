// @ts-expect-error: the parser ships no type declarations; its output is typed below.
import parsePrometheusTextFormat from "parse-prometheus-text-format";

/** One family as the parser gives it (prom2json's shape). */
interface ParsedFamily {
  name: string;
  help: string;
  type: "COUNTER" | "GAUGE" | "HISTOGRAM" | "SUMMARY" | "UNTYPED";
  metrics: { labels?: Record<string, string>; value?: string; buckets?: Record<string, string>; count?: string; sum?: string }[];
}

/** A scrape parsed by a real Prometheus text-format parser, with look-ups by name and labels. */
export class Scrape {
  readonly families: Map<string, ParsedFamily>;

  /** Each family's declared type, from its TYPE line. */
  private readonly declared = new Map<string, ParsedFamily["type"]>();

  constructor(readonly text: string) {
    // The parser folds a histogram's labelled series into one label-less one (its flattenMetrics
    // keeps only buckets of the last series and drops their labels). Told a histogram family is
    // untyped, it parses `_bucket`, `_sum` and `_count` as families of their own, labels kept; the
    // declared type is remembered here. Only TYPE lines are touched: every sample is the parser's.
    // It also drops the last sample of input that does not end in a newline (a single family's text).
    const lines = (text.endsWith("\n") ? text : `${text}\n`).split("\n").map((line) => {
      const m = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (!m) return line;
      this.declared.set(m[1]!, m[2]!.toUpperCase() as ParsedFamily["type"]);
      return m[2] === "histogram" ? `# TYPE ${m[1]} untyped` : line;
    });
    // A histogram's series come one after another (buckets, sum, count; then the next series), so
    // its untyped `_count` family appears once per series: they are joined again by name.
    this.families = new Map();
    for (const f of parsePrometheusTextFormat(lines.join("\n")) as ParsedFamily[]) {
      const seen = this.families.get(f.name);
      if (seen) seen.metrics.push(...f.metrics);
      else this.families.set(f.name, f);
    }
  }

  family(name: string): ParsedFamily {
    const f = this.families.get(name);
    if (!f) throw new Error(`no metric family ${name} in the scrape (have: ${[...this.families.keys()].join(", ")})`);
    return f;
  }

  private matching(name: string, labels: Record<string, string>) {
    return this.family(name).metrics.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  }

  /** A counter's or gauge's value summed over the series whose labels include `labels` (0: none). */
  value(name: string, labels: Record<string, string> = {}): number {
    return this.matching(name, labels).reduce((sum, m) => sum + Number(m.value), 0);
  }

  /** A histogram's observation count summed over the matching series (0: none observed yet). */
  count(name: string, labels: Record<string, string> = {}): number {
    if (this.type(name) !== "HISTOGRAM") throw new Error(`${name} is a ${this.type(name)}, not a histogram`);
    return this.families.has(`${name}_count`) ? this.value(`${name}_count`, labels) : 0;
  }

  /** A family's declared type (COUNTER, GAUGE, HISTOGRAM, ...). */
  type(name: string): ParsedFamily["type"] {
    const t = this.declared.get(name);
    if (!t) throw new Error(`no metric family ${name} in the scrape`);
    return t;
  }
}

/** GETs a /metrics URL (optionally with a bearer token) and parses it; throws unless 200. */
export async function scrape(url: string, token?: string): Promise<Scrape> {
  const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : undefined);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${text.slice(0, 200)}`);
  if (!res.headers.get("content-type")?.startsWith("text/plain")) throw new Error(`GET ${url}: content-type ${res.headers.get("content-type")}`);
  return new Scrape(text);
}
