import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import { SnapshotError } from "../errors/errors.ts";

const CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Copies the first `bytes` of `from` (a block device or a file) to the same offsets of `to`,
 * in-process, hashing what is written; flushed to `to` before it returns. A source that ends
 * before `bytes` is an error (the copy would not be the image). The factory point records with it
 * and the factory reset writes slot A back with it.
 */
export async function copyBlockDevice(from: string, to: string, options: { bytes: number; progress?: (done: number, total: number) => void }): Promise<{ sha256: string; bytes: number }> {
  const total = options.bytes;
  const hash = createHash("sha256");
  const source = await open(from, "r");
  try {
    const target = await open(to, "r+");
    try {
      const buffer = Buffer.alloc(Math.min(CHUNK_BYTES, Math.max(total, 1)));
      let done = 0;
      while (done < total) {
        const want = Math.min(buffer.length, total - done);
        const { bytesRead } = await source.read(buffer, 0, want, done);
        if (bytesRead === 0) {
          throw new SnapshotError(`${from} ended after ${done} bytes, ${total} were to be copied to ${to}`, `${to} holds a partial copy; nothing else was changed. Check that ${from} is the whole volume (\`lvm lvs\`), then run the command again.`, { from, to, done, total });
        }
        const chunk = buffer.subarray(0, bytesRead);
        for (let at = 0; at < chunk.length; ) at += (await target.write(chunk, at, chunk.length - at, done + at)).bytesWritten;
        hash.update(chunk);
        done += bytesRead;
        options.progress?.(done, total);
      }
      await target.sync();
      return { sha256: hash.digest("hex"), bytes: done };
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}
