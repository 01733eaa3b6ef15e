/**
 * The little of POSIX ustar the agent needs to build its pause image in memory (regular files
 * only, names under 100 bytes) and the hollow runtime needs to read one back. Every entry has
 * owner 0:0 and a fixed time, so the same input gives the same bytes (and the same image id).
 */

export interface TarEntry {
  name: string;
  data: Uint8Array;
  /** Permission bits, e.g. 0o755. */
  mode: number;
}

const BLOCK = 512;
const enc = new TextEncoder();

function writeField(h: Uint8Array, offset: number, length: number, value: string): void {
  const bytes = enc.encode(value);
  if (bytes.length > length) throw new Error(`tar field too long: ${value}`);
  h.set(bytes, offset);
}

/** Octal, zero-padded, NUL-terminated, filling the field. */
const octal = (n: number, length: number) => n.toString(8).padStart(length - 1, "0");

function header(e: TarEntry): Uint8Array {
  const h = new Uint8Array(BLOCK);
  writeField(h, 0, 100, e.name);
  writeField(h, 100, 8, octal(e.mode, 8));
  writeField(h, 108, 8, octal(0, 8)); // uid
  writeField(h, 116, 8, octal(0, 8)); // gid
  writeField(h, 124, 12, octal(e.data.length, 12));
  writeField(h, 136, 12, octal(0, 12)); // mtime: the epoch, for reproducible bytes
  h[156] = 0x30; // typeflag '0': regular file
  writeField(h, 257, 6, "ustar");
  writeField(h, 263, 2, "00");
  // The checksum is the byte sum of the header with its own field read as spaces.
  h.fill(0x20, 148, 156);
  const sum = h.reduce((a, b) => a + b, 0);
  writeField(h, 148, 8, `${octal(sum, 7)}\0 `.slice(0, 8));
  return h;
}

export function writeTar(entries: TarEntry[]): Uint8Array {
  const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;
  const size = entries.reduce((s, e) => s + BLOCK + padded(e.data.length), 0) + 2 * BLOCK;
  const out = new Uint8Array(size);
  let at = 0;
  for (const e of entries) {
    out.set(header(e), at);
    out.set(e.data, at + BLOCK);
    at += BLOCK + padded(e.data.length);
  }
  return out; // ends with two zero blocks
}

/** The regular files of a ustar archive, by name. */
export function readTar(archive: Uint8Array): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const dec = new TextDecoder();
  const text = (o: number, l: number) => dec.decode(archive.subarray(o, o + l)).replace(/\0.*$/s, "");
  for (let at = 0; at + BLOCK <= archive.length; ) {
    if (archive.subarray(at, at + BLOCK).every((b) => b === 0)) break;
    const prefix = text(at + 345, 155);
    const name = (prefix ? `${prefix}/` : "") + text(at, 100);
    const size = parseInt(text(at + 124, 12).trim() || "0", 8);
    const type = archive[at + 156];
    if (type === 0x30 || type === 0) files.set(name, archive.subarray(at + BLOCK, at + BLOCK + size));
    at += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return files;
}
