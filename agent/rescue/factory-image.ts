import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

const CHUNK_BYTES = 4 * 1024 * 1024;

/** The SHA-256 of the first `bytes` bytes of a device (the factory LV is at least the image's size), read only. */
export async function sha256OfDevice(device: string, bytes: number, progress?: (done: number, total: number) => void): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let done = 0;
  if (bytes > 0) {
    for await (const chunk of createReadStream(device, { start: 0, end: bytes - 1, highWaterMark: CHUNK_BYTES })) {
      hash.update(chunk as Buffer);
      done += (chunk as Buffer).length;
      progress?.(done, bytes);
    }
  }
  return { sha256: hash.digest("hex"), bytes: done };
}
