import { META_LIMIT_BYTES, TarFormatProblem, type TarSource, tarEntries } from "../bundle/tar-entries.ts";
import { ArchiveError } from "../errors/errors.ts";
import { type ArchiveMember, REBUILD } from "./archive-linter.ts";

/** Pulls exact byte counts out of a chunked stream (the decompressor's stdout). */
class StreamReader implements TarSource {
  position = 0;
  private buffered: Buffer[] = [];
  private length = 0;
  private done = false;
  constructor(private readonly source: AsyncIterator<Buffer>) {}

  /** Returns fewer bytes only at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    while (this.length < n && !this.done) {
      const next = await this.source.next();
      if (next.done) this.done = true;
      else {
        this.buffered.push(next.value);
        this.length += next.value.length;
      }
    }
    const all = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered);
    const out = all.subarray(0, Math.min(n, all.length));
    const rest = all.subarray(out.length);
    this.buffered = rest.length > 0 ? [rest] : [];
    this.length = rest.length;
    this.position += out.length;
    return out;
  }

  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      const chunk = await this.read(Math.min(left, 4 * 1024 * 1024));
      if (chunk.length === 0) break;
      left -= chunk.length;
    }
    return n - left;
  }
}

/**
 * Members of a tar stream in order, as GNU tar extracts them (tar-entries.ts); bodies skipped, never
 * held, except small regular files `keepBody` asks for (the payload's /etc/fstab).
 */
export async function* tarHeaders(stream: AsyncIterable<Buffer>, archive: string, keepBody: (member: ArchiveMember) => boolean = () => false): AsyncGenerator<ArchiveMember> {
  const reader = new StreamReader(stream[Symbol.asyncIterator]());
  try {
    for await (const entry of tarEntries(reader, "optional")) {
      const member: ArchiveMember = { name: entry.name, type: entry.type, linkName: entry.linkName, size: entry.size };
      if (entry.sparse || entry.dataBytes > META_LIMIT_BYTES || !keepBody(member)) {
        yield member;
        continue;
      }
      const body = await reader.read(entry.dataBytes);
      if (body.length < entry.dataBytes) throw notTar(archive, `member ${entry.name} is cut off`);
      yield { ...member, body };
    }
  } catch (error) {
    throw error instanceof TarFormatProblem ? notTar(archive, `${error.message} of the decompressed stream`) : error;
  }
}

function notTar(archive: string, detail: string): ArchiveError {
  return new ArchiveError(`payload ${archive} is not a readable tar archive: ${detail}`, REBUILD, { archive, member: null });
}

