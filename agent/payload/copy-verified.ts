import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, statSync } from "node:fs";
import { once } from "node:events";
import { PayloadError } from "../errors/errors.ts";
import type { Progress } from "../log/logger.ts";
import type { FileRef } from "../manifest/manifest.ts";
import { type FilePiece, SECTOR } from "../disk/sector-ranges.ts";
import { openTemp } from "../disk/write-file-atomically.ts";
import { payloadFileMode } from "../carry-over/captured-config.ts";
import type { Runner } from "../runner/runner.ts";

const CHUNK_BYTES = 4 * 1024 * 1024;

/** What to do about a missing or damaged copy before the point of no return (the old system still boots). */
export const RESTAGE_REMEDY = "Stage the bundle again (`va-agent stage BUNDLE`), downloaded anew if it is damaged; the old system was not changed.";

/** The same after the point of no return, for a copy made from RAM (the caller's error says where the disk stands). */
export const RAM_COPY_REMEDY = "The tiny system's copy in RAM is damaged (memory or tmpfs trouble); where a reboot is safe (see above), the rebooted tiny system reads it again from the disk.";

/**
 * Copies a payload member while hashing it: the source is read exactly once. `remedy` is the hint
 * of a refusal: the caller knows where the disk stands (before or after the point of no return).
 */
export async function copyVerified(source: string, destination: string, ref: FileRef, remedy: string, progress?: Progress): Promise<void> {
  if (!existsSync(source)) throw new PayloadError(`payload member ${ref.file} is missing from ${source}`, remedy, { member: ref.file });
  const total = statSync(source).size;
  checkSize(ref, total, remedy);
  await writeVerified(createReadStream(source, { highWaterMark: CHUNK_BYTES }), total, destination, ref, remedy, progress);
}

/**
 * Copies a file that is known only by its sectors on `disk` (a staged file, read after or just
 * before the filesystem around it is gone), hashing while copying.
 */
export async function copyRangesVerified(
  run: Runner,
  disk: string,
  ranges: readonly FilePiece[],
  destination: string,
  ref: FileRef & { bytes: number },
  remedy: string,
  progress?: Progress,
): Promise<void> {
  await writeVerified(readRanges(run, disk, ranges, ref.bytes), ref.bytes, destination, ref, remedy, progress);
}

async function* readRanges(run: Runner, disk: string, ranges: readonly FilePiece[], bytes: number): AsyncGenerator<Buffer> {
  const chunkSectors = CHUNK_BYTES / SECTOR;
  let left = bytes;
  for (const range of ranges) {
    for (let at = 0; at < range.count && left > 0; at += chunkSectors) {
      const sectors = Math.min(chunkSectors, range.count - at);
      const chunk = range.hole ? Buffer.alloc(sectors * SECTOR) : await run.readSectors(disk, range.start + at, sectors);
      yield chunk.subarray(0, Math.min(chunk.length, left));
      left -= Math.min(chunk.length, left);
    }
  }
}

/** Into a temp file with the final mode, renamed into place only once the digest matches. */
async function writeVerified(chunks: AsyncIterable<Buffer | string>, total: number, destination: string, ref: FileRef, remedy: string, progress?: Progress): Promise<void> {
  const hash = createHash("sha256");
  const temp = openTemp(destination, { mode: payloadFileMode(destination) });
  try {
    const output = createWriteStream("", { fd: temp.fd, autoClose: false });
    let done = 0;
    for await (const chunk of chunks) {
      hash.update(chunk as Buffer);
      done += (chunk as Buffer).length;
      if (!output.write(chunk)) await once(output, "drain");
      progress?.update(done, total);
    }
    output.end();
    await once(output, "finish");
    progress?.finish();
    checkDigest(ref, hash.digest("hex"), remedy);
  } catch (error) {
    temp.discard();
    throw error;
  }
  temp.commit();
  verifiedByThisProcess.set(destination, ref.sha256);
}

/** Hashes a file already in place (a resumed run re-checks what an earlier run left). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * Files this process wrote and verified, with their digest: a staged-boot resume reads every staged
 * file from disk, verified, and load-payload then finds them in RAM; hashing 300 MiB again would
 * cost ~17 s under emulation. Only this process's own copies count, never files found on disk.
 */
const verifiedByThisProcess = new Map<string, string>();

export async function isIntact(path: string, ref: FileRef): Promise<boolean> {
  if (!existsSync(path)) return false;
  if (ref.bytes !== undefined && statSync(path).size !== ref.bytes) return false;
  if (verifiedByThisProcess.get(path) === ref.sha256) return true;
  return (await sha256File(path)) === ref.sha256;
}

function checkSize(ref: FileRef, actual: number, remedy: string): void {
  if (ref.bytes !== undefined && actual !== ref.bytes) {
    throw new PayloadError(
      `payload member ${ref.file} has ${actual} bytes, the manifest says ${ref.bytes} (truncated or replaced)`,
      remedy,
      { member: ref.file, expectedBytes: ref.bytes, actualBytes: actual },
    );
  }
}

function checkDigest(ref: FileRef, actual: string, remedy: string): void {
  if (actual !== ref.sha256) {
    throw new PayloadError(
      `payload member ${ref.file} is corrupt: SHA-256 ${actual}, the manifest says ${ref.sha256}`,
      remedy,
      { member: ref.file, expected: ref.sha256, actual },
    );
  }
}
