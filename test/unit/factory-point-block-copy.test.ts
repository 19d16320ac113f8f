import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SnapshotError } from "../../agent/errors/errors.ts";
import { copyBlockDevice } from "../../agent/snapshots/block-copy.ts";

const MIB = 1024 ** 2;

function files(sourceBytes: Buffer, target: Buffer = Buffer.alloc(0)) {
  const dir = mkdtempSync(join(tmpdir(), "va-block-copy-"));
  writeFileSync(join(dir, "from"), sourceBytes);
  writeFileSync(join(dir, "to"), target);
  return { from: join(dir, "from"), to: join(dir, "to") };
}

/** Not one repeated byte: a copy at the wrong offset would not match. */
function pattern(bytes: number): Buffer {
  const buffer = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) buffer[i] = (i * 31 + (i >> 12)) & 0xff;
  return buffer;
}

describe("copyBlockDevice (in-process, hashed while written)", () => {
  test("copies the first N bytes at the same offsets; the SHA-256 is of what was written; progress up to the total", async () => {
    const source = pattern(9 * MIB + 4097);
    const { from, to } = files(source, Buffer.alloc(10 * MIB, 0xee));
    const seen: [number, number][] = [];
    const bytes = 9 * MIB + 100;
    const result = await copyBlockDevice(from, to, { bytes, progress: (done, total) => seen.push([done, total]) });
    const copied = source.subarray(0, bytes);
    expect(result).toEqual({ sha256: createHash("sha256").update(copied).digest("hex"), bytes });
    const written = readFileSync(to);
    expect(written.subarray(0, bytes).equals(copied)).toBe(true);
    expect(written.subarray(bytes).every((b) => b === 0xee)).toBe(true);
    expect(seen.map(([done]) => done)).toEqual([4 * MIB, 8 * MIB, bytes]);
    expect(seen.every(([, total]) => total === bytes)).toBe(true);
  });

  test("a source shorter than the bytes asked: a SnapshotError naming both sizes", async () => {
    const { from, to } = files(pattern(MIB));
    const error = await copyBlockDevice(from, to, { bytes: 2 * MIB }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SnapshotError);
    expect((error as SnapshotError).message).toBe(`${from} ended after ${MIB} bytes, ${2 * MIB} were to be copied to ${to}`);
  });

  test("zero bytes: the empty hash, nothing written", async () => {
    const { from, to } = files(pattern(10));
    expect(await copyBlockDevice(from, to, { bytes: 0 })).toEqual({ sha256: createHash("sha256").digest("hex"), bytes: 0 });
    expect(readFileSync(to).length).toBe(0);
  });
});
