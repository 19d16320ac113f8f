import { BLOCK_BYTES, type DecodedHeader, TarHeaderProblem, type TarEntryType, decodeHeader, isEndBlock, paddingAfter, sparseExtensionContinues } from "./tar-header.ts";
import { type PaxRecords, cString, paxNumber, parsePaxRecords } from "./tar-pax.ts";

/**
 * The members of a tar archive as GNU tar extracts them: the one reader of tar structure behind
 * both the bundle reader and the payload's archive check. Precedence as GNU tar applies it: the
 * member's pax `x` header (the last of several), then pax global `g` records, then GNU `L`/`K`
 * long names, then the ustar name (with its prefix). `GNU.sparse.name` wins over `path`.
 */
export interface TarEntry {
  readonly name: string;
  readonly type: TarEntryType;
  readonly linkName: string;
  readonly mode: number;
  /** The size tar lists and extracts (a sparse file's real size). */
  readonly size: number;
  /** Where the member's bytes start in the archive, and how many there are (before padding). */
  readonly dataOffset: number;
  readonly dataBytes: number;
  readonly sparse: boolean;
}

/** Bytes of the archive in order. */
export interface TarSource {
  readonly position: number;
  /** n bytes, fewer only at the end of the archive. */
  read(n: number): Promise<Buffer>;
  /** Moves n bytes on; returns how many the archive had. */
  skip(n: number): Promise<number>;
}

/** What a reader turns into its own typed error; `truncated` when the archive ends inside a member. */
export class TarFormatProblem extends Error {
  constructor(
    message: string,
    readonly offset: number,
    readonly truncated: boolean,
  ) {
    super(message);
  }
}

/** pax records, long names and sparse maps are read whole: generous, and still bounded. */
export const META_LIMIT_BYTES = 16 * 1024 * 1024;

interface Pending {
  pax?: PaxRecords;
  longName?: string;
  longLink?: string;
}

/**
 * `endMarker: "optional"` as GNU tar reads an archive; a bundle, which only va-agent reads, requires
 * it: without it a download cut at a member boundary would look whole.
 */
export async function* tarEntries(source: TarSource, endMarker: "required" | "optional"): AsyncGenerator<TarEntry> {
  const global: PaxRecords = new Map();
  let pending: Pending = {};
  for (;;) {
    const at = source.position;
    const block = await source.read(BLOCK_BYTES);
    if (block.length === 0 && endMarker === "optional") return;
    if (block.length < BLOCK_BYTES) throw new TarFormatProblem(block.length === 0 ? `the archive ends at byte ${at} without its end-of-archive marker` : `the archive ends inside a tar header at byte ${at}`, at, true);
    if (isEndBlock(block)) return;
    const header = decodeAt(block, at);
    switch (header.type) {
      case "gnu-long-name":
        pending.longName = cString(await readMeta(source, header, at));
        continue;
      case "gnu-long-link":
        pending.longLink = cString(await readMeta(source, header, at));
        continue;
      case "pax":
        pending.pax = parseAt(await readMeta(source, header, at), at);
        continue;
      case "pax-global":
        for (const [key, value] of parseAt(await readMeta(source, header, at), at)) global.set(key, value);
        delete pending.pax; // GNU tar reads a global header into the same buffer as the member's own
        continue;
    }
    if (header.sparse?.extended) await skipSparseExtensions(source);
    const records = new Map([...global, ...(pending.pax ?? [])]);
    const entry = resolve(header, records, pending, source.position, at);
    if (records.get("GNU.sparse.major") === "1") await checkSparseMap(source, entry);
    pending = {};
    yield entry;
    const end = entry.dataOffset + entry.dataBytes + paddingAfter(entry.dataBytes);
    const left = end - source.position;
    if ((await source.skip(left)) < left) throw new TarFormatProblem(`member ${entry.name} is cut off: the archive ends inside its ${entry.dataBytes} bytes`, entry.dataOffset, true);
  }
}

function resolve(header: DecodedHeader, records: PaxRecords, pending: Pending, dataOffset: number, at: number): TarEntry {
  try {
    const paxSize = paxNumber(records, "size");
    const realSize = paxNumber(records, "GNU.sparse.realsize") ?? paxNumber(records, "GNU.sparse.size") ?? header.sparse?.realSize;
    return {
      name: records.get("GNU.sparse.name") ?? records.get("path") ?? pending.longName ?? header.name,
      type: header.type,
      linkName: records.get("linkpath") ?? pending.longLink ?? header.linkName,
      mode: header.mode,
      size: realSize ?? paxSize ?? header.size,
      dataOffset,
      dataBytes: header.noBody ? 0 : (paxSize ?? header.dataBytes),
      sparse: realSize !== undefined,
    };
  } catch (error) {
    throw asProblem(error, at);
  }
}

/** Decimal digits GNU tar takes for one number of a sparse map (its buffer's size). */
const SPARSE_NUMBER_DIGITS = 20;

/**
 * pax sparse 1.0 keeps its map ("COUNT\nOFFSET\nBYTES\n…") at the start of the member's data: GNU
 * tar reports a map that does not parse, or reaches past the real size, and exits 2.
 */
async function checkSparseMap(source: TarSource, entry: TarEntry): Promise<void> {
  let block: Buffer = Buffer.alloc(0);
  let read = 0;
  const malformed = (detail: string) => new TarFormatProblem(`member ${entry.name} has a malformed sparse map: ${detail}`, entry.dataOffset, false);
  const nextNumber = async (): Promise<number> => {
    let text = "";
    for (;;) {
      if (block.length === 0) {
        if (read >= entry.dataBytes) throw malformed("it runs past the member's data");
        block = await source.read(BLOCK_BYTES);
        read += BLOCK_BYTES;
        if (block.length < BLOCK_BYTES) throw new TarFormatProblem(`the archive ends inside the sparse map of ${entry.name}`, entry.dataOffset, true);
      }
      const newline = block.indexOf(0x0a);
      text += block.subarray(0, newline === -1 ? block.length : newline).toString("latin1");
      block = block.subarray(newline === -1 ? block.length : newline + 1);
      if (text.length > SPARSE_NUMBER_DIGITS) throw malformed("a number too long");
      if (newline !== -1) break;
    }
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw malformed(`${JSON.stringify(text)} is not a decimal number`);
    return Number(text);
  };
  const regions = await nextNumber();
  for (let i = 0; i < regions; i++) {
    const offset = await nextNumber();
    const bytes = await nextNumber();
    if (offset + bytes > entry.size) throw malformed(`a region ends at ${offset + bytes}, past the real size ${entry.size}`);
  }
}

async function readMeta(source: TarSource, header: DecodedHeader, at: number): Promise<Buffer> {
  if (header.dataBytes > META_LIMIT_BYTES) throw new TarFormatProblem(`a tar metadata record of ${header.dataBytes} bytes at byte ${at}, more than this reader takes (${META_LIMIT_BYTES})`, at, false);
  const data = await source.read(header.dataBytes);
  const padding = paddingAfter(header.dataBytes);
  if (data.length < header.dataBytes || (await source.skip(padding)) < padding) throw new TarFormatProblem(`the archive ends inside the tar metadata record at byte ${at}`, at, true);
  return data;
}

/** The old GNU sparse map continues in extension blocks; the data that follows is what the archive holds. */
async function skipSparseExtensions(source: TarSource): Promise<void> {
  for (;;) {
    const at = source.position;
    const block = await source.read(BLOCK_BYTES);
    if (block.length < BLOCK_BYTES) throw new TarFormatProblem(`the archive ends inside a sparse map at byte ${at}`, at, true);
    if (!sparseExtensionContinues(block)) return;
  }
}

function decodeAt(block: Buffer, at: number): DecodedHeader {
  try {
    return decodeHeader(block);
  } catch (error) {
    throw asProblem(error, at);
  }
}

function parseAt(data: Buffer, at: number): PaxRecords {
  try {
    return parsePaxRecords(data);
  } catch (error) {
    throw asProblem(error, at);
  }
}

function asProblem(error: unknown, at: number): unknown {
  return error instanceof TarHeaderProblem ? new TarFormatProblem(`${error.message} at byte ${at}`, at, false) : error;
}
