// A minimal, deterministic writer (and reader, for listings and tests) of the cpio "newc" format
// (magic 070701) that the Linux kernel unpacks as an initramfs.
//
// Deterministic: entries sorted by path, mtime 0, uid/gid 0, inode numbers assigned in order.
// Layout of one entry: 110-byte ASCII header, name + NUL padded to a 4-byte boundary, data padded
// to a 4-byte boundary. The archive ends with the entry "TRAILER!!!".

export type CpioEntry =
  | { type: "file"; path: string; mode: number; data: Uint8Array }
  | { type: "dir"; path: string; mode: number }
  | { type: "symlink"; path: string; target: string };

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const TRAILER = "TRAILER!!!";
const HEADER_SIZE = 110;

const pad4 = (n: number) => (4 - (n % 4)) % 4;
const hex8 = (n: number) => n.toString(16).padStart(8, "0");

function header(fields: { ino: number; mode: number; nlink: number; size: number; namesize: number }): string {
  return (
    "070701" +
    hex8(fields.ino) +
    hex8(fields.mode) +
    hex8(0) + // uid
    hex8(0) + // gid
    hex8(fields.nlink) +
    hex8(0) + // mtime
    hex8(fields.size) +
    hex8(0) + // devmajor
    hex8(0) + // devminor
    hex8(0) + // rdevmajor
    hex8(0) + // rdevminor
    hex8(fields.namesize) +
    hex8(0) // check
  );
}

function normalise(path: string): string {
  const p = path.replace(/^\/+/, "").replace(/\/+$/, "");
  if (p === "" || p.split("/").some((c) => c === "" || c === "." || c === "..")) {
    throw new Error(`cpio: bad entry path ${JSON.stringify(path)}`);
  }
  return p;
}

/** Writes a newc archive. Paths are relative (a leading "/" is stripped); duplicates are an error. */
export function writeCpio(entries: CpioEntry[]): Uint8Array {
  const enc = new TextEncoder();
  const sorted = entries
    .map((e) => ({ ...e, path: normalise(e.path) }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.path === sorted[i - 1]!.path) throw new Error(`cpio: duplicate entry ${sorted[i]!.path}`);
  }

  const chunks: Uint8Array[] = [];
  let total = 0;
  const push = (b: Uint8Array) => {
    chunks.push(b);
    total += b.length;
  };
  const pushEntry = (ino: number, mode: number, nlink: number, name: string, data: Uint8Array) => {
    const nameBytes = enc.encode(name);
    const namesize = nameBytes.length + 1;
    push(enc.encode(header({ ino, mode, nlink, size: data.length, namesize })));
    const nameBlock = new Uint8Array(namesize + pad4(HEADER_SIZE + namesize));
    nameBlock.set(nameBytes);
    push(nameBlock);
    if (data.length > 0) {
      push(data);
      if (pad4(data.length)) push(new Uint8Array(pad4(data.length)));
    }
  };

  let ino = 1;
  for (const e of sorted) {
    if (e.type === "file") pushEntry(ino++, S_IFREG | (e.mode & 0o7777), 1, e.path, e.data);
    else if (e.type === "dir") pushEntry(ino++, S_IFDIR | (e.mode & 0o7777), 2, e.path, new Uint8Array(0));
    else pushEntry(ino++, S_IFLNK | 0o777, 1, e.path, enc.encode(e.target));
  }
  pushEntry(0, 0, 1, TRAILER, new Uint8Array(0));

  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

export interface CpioListing {
  path: string;
  mode: number;
  size: number;
  /** Byte offset of the entry's header in the buffer. */
  offset: number;
  /** Symlink target, for symlinks. */
  target?: string;
}

/**
 * Reads one newc archive starting at `start`; returns its entries (without the trailer) and the
 * offset just after the trailer.
 */
export function readCpio(bytes: Uint8Array, start = 0): { entries: CpioListing[]; end: number } {
  const dec = new TextDecoder();
  const entries: CpioListing[] = [];
  let off = start;
  for (;;) {
    if (off + HEADER_SIZE > bytes.length) throw new Error(`cpio: truncated header at ${off}`);
    const h = dec.decode(bytes.subarray(off, off + HEADER_SIZE));
    if (!h.startsWith("070701") && !h.startsWith("070702")) throw new Error(`cpio: bad magic at ${off}`);
    const field = (i: number) => parseInt(h.slice(6 + i * 8, 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const namesize = field(11);
    const name = dec.decode(bytes.subarray(off + HEADER_SIZE, off + HEADER_SIZE + namesize - 1));
    const dataStart = off + HEADER_SIZE + namesize + pad4(HEADER_SIZE + namesize);
    const next = dataStart + size + pad4(size);
    if (name === TRAILER) return { entries, end: next };
    const entry: CpioListing = { path: name, mode, size, offset: off };
    if ((mode & 0o170000) === S_IFLNK) entry.target = dec.decode(bytes.subarray(dataStart, dataStart + size));
    entries.push(entry);
    off = next;
  }
}
