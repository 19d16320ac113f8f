import { open, type FileHandle } from "node:fs/promises";
import { BundleError } from "../errors/errors.ts";
import { BLOCK_BYTES, TarHeaderProblem, decodeHeader, isEndBlock, paddingAfter, type TarEntryType } from "./tar-header.ts";

const CHUNK_BYTES = 1024 * 1024;
/** GNU long names and pax records are read whole; a real one is a few hundred bytes. */
const META_LIMIT_BYTES = 64 * 1024;

export interface TarMember {
  readonly name: string;
  readonly size: number;
  readonly mode: number;
  readonly type: TarEntryType;
  readonly linkName: string;
  /**
   * The body in chunks of at most 1 MiB, never held whole; unread bodies are skipped.
   * One buffer is reused: a chunk is valid only until the next one is requested (copy it to keep it).
   */
  body(): AsyncGenerator<Buffer>;
}

/** Iterates the members of a tar file in order, reading each byte of it at most once. */
export async function* readTar(path: string): AsyncGenerator<TarMember> {
  const file = await openBundle(path);
  try {
    yield* members(new PositionalReader(file, path));
  } finally {
    await file.close();
  }
}

async function* members(reader: PositionalReader): AsyncGenerator<TarMember> {
  let override: { name?: string; linkName?: string; size?: number } = {};
  for (;;) {
    const headerOffset = reader.position;
    const block = await reader.readExactly(BLOCK_BYTES, "a tar header");
    if (isEndBlock(block)) return;
    const header = decodeAt(block, headerOffset, reader.path);
    if (header.type === "gnu-long-name" || header.type === "gnu-long-link" || header.type === "pax" || header.type === "pax-global") {
      const text = await reader.readMeta(header.size);
      override = { ...override, ...metaOverride(header.type, text) };
      continue;
    }
    const member = { ...header, ...override };
    override = {};
    const bodyStart = reader.position;
    yield { ...member, body: () => reader.streamBody(member.name, bodyStart, member.size) };
    reader.position = bodyStart + member.size + paddingAfter(member.size);
  }
}

function metaOverride(type: TarEntryType, text: string): { name?: string; linkName?: string; size?: number } {
  if (type === "gnu-long-name") return { name: text.replace(/\0+$/, "") };
  if (type === "gnu-long-link") return { linkName: text.replace(/\0+$/, "") };
  if (type === "pax-global") return {};
  const records = parsePaxRecords(text);
  return {
    ...(records.path !== undefined ? { name: records.path } : {}),
    ...(records.linkpath !== undefined ? { linkName: records.linkpath } : {}),
    ...(records.size !== undefined ? { size: Number(records.size) } : {}),
  };
}

/** pax extended header: records of "LENGTH key=value\n". */
function parsePaxRecords(text: string): Record<string, string> {
  const records: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^\d+ ([^=]+)=(.*)$/s.exec(line);
    if (match) records[match[1]!] = match[2]!;
  }
  return records;
}

function decodeAt(block: Buffer, offset: number, path: string) {
  try {
    return decodeHeader(block);
  } catch (error) {
    if (!(error instanceof TarHeaderProblem)) throw error;
    throw new BundleError(`${path} is not a readable bundle: ${error.message} at byte ${offset}`, DOWNLOAD_AGAIN, { bundle: path, offset });
  }
}

const DOWNLOAD_AGAIN = "Download the bundle again (it is damaged or not a va-agent bundle); nothing was changed.";

async function openBundle(path: string): Promise<FileHandle> {
  try {
    return await open(path, "r");
  } catch (error) {
    throw new BundleError(`cannot open bundle ${path}: ${(error as Error).message}`, "Check the bundle's path; nothing was changed.", { bundle: path });
  }
}

/** Reads by offset, so a skipped member costs nothing and a short read means the file is truncated. */
class PositionalReader {
  position = 0;
  constructor(
    private readonly file: FileHandle,
    readonly path: string,
  ) {}

  async readExactly(length: number, what: string): Promise<Buffer> {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await this.file.read(buffer, 0, length, this.position);
    if (bytesRead < length) throw this.truncated(`${what} at byte ${this.position} is cut off`);
    this.position += length;
    return buffer;
  }

  async readMeta(size: number): Promise<string> {
    if (size > META_LIMIT_BYTES) throw new BundleError(`${this.path}: tar metadata record of ${size} bytes at byte ${this.position} is implausibly large`, DOWNLOAD_AGAIN, { bundle: this.path });
    const text = (await this.readExactly(size, "a tar metadata record")).toString("utf8");
    this.position += paddingAfter(size);
    return text;
  }

  async *streamBody(name: string, start: number, size: number): AsyncGenerator<Buffer> {
    // Reusing one buffer keeps memory flat however large the member; fresh chunks outrun the GC.
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, size));
    let done = 0;
    while (done < size) {
      const { bytesRead } = await this.file.read(buffer, 0, Math.min(buffer.length, size - done), start + done);
      if (bytesRead === 0) throw this.truncated(`member ${name} has only ${done} of its ${size} bytes`);
      done += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  }

  private truncated(detail: string): BundleError {
    return new BundleError(`bundle ${this.path} is truncated: ${detail}`, "The download or copy was incomplete: fetch the bundle again; nothing was changed.", {
      bundle: this.path,
    });
  }
}
