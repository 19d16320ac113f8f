import { open, type FileHandle } from "node:fs/promises";
import { BundleError } from "../errors/errors.ts";
import { TarFormatProblem, type TarSource, tarEntries } from "./tar-entries.ts";
import type { TarEntryType } from "./tar-header.ts";

const CHUNK_BYTES = 1024 * 1024;

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
    const reader = new PositionalReader(file, path, (await file.stat()).size);
    try {
      for await (const entry of tarEntries(reader, "required")) {
        yield { name: entry.name, size: entry.size, mode: entry.mode, type: entry.type, linkName: entry.linkName, body: () => reader.streamBody(entry.name, entry.dataOffset, entry.dataBytes) };
      }
    } catch (error) {
      throw error instanceof TarFormatProblem ? bundleProblem(path, error) : error;
    }
  } finally {
    await file.close();
  }
}

function bundleProblem(path: string, problem: TarFormatProblem): BundleError {
  if (problem.truncated) return truncated(path, problem.message);
  return new BundleError(`${path} is not a readable bundle: ${problem.message}`, DOWNLOAD_AGAIN, { bundle: path, offset: problem.offset });
}

function truncated(path: string, detail: string): BundleError {
  return new BundleError(`bundle ${path} is truncated: ${detail}`, "The download or copy was incomplete: fetch the bundle again; nothing was changed.", { bundle: path });
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
class PositionalReader implements TarSource {
  position = 0;
  constructor(
    private readonly file: FileHandle,
    readonly path: string,
    private readonly fileBytes: number,
  ) {}

  async read(n: number): Promise<Buffer> {
    const buffer = Buffer.alloc(Math.max(0, Math.min(n, this.fileBytes - this.position)));
    const { bytesRead } = await this.file.read(buffer, 0, buffer.length, this.position);
    this.position += bytesRead;
    return buffer.subarray(0, bytesRead);
  }

  async skip(n: number): Promise<number> {
    const skipped = Math.max(0, Math.min(n, this.fileBytes - this.position));
    this.position += skipped;
    return skipped;
  }

  async *streamBody(name: string, start: number, size: number): AsyncGenerator<Buffer> {
    // Reusing one buffer keeps memory flat however large the member; fresh chunks outrun the GC.
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, size));
    let done = 0;
    while (done < size) {
      const { bytesRead } = await this.file.read(buffer, 0, Math.min(buffer.length, size - done), start + done);
      if (bytesRead === 0) throw truncated(this.path, `member ${name} has only ${done} of its ${size} bytes`);
      done += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  }
}
