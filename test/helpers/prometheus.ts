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

  constructor(readonly text: string) {
    this.families = new Map((parsePrometheusTextFormat(text) as ParsedFamily[]).map((f) => [f.name, f]));
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

  /** A histogram's observation count summed over the matching series (0: none). */
  count(name: string, labels: Record<string, string> = {}): number {
    const f = this.family(name);
    if (f.type !== "HISTOGRAM") throw new Error(`${name} is a ${f.type}, not a histogram`);
    return this.matching(name, labels).reduce((sum, m) => sum + Number(m.count), 0);
  }

  type(name: string): ParsedFamily["type"] {
    return this.family(name).type;
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
