/** Byte-level builders for crafted tar archives: every field written as given, so a test can break any rule. */
export interface RawHeader {
  name: string;
  /** Type flag, one character ("0", "5", "x", "L", "S", …). */
  flag?: string;
  /** A number (written as octal), or the field's exact bytes. */
  size?: number | Buffer;
  mode?: number | Buffer;
  linkName?: string;
  prefix?: string;
  /** The 8 bytes of magic and version: "ustar\0" + "00" by default; "ustar  \0" is old GNU. */
  magic?: string;
  /** Old GNU sparse: bytes 386-511 as given (map, isextended, realsize). */
  gnuSparse?: { realSize: number; entries: Array<[number, number]>; extended?: boolean };
  checksum?: "unsigned" | "signed";
  /** Raw bytes to place at an offset after everything else (before the checksum). */
  patch?: { at: number; bytes: Buffer };
}

export function octal(value: number, width: number): Buffer {
  return Buffer.from(`${value.toString(8).padStart(width - 1, "0")}\0`, "latin1");
}

export function header(h: RawHeader): Buffer {
  const block = Buffer.alloc(512);
  block.write(h.name, 0, 100, "utf8");
  (typeof h.mode === "object" ? h.mode : octal(h.mode ?? 0o644, 8)).copy(block, 100);
  octal(0, 8).copy(block, 108);
  octal(0, 8).copy(block, 116);
  (typeof h.size === "object" ? h.size : octal(h.size ?? 0, 12)).copy(block, 124);
  octal(1_700_000_000, 12).copy(block, 136);
  block.write(h.flag ?? "0", 156, 1, "latin1");
  block.write(h.linkName ?? "", 157, 100, "utf8");
  block.write(h.magic ?? "ustar\u000000", 257, 8, "latin1");
  block.write("root", 265, "latin1");
  block.write("root", 297, "latin1");
  if (h.prefix) block.write(h.prefix, 345, 155, "utf8");
  if (h.gnuSparse) {
    h.gnuSparse.entries.slice(0, 4).forEach(([offset, bytes], i) => {
      octal(offset, 12).copy(block, 386 + i * 24);
      octal(bytes, 12).copy(block, 398 + i * 24);
    });
    block[482] = h.gnuSparse.extended ? 1 : 0;
    octal(h.gnuSparse.realSize, 12).copy(block, 483);
  }
  if (h.patch) h.patch.bytes.copy(block, h.patch.at);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += h.checksum === "signed" && byte > 127 ? byte - 256 : byte;
  block.write(`${(sum >>> 0).toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return block;
}

/** Data padded to whole blocks. */
export function body(data: Buffer | string): Buffer {
  const bytes = Buffer.from(data);
  return Buffer.concat([bytes, Buffer.alloc((512 - (bytes.length % 512)) % 512)]);
}

/** One pax record, its length counted in bytes over the raw value. */
export function paxRecord(key: string, value: Buffer | string): Buffer {
  const rest = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from("\n")]);
  let length = rest.length + 1;
  while (String(length).length + rest.length !== length) length++;
  return Buffer.concat([Buffer.from(String(length)), rest]);
}

export function paxHeader(records: Buffer[], flag = "x"): Buffer {
  const data = Buffer.concat(records);
  return Buffer.concat([header({ name: "./PaxHeaders/x", flag, size: data.length }), body(data)]);
}

export function file(name: string, data: string, extra: Partial<RawHeader> = {}): Buffer {
  return Buffer.concat([header({ name, size: Buffer.byteLength(data), ...extra }), body(data)]);
}

export const END = Buffer.alloc(1024);

/** uudecode of a libarchive `.tar.uu` test file. */
export function uudecode(text: string): Buffer {
  const out: number[] = [];
  const lines = text.split("\n");
  let inside = false;
  for (const line of lines) {
    if (!inside) {
      inside = line.startsWith("begin ");
      continue;
    }
    if (line === "end" || line === "`" ) break;
    const count = (line.charCodeAt(0) - 32) & 0x3f;
    if (count === 0) continue;
    const bytes: number[] = [];
    for (let i = 1; i + 3 < line.length + 4 && bytes.length < count; i += 4) {
      const c = [0, 1, 2, 3].map((k) => ((line.charCodeAt(i + k) || 32) - 32) & 0x3f);
      bytes.push(((c[0]! << 2) | (c[1]! >> 4)) & 0xff, ((c[1]! << 4) | (c[2]! >> 2)) & 0xff, ((c[2]! << 6) | c[3]!) & 0xff);
    }
    out.push(...bytes.slice(0, count));
  }
  return Buffer.from(out);
}
