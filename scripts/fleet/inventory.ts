import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { z } from "zod";

/** One host to enroll, as written in the inventory (YAML or CSV). */
export interface InventoryHost {
  /** Stable key in the state file and summary: user@host:port. */
  id: string;
  host: string;
  user: string;
  port: number;
  /** Private key file, resolved against the inventory's directory. */
  key?: string;
  attributes: Record<string, string>;
}

export class InventoryError extends Error {}

const attrName = z.string().regex(/^[A-Za-z0-9_.\-/:@]+$/, "letters, digits and _ . - / : @ only");
const hostEntry = z.strictObject({
  host: z.string().min(1),
  user: z.string().min(1).optional(),
  port: z.coerce.number().int().min(1).max(65535).optional(),
  key: z.string().min(1).optional(),
  attributes: z.record(attrName, z.coerce.string()).optional(),
});
const hostList = z.array(hostEntry);
const withDefaults = z.strictObject({ defaults: hostEntry.partial().omit({ host: true }).optional(), hosts: z.array(hostEntry).min(1) });
// Branch on the shape instead of a z.union, whose errors collapse to "Invalid input" at the top.
const yamlInventory = { safeParse: (raw: unknown) => (Array.isArray(raw) ? hostList.safeParse(raw) : withDefaults.safeParse(raw)) };

function fail(file: string, issue: z.core.$ZodIssue): never {
  const path = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "");
  throw new InventoryError(`${file}: ${path || "(top level)"}: ${issue.message}`);
}

/** CSV with a header row: host,user,port,key,attributes — attributes as k=v;k2=v2. No quoted commas. */
function parseCsv(file: string, text: string): unknown[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  if (lines.length === 0) throw new InventoryError(`${file}: no hosts`);
  const header = lines[0]!.split(",").map((h) => h.trim().toLowerCase());
  const known = ["host", "user", "port", "key", "attributes"];
  const unknown = header.filter((h) => !known.includes(h));
  if (unknown.length || !header.includes("host")) {
    throw new InventoryError(`${file}: line 1: header must name columns from ${known.join(",")} including host${unknown.length ? `; unknown: ${unknown.join(",")}` : ""}`);
  }
  return lines.slice(1).map((line, i) => {
    const cells = line.split(",").map((c) => c.trim());
    if (cells.length > header.length) throw new InventoryError(`${file}: line ${i + 2}: ${cells.length} fields, header has ${header.length}`);
    const row: Record<string, unknown> = {};
    header.forEach((h, j) => {
      const v = cells[j];
      if (v === undefined || v === "") return;
      if (h === "attributes") {
        row.attributes = Object.fromEntries(
          v.split(";").filter(Boolean).map((kv) => {
            const eq = kv.indexOf("=");
            if (eq <= 0) throw new InventoryError(`${file}: line ${i + 2}: attribute must be KEY=VALUE, got "${kv}"`);
            return [kv.slice(0, eq).trim(), kv.slice(eq + 1).trim()];
          }),
        );
      } else row[h] = v;
    });
    return row;
  });
}

export function parseInventory(file: string, text: string): InventoryHost[] {
  let raw: unknown;
  if (/\.csv$/i.test(file)) raw = parseCsv(file, text);
  else {
    try {
      raw = Bun.YAML.parse(text);
    } catch (e) {
      throw new InventoryError(`${file}: not valid YAML (${(e as Error).message})`);
    }
  }
  const parsed = yamlInventory.safeParse(raw);
  if (!parsed.success) fail(file, parsed.error.issues[0]!);
  const defaults = Array.isArray(parsed.data) ? {} : (parsed.data.defaults ?? {});
  const entries = Array.isArray(parsed.data) ? parsed.data : parsed.data.hosts;
  if (entries.length === 0) throw new InventoryError(`${file}: no hosts`);
  const base = dirname(resolve(file));
  const hosts = entries.map((e) => {
    const user = e.user ?? defaults.user ?? "root";
    const port = e.port ?? defaults.port ?? 22;
    const key = e.key ?? defaults.key;
    return {
      id: `${user}@${e.host}:${port}`,
      host: e.host,
      user,
      port,
      key: key ? (isAbsolute(key) ? key : resolve(base, key)) : undefined,
      attributes: { ...(defaults.attributes ?? {}), ...(e.attributes ?? {}) },
    };
  });
  const seen = new Set<string>();
  for (const h of hosts) {
    if (seen.has(h.id)) throw new InventoryError(`${file}: host ${h.id} is listed twice`);
    seen.add(h.id);
  }
  return hosts;
}

export function readInventory(file: string): InventoryHost[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new InventoryError(`cannot read inventory ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseInventory(file, text);
}
