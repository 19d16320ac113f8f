/**
 * The 512-byte tar header, decoded the way GNU tar (the tool that extracts the payload) decodes it:
 * POSIX ustar, the GNU variant tar writes by default, old GNU sparse members, v7. Encoding for
 * build.ts. Records that span several headers (pax, GNU long names) are applied in tar-entries.ts.
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

/** What GNU tar reads from one header block, before pax records and long names are applied. */
export interface DecodedHeader extends TarHeader {
  /** Bytes of the archive after this header that belong to it (GNU: none for a hard link). */
  dataBytes: number;
  /** GNU tar reads no bytes after a directory header, whatever its size says. */
  noBody: boolean;
  /** Old GNU sparse member ('S'): the file's real size, and whether extension blocks follow. */
  sparse?: { realSize: number; extended: boolean };
}

const TYPE_BY_FLAG: Record<string, TarEntryType> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  S: "file",
  "1": "hardlink",
  "2": "symlink",
  "3": "character-device",
  "4": "block-device",
  "5": "directory",
  D: "directory",
  "6": "fifo",
  L: "gnu-long-name",
  K: "gnu-long-link",
  x: "pax",
  X: "pax",
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

const field = { name: [0, 100], mode: [100, 8], uid: [108, 8], gid: [116, 8], size: [124, 12], mtime: [136, 12], checksum: [148, 8], type: [156, 1], linkName: [157, 100], magic: [257, 6], version: [263, 2], uname: [265, 32], gname: [297, 32], prefix: [345, 155], gnuExtended: [482, 1], gnuRealSize: [483, 12] } as const;
type Field = keyof typeof field;

/** The block is not a tar header, or a field is out of range: the reader turns it into its own typed error. */
export class TarHeaderProblem extends Error {}

export function isEndBlock(block: Uint8Array): boolean {
  return block.every((byte) => byte === 0);
}

export function decodeHeader(block: Buffer): DecodedHeader {
  if (block.length !== BLOCK_BYTES) throw new TarHeaderProblem(`a tar header is ${BLOCK_BYTES} bytes, not ${block.length}`);
  checkChecksum(block);
  const flag = String.fromCharCode(block[field.type[0]]!);
  let type = TYPE_BY_FLAG[flag] ?? "other"; // GNU tar extracts an unknown type as a regular file
  const name = headerName(block);
  // Old tars mark a directory by a trailing slash on a regular member.
  if (type === "file" && flag !== "S" && name.endsWith("/")) type = "directory";
  const size = readNumber(block, "size");
  const header: DecodedHeader = {
    name,
    mode: readNumber(block, "mode"),
    size: type === "hardlink" ? 0 : size,
    type,
    linkName: readString(block, "linkName"),
    dataBytes: type === "hardlink" || flag === "5" ? 0 : size,
    noBody: flag === "5",
  };
  if (flag === "S") header.sparse = { realSize: readNumber(block, "gnuRealSize"), extended: block[field.gnuExtended[0]] !== 0 && mapIsFull(block, 386, 4) };
  return header;
}

/** An extension block of an old GNU sparse header: 21 map entries, then "another one follows". */
export function sparseExtensionContinues(block: Buffer): boolean {
  return block[504] !== 0 && mapIsFull(block, 0, 21);
}

/** GNU tar reads the next map block only when every entry of this one is used (an empty one ends the map). */
function mapIsFull(block: Buffer, start: number, entries: number): boolean {
  for (let i = 0; i < entries; i++) if (block[start + i * 24 + 12] === 0) return false;
  return true;
}

/** GNU tar joins prefix and name whenever the magic is exactly "ustar\0" (POSIX and star, not old GNU). */
function headerName(block: Buffer): string {
  const name = readString(block, "name");
  const posix = block.subarray(field.magic[0], field.magic[0] + 6).equals(Buffer.from("ustar\0", "latin1"));
  const prefix = posix ? readString(block, "prefix") : "";
  return prefix ? `${prefix}/${name}` : name;
}

const NOT_A_HEADER = "no valid tar header (not a tar file, or corrupt)";

/** GNU tar accepts the unsigned sum (POSIX) and the signed one (old Sun and BSD tars). */
function checkChecksum(block: Buffer): void {
  let stored: number;
  try {
    stored = readNumber(block, "checksum");
  } catch {
    throw new TarHeaderProblem(NOT_A_HEADER);
  }
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK_BYTES; i++) {
    const inChecksumField = i >= field.checksum[0] && i < field.checksum[0] + field.checksum[1];
    const byte = inChecksumField ? 0x20 : block[i]!;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  if (stored !== unsigned && stored !== signed) throw new TarHeaderProblem(NOT_A_HEADER);
}

function readString(block: Buffer, name: Field): string {
  const [start, length] = field[name];
  const bytes = block.subarray(start, start + length);
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end === -1 ? length : end).toString("utf8");
}

/**
 * GNU tar's rules: base-256 when the high bit is set (0xff: negative, refused), else one leading NUL
 * (an overflowing previous field), leading blanks, octal digits ended by a NUL, a blank or the field's end.
 */
function readNumber(block: Buffer, name: Field): number {
  const [start, length] = field[name];
  const bytes = block.subarray(start, start + length);
  if (bytes[0] === 0x80) return readBase256(bytes, name);
  if (bytes[0] === 0xff) throw new TarHeaderProblem(`field ${name} holds a negative number`);
  let at = bytes[0] === 0 ? 1 : 0;
  while (at < length && isBlank(bytes[at]!)) at++;
  if (at === length) throw new TarHeaderProblem(`field ${name} is blank where a number is expected`);
  let value = 0;
  const digitsFrom = at;
  while (at < length && bytes[at]! >= 0x30 && bytes[at]! <= 0x37) value = value * 8 + (bytes[at++]! - 0x30);
  if (at < length && bytes[at] !== 0 && !isBlank(bytes[at]!)) {
    throw new TarHeaderProblem(`field ${name} is not an octal number: ${JSON.stringify(bytes.subarray(digitsFrom).toString("latin1"))}`);
  }
  return value; // 12 octal digits stay below 2^36: always a safe integer
}

function isBlank(byte: number): boolean {
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);
}

function readBase256(bytes: Uint8Array, name: Field): number {
  let value = 0n;
  for (const byte of bytes.subarray(1)) value = (value << 8n) | BigInt(byte);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new TarHeaderProblem(`field ${name} holds a number too large for this reader`);
  return Number(value);
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
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, "0")}\u0000 `, field.checksum[0], "latin1");
  return block;
}

/** Zeros that pad a member's body to a whole number of blocks. */
export function paddingAfter(size: number): number {
  return (BLOCK_BYTES - (size % BLOCK_BYTES)) % BLOCK_BYTES;
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
