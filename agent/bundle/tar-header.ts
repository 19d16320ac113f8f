/**
 * The 512-byte tar header (POSIX ustar, and the GNU variant `tar` writes by default):
 * decoding for the agent, encoding for build.ts. Everything a bundle member needs, nothing more.
 */
export const BLOCK_BYTES = 512;

export type TarEntryType =
  | "file"
  | "hardlink"
  | "symlink"
  | "character-device"
  | "block-device"
  | "directory"
  | "fifo"
  | "gnu-long-name"
  | "gnu-long-link"
  | "pax"
  | "pax-global"
  | "other";

export interface TarHeader {
  name: string;
  mode: number;
  size: number;
  type: TarEntryType;
  linkName: string;
}

const TYPE_BY_FLAG: Record<string, TarEntryType> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  "1": "hardlink",
  "2": "symlink",
  "3": "character-device",
  "4": "block-device",
  "5": "directory",
  "6": "fifo",
  L: "gnu-long-name",
  K: "gnu-long-link",
  x: "pax",
  g: "pax-global",
};
const FLAG_BY_TYPE: Partial<Record<TarEntryType, string>> = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  "character-device": "3",
  "block-device": "4",
  directory: "5",
  fifo: "6",
};

const field = { name: [0, 100], mode: [100, 8], uid: [108, 8], gid: [116, 8], size: [124, 12], mtime: [136, 12], checksum: [148, 8], type: [156, 1], linkName: [157, 100], magic: [257, 6], version: [263, 2], uname: [265, 32], gname: [297, 32], prefix: [345, 155] } as const;
type Field = keyof typeof field;

export class TarHeaderProblem extends Error {}

export function isEndBlock(block: Uint8Array): boolean {
  return block.every((byte) => byte === 0);
}

/** Throws TarHeaderProblem when the block is not a tar header (bad checksum or numbers). */
export function decodeHeader(block: Buffer): TarHeader {
  if (storedChecksum(block) !== checksumOf(block)) throw new TarHeaderProblem("no valid tar header (not a tar file, or corrupt)");
  const name = readString(block, "name");
  // Only POSIX ustar has a prefix field; GNU tar keeps access times in those bytes.
  const prefix = readString(block, "magic") === "ustar" && block[263] === 0x30 ? readString(block, "prefix") : "";
  const flag = String.fromCharCode(block[field.type[0]]!);
  return {
    name: prefix ? `${prefix}/${name}` : name,
    mode: readNumber(block, "mode"),
    size: readNumber(block, "size"),
    type: TYPE_BY_FLAG[flag] ?? "other",
    linkName: readString(block, "linkName"),
  };
}

/** A deterministic header: owner root (0/0), mtime 0, ustar format. */
export function encodeHeader(header: TarHeader): Buffer {
  const block = Buffer.alloc(BLOCK_BYTES);
  const flag = FLAG_BY_TYPE[header.type];
  if (flag === undefined) throw new Error(`cannot encode a ${header.type} tar entry`);
  writeString(block, "name", header.name);
  writeOctal(block, "mode", header.mode & 0o7777);
  writeOctal(block, "uid", 0);
  writeOctal(block, "gid", 0);
  writeSize(block, header.size);
  writeOctal(block, "mtime", 0);
  writeString(block, "type", flag);
  writeString(block, "linkName", header.linkName);
  block.write("ustar\u000000", field.magic[0], "latin1");
  writeString(block, "uname", "root");
  writeString(block, "gname", "root");
  block.fill(0x20, field.checksum[0], field.checksum[0] + field.checksum[1]);
  block.write(`${checksumOf(block).toString(8).padStart(6, "0")}\u0000 `, field.checksum[0], "latin1");
  return block;
}

/** Zeros that pad a member's body to a whole number of blocks. */
export function paddingAfter(size: number): number {
  return (BLOCK_BYTES - (size % BLOCK_BYTES)) % BLOCK_BYTES;
}

function storedChecksum(block: Buffer): number | undefined {
  try {
    return readNumber(block, "checksum");
  } catch {
    return undefined;
  }
}

function checksumOf(block: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK_BYTES; i++) {
    const inChecksumField = i >= field.checksum[0] && i < field.checksum[0] + field.checksum[1];
    sum += inChecksumField ? 0x20 : block[i]!;
  }
  return sum;
}

function readString(block: Buffer, name: Field): string {
  const [start, length] = field[name];
  const bytes = block.subarray(start, start + length);
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end === -1 ? length : end).toString("utf8");
}

/** Octal text, or GNU base-256 (high bit set) for sizes of 8 GiB and more. */
function readNumber(block: Buffer, name: Field): number {
  const [start, length] = field[name];
  const bytes = block.subarray(start, start + length);
  if (bytes[0]! & 0x80) return readBase256(bytes);
  const text = bytes.toString("latin1").replace(/[\0 ]+$/, "").replace(/^[\0 ]+/, "");
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarHeaderProblem(`field ${name} is not an octal number: ${JSON.stringify(text)}`);
  return parseInt(text, 8);
}

function readBase256(bytes: Uint8Array): number {
  if (bytes[0] === 0xff) throw new TarHeaderProblem("negative number in a tar header");
  let value = BigInt(bytes[0]! & 0x7f);
  for (const byte of bytes.subarray(1)) value = (value << 8n) | BigInt(byte);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new TarHeaderProblem("number in a tar header is too large");
  return Number(value);
}

function writeString(block: Buffer, name: Field, value: string): void {
  const [start, length] = field[name];
  if (Buffer.byteLength(value) > length) throw new Error(`tar ${name} longer than ${length} bytes: ${value}`);
  block.write(value, start, "utf8");
}

function writeOctal(block: Buffer, name: Field, value: number): void {
  const [start, length] = field[name];
  block.write(`${value.toString(8).padStart(length - 1, "0")}\u0000`, start, "latin1");
}

function writeSize(block: Buffer, size: number): void {
  const [start, length] = field.size;
  if (size < 8 ** (length - 1)) return writeOctal(block, "size", size);
  let value = BigInt(size);
  for (let i = start + length - 1; i > start; i--) {
    block[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  block[start] = 0x80;
}
